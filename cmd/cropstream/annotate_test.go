package main

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/cropstream/cropstream/annotate"
	"github.com/cropstream/cropstream/processors/track"
)

// readVideo reads every frame of a video back.
func readVideo(t *testing.T, path string) []gocv.Mat {
	t.Helper()
	c, err := gocv.VideoCaptureFile(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer c.Close()
	var out []gocv.Mat
	for {
		m := gocv.NewMat()
		if !c.Read(&m) || m.Empty() {
			m.Close()
			return out
		}
		out = append(out, m)
	}
}

// readGT reads the simulator's MOT truth: boxes per 1-based frame.
func readGT(t *testing.T, path string) map[int][]track.Det {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gt := map[int][]track.Det{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), ",")
		if len(p) < 6 {
			continue
		}
		v := make([]float64, 6)
		for i := range v {
			v[i], _ = strconv.ParseFloat(p[i], 64)
		}
		gt[int(v[0])] = append(gt[int(v[0])], track.Det{X1: v[2], Y1: v[3], X2: v[2] + v[4], Y2: v[3] + v[5]})
	}
	return gt
}

func overlap(a, b track.Det) float64 {
	ix := math.Min(a.X2, b.X2) - math.Max(a.X1, b.X1)
	iy := math.Min(a.Y2, b.Y2) - math.Max(a.Y1, b.Y1)
	if ix <= 0 || iy <= 0 {
		return 0
	}
	in := ix * iy
	return in / ((a.X2-a.X1)*(a.Y2-a.Y1) + (b.X2-b.X1)*(b.Y2-b.Y1) - in)
}

// pixelDiff is the mean absolute difference of two frames over the pixels
// pts names.
func pixelDiff(a, b gocv.Mat, pts [][2]int) float64 {
	if len(pts) == 0 {
		return 0
	}
	sum := 0.0
	for _, p := range pts {
		va, vb := a.GetVecbAt(p[1], p[0]), b.GetVecbAt(p[1], p[0])
		for c := range 3 {
			sum += math.Abs(float64(va[c]) - float64(vb[c]))
		}
	}
	return sum / float64(3*len(pts))
}

// TestAnnotateVideo annotates the simulator's video: the output has the
// input's frames and size, each frame's boxes are drawn where its detections
// are, the detections lie on the simulator's true fruit, and pixels away from
// every box are left as they were.
func TestAnnotateVideo(t *testing.T) {
	dir := scenarioDir(t, uiScenario)
	if r := run(t, dir, "sim", "--scenario", "small.yaml", "--out", "out"); r.code != 0 {
		t.Fatalf("sim: %s", r.stderr)
	}
	// A line down the middle: the camera drives on, so fruit crosses it
	// right to left ("out").
	r := run(t, dir, "annotate", "--input", "out/video.avi", "--out", "annotated.avi", "--boxes", "boxes.jsonl",
		"--line", "160,0,160,180", "--model", shippedModel())
	if r.code != 0 || !strings.Contains(r.stdout, "counted apple") {
		t.Fatalf("annotate: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	in, out := readVideo(t, filepath.Join(dir, "out/video.avi")), readVideo(t, filepath.Join(dir, "annotated.avi"))
	defer func() {
		for _, m := range append(in, out...) {
			m.Close()
		}
	}()
	if len(in) == 0 || len(out) != len(in) {
		t.Fatalf("annotated %d frames, input has %d", len(out), len(in))
	}
	if out[0].Cols() != in[0].Cols() || out[0].Rows() != in[0].Rows() {
		t.Fatalf("annotated frames are %dx%d, input %dx%d", out[0].Cols(), out[0].Rows(), in[0].Cols(), in[0].Rows())
	}

	bf, err := os.Open(filepath.Join(dir, "boxes.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer bf.Close()
	var frames []annotate.Frame
	dec := json.NewDecoder(bf)
	for dec.More() {
		var f annotate.Frame
		if err := dec.Decode(&f); err != nil {
			t.Fatal(err)
		}
		frames = append(frames, f)
	}
	if len(frames) != len(in) {
		t.Fatalf("%d lines of boxes for %d frames", len(frames), len(in))
	}
	gt := readGT(t, filepath.Join(dir, "out/gt.txt"))
	w, h := in[0].Cols(), in[0].Rows()
	var onEdges, away, onTruth, confident float64
	var framesWithBoxes int
	for i, f := range frames {
		var edge [][2]int
		near := make([]bool, w*h)
		for _, d := range f.Dets {
			x1, y1, x2, y2 := int(d.X1+0.5), int(d.Y1+0.5), int(d.X2+0.5), int(d.Y2+0.5)
			for x := max(x1, 0); x <= min(x2, w-1); x++ {
				for _, y := range []int{y1, y2} {
					if y >= 0 && y < h {
						edge = append(edge, [2]int{x, y})
					}
				}
			}
			// Labels, track boxes and ids are drawn around a box.
			for y := max(y1-20, 0); y < min(y2+20, h); y++ {
				for x := max(x1-20, 0); x < min(x2+60, w); x++ {
					near[y*w+x] = true
				}
			}
			if d.Score >= 0.5 {
				confident++
				for _, g := range gt[f.Index+1] {
					if overlap(d, g) > 0.3 {
						onTruth++
						break
					}
				}
			}
		}
		var far [][2]int
		for y := 40; y < h; y += 3 { // below the count's label
			for x := 0; x < w; x += 3 {
				if !near[y*w+x] {
					far = append(far, [2]int{x, y})
				}
			}
		}
		if len(edge) > 0 {
			framesWithBoxes++
			onEdges += pixelDiff(in[i], out[i], edge)
		}
		away += pixelDiff(in[i], out[i], far)
	}
	last := frames[len(frames)-1]
	if len(last.Lines) != 1 || last.Lines[0].Out["apple"] < last.Counted["apple"]/2 || last.Lines[0].In["apple"] > last.Lines[0].Out["apple"]/10 {
		t.Errorf("line crossings %+v with %v counted", last.Lines, last.Counted)
	}
	if framesWithBoxes < len(frames)/2 {
		t.Fatalf("only %d of %d frames have detections", framesWithBoxes, len(frames))
	}
	onEdges /= float64(framesWithBoxes)
	away /= float64(len(frames))
	// Drawn lines change their pixels by far more than the video's
	// recompression changes the rest.
	if onEdges < 3*away || onEdges < 20 {
		t.Errorf("pixels on detection boxes differ by %.1f on average, pixels away from boxes by %.1f: boxes not drawn where the detections are", onEdges, away)
	}
	if share := onTruth / confident; confident == 0 || share < 0.8 {
		t.Errorf("%.0f of %.0f confident detections lie on a true fruit", onTruth, confident)
	}
	t.Logf("%d frames %dx%d; box edges changed by %.1f, the rest by %.1f; %.0f/%.0f confident boxes on true fruit; %s",
		len(frames), w, h, onEdges, away, onTruth, confident, strings.TrimSpace(r.stdout))
}
