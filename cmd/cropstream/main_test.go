package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/fieldrun"
	"github.com/cropstream/cropstream/ingest/videotest"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

func TestBadInputsFailFastWithOneLine(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "notvideo.mp4", "this is text, not video")
	videotest.Write(t, filepath.Join(dir, "big.avi"), 3, 10, 640, 480)
	apple, _ := os.ReadFile(filepath.Join(repo, "crops", "profiles", "apple.yaml"))
	writeFile(t, dir, "banana.yaml", strings.Replace(strings.Replace(string(apple), "class: apple", "class: banana", 1), "name: apple", "name: banana", 1))
	writeFile(t, dir, "farm.yaml", "fields:\n  - id: F1\n    blocks:\n      - id: B1\n        crop: apple\n        row_count: 2\n        plants_per_row: 0\n        plant_spacing_m: 1.5\n")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"ingest", "--video", "missing.mp4", "--camera", "c"}, "no such file"},
		{"not video", []string{"ingest", "--video", "notvideo.mp4", "--camera", "c"}, "cannot read it as video"},
		{"unreachable rtsp", []string{"ingest", "--video", "rtsp://127.0.0.1:9/stream", "--camera", "c"}, "unreachable"},
		{"oversized frame", []string{"ingest", "--video", "big.avi", "--camera", "c", "--max-frame-bytes", "1000"}, "over the 1000-byte limit"},
		{"unreachable brokers", []string{"--brokers", "127.0.0.1:1", "ingest", "--video", "big.avi", "--camera", "c"}, "no broker answered at 127.0.0.1:1"},
		{"unreachable brokers (topics)", []string{"--brokers", "127.0.0.1:1", "topics", "describe"}, "no broker answered"},
		{"no source", []string{"ingest", "--camera", "c"}, "exactly one source"},
		{"jpeg quality 0", []string{"ingest", "--video", "big.avi", "--camera", "c", "--jpeg-quality", "0"}, "--jpeg-quality 0: want 1..100"},
		{"jpeg quality 0 (sim)", []string{"sim", "--scenario", "default", "--out", "simout", "--jpeg-quality", "0"}, "--jpeg-quality 0: want 1..100"},
		{"no camera", []string{"ingest", "--video", "big.avi"}, "camera id is required"},
		{"unknown scenario", []string{"ingest", "--scenario", "nope"}, "builtin scenarios"},
		{"bad format", []string{"topology", "--format", "yaml"}, "unknown format"},
		{"class the model lacks", []string{"run", "--stages", "detect", "--crop", "banana.yaml", "--metrics-addr", "", "--model", shippedModel()}, `counts class "banana", which model`},
		{"bad field map", []string{"fields", "apply", "farm.yaml"}, `field map line 4: block "B1": encode FieldBlock: invalid record: block B1 row B1-R1 has 0 plants`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, dir, c.args...)
			if r.code == 0 {
				t.Fatalf("exit 0, want failure; stderr %s", r.stderr)
			}
			if !strings.HasPrefix(r.lastLine, "cropstream: ") || !strings.Contains(r.lastLine, c.want) {
				t.Fatalf("last stderr line %q, want a one-line error containing %q", r.lastLine, c.want)
			}
			if r.elapsed > 10*time.Second {
				t.Fatalf("took %s, want seconds", r.elapsed)
			}
		})
	}

	// Nothing half-written: the refused ingest left no frame behind.
	conn := openData(t, dir)
	recs := brokertest.ReadAll(t, conn, topology.Frames)
	if n := len(recs); n != 0 {
		t.Fatalf("%d frames on the topic after refused ingests, want 0", n)
	}
}

func TestHelpForEveryCommand(t *testing.T) {
	for _, c := range [][]string{{"--help"}, {"broker", "--help"}, {"topology", "--help"}, {"topics", "create", "--help"},
		{"topics", "describe", "--help"}, {"ingest", "--help"}, {"lag", "--help"}, {"sim", "--help"}, {"run", "--help"}, {"eval", "calibrate", "--help"},
		{"model", "deploy", "--help"}, {"model", "rollback", "--help"}, {"model", "reference", "--help"}, {"model", "compare", "--help"}} {
		r := run(t, t.TempDir(), c...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("%v: exit %d, stdout %q", c, r.code, r.stdout)
		}
	}
}

// Several processes share one standalone broker: ingest twice, then lag and
// topics describe, all against `cropstream broker`.
func TestProcessesShareStandaloneBroker(t *testing.T) {
	dir := t.TempDir()
	videotest.Write(t, filepath.Join(dir, "a.avi"), 12, 10, 320, 240)
	startBroker(t, dir)
	for _, cam := range []string{"cam-a", "cam-b"} {
		r := run(t, dir, "ingest", "--video", "a.avi", "--camera", cam, "--block", "B1")
		if r.code != 0 || !strings.Contains(r.stdout, "ingested 12 frames") {
			t.Fatalf("ingest %s: exit %d\n%s\n%s", cam, r.code, r.stdout, r.stderr)
		}
	}
	top, _ := topology.New(topology.Config{})
	if r := run(t, dir, "topics", "describe"); r.code != 0 || strings.Count(r.stdout, " ok ") != len(top.Topics) {
		t.Fatalf("topics describe: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, dir, "lag", "--json"); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("lag: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// A second standalone broker on the same data dir is refused.
	if r := run(t, dir, "broker"); r.code == 0 || !strings.Contains(r.lastLine, "already served") {
		t.Fatalf("second broker: exit %d, %q", r.code, r.lastLine)
	}
}

const smallScenario = `seed: 3
crop: apple
block: T1
rows: 2
plants_per_row: 2
plant_spacing_m: 1.5
units_per_plant: {mean: 30, sd: 5}
unit_mass_g: {mean: 180, sd: 25}
occlusion: 0.3
camera: {id: cam-t, speed_mps: 1.5, fps: 10, width: 320, height: 180, jitter_px: 2, drop_rate: 0.02}
lighting: {min: 0.6, max: 1.2}
`

func TestSimulatorCommands(t *testing.T) {
	dir := scenarioDir(t, smallScenario)
	writeFile(t, dir, "bad.yaml", strings.Replace(smallScenario, "occlusion: 0.3", "occlusion: 0.3\nocclusoin: 0.2", 1))

	r := run(t, dir, "sim", "--scenario", "small.yaml", "--out", "out", "--export-yolo", "--snapshot", "3")
	if r.code != 0 || !strings.Contains(r.stdout, "rendered") {
		t.Fatalf("sim: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, f := range []string{"video.avi", "gt.txt", "truth.json", "frames.csv", "snapshot.png", "yolo/data.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, "out", f)); err != nil {
			t.Errorf("sim did not write %s", f)
		}
	}
	r = run(t, dir, "sim", "--scenario", "bad.yaml", "--out", "out2")
	if r.code == 0 || !strings.Contains(r.lastLine, "occlusoin") {
		t.Fatalf("misspelt field: exit %d, %q", r.code, r.lastLine)
	}

	// The rendered video goes through ingest like any camera's file.
	r = run(t, dir, "ingest", "--video", "out/video.avi", "--camera", "replay")
	if r.code != 0 {
		t.Fatalf("ingest of the rendered video: %s", r.stderr)
	}
	// The whole pipeline on the scenario, into the test's data directory.
	r = run(t, dir, "--data-dir", "data", "run", "--scenario", "small.yaml", "--model", shippedModel())
	if r.code != 0 || !strings.Contains(r.stdout, "T1-R1") || !strings.Contains(r.stdout, "block T1") || !strings.Contains(r.stdout, "yield") {
		t.Fatalf("run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Frames from the scenario carry the simulator's metadata.
	conn := openData(t, dir)
	rows := map[string]int{}
	for _, f := range brokertest.ReadAs(t, conn, topology.Frames, schema.DecodeFrame) {
		if f.CameraId == "cam-t" {
			if f.BlockId != "T1" || f.PositionM == nil || f.Width != 320 {
				t.Fatalf("scenario frame metadata %v", f)
			}
			rows[f.RowId]++
		}
	}
	if rows["T1-R1"] == 0 || rows["T1-R2"] == 0 {
		t.Fatalf("frames per row %v, want both rows", rows)
	}
}

// eval calibrate on a small field: a count score for the one class it has,
// at which the tracker counts about the visible units; the other classes
// are left to the default, and the metadata line names all three.
func TestEvalCalibrate(t *testing.T) {
	longTest(t, "runs the pipeline")
	dir := scenarioDir(t, smallScenario)
	r := run(t, dir, "eval", "calibrate", "--scenarios", "small.yaml", "--json", "--model", shippedModel())
	if r.code != 0 {
		t.Fatalf("calibrate: %s", r.stderr)
	}
	var rep fieldrun.CountScoreReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	if len(rep.Classes) != 3 || len(rep.CountScores) != 3 || len(strings.Split(rep.Metadata, ",")) != 3 {
		t.Fatalf("report %+v, want three classes", rep)
	}
	apple := 0
	if v, n := rep.Visible[apple], rep.Counted[apple]; rep.CountScores[apple] <= 0.3 || rep.CountScores[apple] >= 0.99 || v < 20 || n > v || n < v-2 {
		t.Fatalf("apple: count score %.3f counts %d of %d visible", rep.CountScores[apple], n, v)
	}
	if rep.CountScores[1] != 0 || rep.CountScores[2] != 0 || rep.Visible[1] != 0 {
		t.Fatalf("classes the field lacks calibrated: %+v", rep)
	}
}
