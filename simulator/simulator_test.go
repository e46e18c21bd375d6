package simulator

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// small is a quick scenario with every effect on: jitter, drops, occlusion,
// lighting drift.
func small(t testing.TB, crop string, seed uint64) *Scenario {
	t.Helper()
	mass := "unit_mass_g: {mean: 180, sd: 25}"
	if crop == "grape" {
		mass = "berries_per_cluster: {mean: 80, sd: 15}"
	}
	sc, err := Parse([]byte(fmt.Sprintf(`
seed: %d
crop: %s
rows: 2
plants_per_row: 3
plant_spacing_m: 1.5
units_per_plant: {mean: 40, sd: 10}
%s
occlusion: 0.3
camera: {speed_mps: 1.0, fps: 10, width: 640, height: 360, jitter_px: 4, drop_rate: 0.05}
lighting: {min: 0.6, max: 1.2}
`, seed, crop, mass)))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// digest renders sc and hashes every frame's pixels and truth.
func digest(t *testing.T, sc *Scenario) (string, *Truth, int) {
	t.Helper()
	s := New(sc)
	defer s.Close()
	h := sha256.New()
	n := 0
	for f, err := range s.Frames() {
		if err != nil {
			t.Fatal(err)
		}
		n++
		b, _ := f.Image.DataPtrUint8()
		h.Write(b)
		fmt.Fprintf(h, "%d %d %s %.6f %v", f.Sequence, f.Index, f.RowID, f.PositionM, f.CaptureTime)
		WriteMOT(h, f)
	}
	tr := s.Truth()
	tr.WriteJSON(h)
	return hex.EncodeToString(h.Sum(nil)), tr, n
}

func TestDeterministic(t *testing.T) {
	a, _, n := digest(t, small(t, "apple", 5))
	b, _, _ := digest(t, small(t, "apple", 5))
	if a != b {
		t.Fatal("same scenario and seed gave different frames or truth")
	}
	c, _, _ := digest(t, small(t, "apple", 6))
	if a == c {
		t.Fatal("another seed gave the same frames")
	}
	if n < 50 {
		t.Fatalf("only %d frames", n)
	}
}

// Writes the scenario to a directory and checks the files against each other.
func TestOutputConsistent(t *testing.T) {
	for _, crop := range Crops {
		t.Run(crop, func(t *testing.T) {
			sc := small(t, crop, 3)
			dir := t.TempDir()
			st, err := Render(sc, OutputConfig{Dir: dir, ExportYOLO: true, Snapshot: 5})
			if err != nil {
				t.Fatal(err)
			}
			var tr Truth
			b, err := os.ReadFile(filepath.Join(dir, "truth.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &tr); err != nil {
				t.Fatal(err)
			}
			units := map[int]Unit{}
			for _, u := range tr.Units {
				units[u.ID] = u
			}
			W, H := sc.Camera.Width, sc.Camera.Height
			// gt.txt: every box overlaps the frame, its id is a rendered unit.
			f, _ := os.Open(filepath.Join(dir, "gt.txt"))
			defer f.Close()
			seenVisible := map[int]bool{}
			sc2 := bufio.NewScanner(f)
			rows, maxFrame := 0, 0
			for sc2.Scan() {
				var fr, id, x, y, w, h, flag, class int
				var vis float64
				if _, err := fmt.Sscanf(sc2.Text(), "%d,%d,%d,%d,%d,%d,%d,%d,%f", &fr, &id, &x, &y, &w, &h, &flag, &class, &vis); err != nil {
					t.Fatalf("gt line %q: %v", sc2.Text(), err)
				}
				rows++
				maxFrame = max(maxFrame, fr)
				u, ok := units[id]
				if !ok || u.FarSide {
					t.Fatalf("gt id %d is not a rendered unit", id)
				}
				if x+w <= 0 || y+h <= 0 || x >= W || y >= H || w <= 0 || h <= 0 {
					t.Fatalf("gt box %d,%d %dx%d does not lie in the %dx%d frame", x, y, w, h, W, H)
				}
				if vis <= 0 || vis > 1 {
					t.Fatalf("visibility %g out of (0,1]", vis)
				}
				if class != u.ClassID+1 {
					t.Fatalf("class %d for unit of class %d", class, u.ClassID)
				}
				if vis >= VisibleThreshold {
					seenVisible[id] = true
				}
			}
			if rows == 0 || maxFrame != st.Frames || tr.Frames != st.Frames {
				t.Fatalf("gt rows %d, last frame %d, frames %d/%d", rows, maxFrame, st.Frames, tr.Frames)
			}
			// truth.json: visible ⊆ all per plant, ids belong to the plant,
			// and the visible count equals the ids gt.txt shows as visible.
			visible := 0
			for _, row := range tr.Rows {
				for _, pl := range row.Plants {
					all := map[int]bool{}
					for _, id := range pl.UnitIDs {
						all[id] = true
						if units[id].PlantID != pl.PlantID {
							t.Fatalf("unit %d listed under %s belongs to %s", id, pl.PlantID, units[id].PlantID)
						}
					}
					for _, id := range pl.VisibleIDs {
						if !all[id] {
							t.Fatalf("visible unit %d of %s is not among its units", id, pl.PlantID)
						}
						if !seenVisible[id] {
							t.Fatalf("unit %d visible in truth.json but never in gt.txt", id)
						}
					}
					if pl.VisibleUnits != len(pl.VisibleIDs) || pl.Units != len(pl.UnitIDs) {
						t.Fatalf("plant %s counts disagree with its id lists", pl.PlantID)
					}
					visible += pl.VisibleUnits
				}
			}
			if visible != len(seenVisible) || visible != tr.Totals.VisibleUnits {
				t.Fatalf("truth.json has %d visible units (totals %d), gt.txt %d", visible, tr.Totals.VisibleUnits, len(seenVisible))
			}
			if tr.Totals.VisibleUnits == 0 || tr.Totals.VisibleUnits >= tr.Totals.Units {
				t.Fatalf("visible %d of %d: a real canopy hides some but not all", tr.Totals.VisibleUnits, tr.Totals.Units)
			}
			if tr.Occlusion.NeverVisible == 0 {
				t.Fatal("no unit is hidden for good")
			}
			// YOLO export: one label file per image, labels normalised.
			imgs, _ := filepath.Glob(filepath.Join(dir, "yolo", "images", "*.jpg"))
			labels, _ := filepath.Glob(filepath.Join(dir, "yolo", "labels", "*.txt"))
			if len(imgs) != st.Frames || len(labels) != st.Frames {
				t.Fatalf("yolo export: %d images, %d labels, %d frames", len(imgs), len(labels), st.Frames)
			}
			for _, p := range []string{"video.avi", "frames.csv", "snapshot.png", "yolo/data.yaml"} {
				if fi, err := os.Stat(filepath.Join(dir, p)); err != nil || fi.Size() == 0 {
					t.Fatalf("%s missing or empty", p)
				}
			}
		})
	}
}

func TestFramesCarrySequenceGapsAndPositions(t *testing.T) {
	sc := small(t, "apple", 9)
	s := New(sc)
	defer s.Close()
	var last *Frame
	gaps := 0
	for {
		f, err := s.Next()
		if err != nil {
			break
		}
		if last != nil {
			if f.Sequence <= last.Sequence || !f.CaptureTime.After(last.CaptureTime) {
				t.Fatal("sequence and capture time must increase")
			}
			if f.Sequence > last.Sequence+1 {
				gaps++
			}
			if f.RowID == last.RowID && f.PositionM <= last.PositionM {
				t.Fatal("camera must move forward along a row")
			}
		}
		fc := *f
		last = &fc
	}
	if gaps == 0 {
		t.Fatal("drop_rate 0.05 dropped no frame")
	}
}

func TestInvalidScenariosNameTheField(t *testing.T) {
	base := `seed: 1
crop: apple
rows: 1
plants_per_row: 2
plant_spacing_m: 1.5
units_per_plant: {mean: 10, sd: 2}
unit_mass_g: {mean: 180, sd: 25}
occlusion: 0.3
camera: {speed_mps: 1.0, fps: 10, width: 640, height: 360, jitter_px: 4, drop_rate: 0.02}
lighting: {min: 0.6, max: 1.2}
`
	if _, err := Parse([]byte(base)); err != nil {
		t.Fatalf("base scenario: %v", err)
	}
	cases := map[string]struct{ old, new, want string }{
		"unknown field":      {"occlusion: 0.3", "occlusion: 0.3\ncolour: red", "colour"},
		"unknown nested":     {"drop_rate: 0.02}", "drop_rate: 0.02, zoom: 2}", "zoom"},
		"crop":               {"crop: apple", "crop: banana", "crop"},
		"occlusion":          {"occlusion: 0.3", "occlusion: 1.5", "occlusion"},
		"fps":                {"fps: 10", "fps: 0", "camera.fps"},
		"drop rate":          {"drop_rate: 0.02", "drop_rate: -1", "camera.drop_rate"},
		"lighting order":     {"max: 1.2", "max: 0.3", "lighting.max"},
		"mass sd":            {"sd: 25", "sd: -3", "unit_mass_g.sd"},
		"rows":               {"rows: 1", "rows: 0", "rows"},
		"too fast":           {"speed_mps: 1.0, fps: 10", "speed_mps: 8.0, fps: 2", "camera.speed_mps"},
		"grape without mass": {"crop: apple", "crop: grape", "unit_mass_g"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(strings.Replace(base, c.old, c.new, 1)))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one naming %q", err, c.want)
			}
		})
	}
}

func TestBuiltinScenariosLoad(t *testing.T) {
	for _, name := range Builtin() {
		if _, err := Load(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Load("no-such-scenario"); err == nil || !strings.Contains(err.Error(), "builtin scenarios") {
		t.Fatalf("missing scenario: %v", err)
	}
}

// A 5 km row (500 plants 10 m apart, 1280 px over 2.5 m), every field inside
// its own range, is refused with the length the simulator can render at
// that scale (before, OpenCV aborted the process with a stack trace trying
// to allocate the row's scene, about 27 GB); a 750 m row is accepted.
func TestRowTooLongToRenderIsRefused(t *testing.T) {
	yaml := func(plants int, spacing float64) []byte {
		return fmt.Appendf(nil, `seed: 1
crop: apple
rows: 1
plants_per_row: %d
plant_spacing_m: %g
units_per_plant: {mean: 10, sd: 2}
unit_mass_g: {mean: 180, sd: 25}
occlusion: 0.3
camera: {speed_mps: 1.0, fps: 10, width: 1280, height: 720, jitter_px: 4, drop_rate: 0.02}
lighting: {min: 0.6, max: 1.2}
`, plants, spacing)
	}
	_, err := Parse(yaml(500, 10))
	if err == nil || !strings.Contains(err.Error(), "a row of 5000 m") || !strings.Contains(err.Error(), "allows at most about") {
		t.Fatalf("5 km row: %v", err)
	}
	t.Log(err)
	if _, err := Parse(yaml(500, 1.5)); err != nil {
		t.Fatalf("750 m row: %v", err)
	}
}
