package main

import (
	"encoding/json"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/cropstream/cropstream/dataset"
	"github.com/cropstream/cropstream/evaluation"
	"github.com/cropstream/cropstream/inference"
)

// writeLabelledSet writes a YOLO data set: three images of red disks on
// green, a data.yaml naming class 0 apple and class 1 pear (which the
// shipped model lacks), and labels: two apples and a pear in a.jpg, an
// empty label file for b.jpg, one apple in c.jpg.
func writeLabelledSet(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"images/val", "labels/val"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	labels := map[string]string{
		"a": "0 0.25 0.5 0.2 0.4\n0 0.5 0.5 0.2 0.4\n1 0.8 0.5 0.2 0.4\n",
		"b": "",
		"c": "0 0.5 0.5 0.3 0.6\n",
	}
	for name, lab := range labels {
		m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(40, 130, 40, 0), 200, 400, gocv.MatTypeCV8UC3)
		boxes, _ := parseLabels(t, lab)
		for _, b := range boxes {
			x1, y1, x2, y2 := b.Rect(400, 200)
			gocv.Circle(&m, image.Pt(int(x1+x2)/2, int(y1+y2)/2), int(x2-x1)/2, color.RGBA{40, 40, 220, 0}, -1)
		}
		if !gocv.IMWrite(filepath.Join(root, "images/val", name+".jpg"), m) {
			t.Fatal("write image")
		}
		m.Close()
		if err := os.WriteFile(filepath.Join(root, "labels/val", name+".txt"), []byte(lab), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	yaml := "path: .\nval: images/val\nnames:\n  0: apple\n  1: pear\n"
	if err := os.WriteFile(filepath.Join(root, "data.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func parseLabels(t *testing.T, text string) ([]dataset.Box, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "l.txt")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dataset.ReadLabels(p, 2)
}

// truthDetector answers with the labels, mapped onto the model's classes,
// wrong in known ways: it finds no pear (the model has none), misses the
// apple of c.jpg, and puts a false apple on the empty b.jpg.
type truthDetector struct{ t *testing.T }

func (d truthDetector) Detect(ims []dataset.Image, mats []gocv.Mat) ([][]inference.Detection, error) {
	out := make([][]inference.Detection, len(ims))
	for i, im := range ims {
		w, h := mats[i].Cols(), mats[i].Rows()
		switch filepath.Base(im.Path) {
		case "b.jpg":
			out[i] = []inference.Detection{{X1: 10, Y1: 10, X2: 50, Y2: 50, Score: 0.8, Class: 0}}
		case "a.jpg":
			for _, b := range im.Boxes {
				if b.Class == 0 {
					x1, y1, x2, y2 := b.Rect(w, h)
					out[i] = append(out[i], inference.Detection{X1: float32(x1), Y1: float32(y1), X2: float32(x2), Y2: float32(y2), Score: 0.9, Class: 0})
				}
			}
		}
	}
	return out, nil
}

// Known boxes, known AP: apples ranked TP 0.9, TP 0.9, FP 0.8 of 3 truth
// boxes give AP 2/3 at every IoU (the found boxes are exact), precision and
// recall 2/3; the pear is reported as missed and kept out of the mAP; the
// empty label file counts as an image without fruit.
func TestEvalImagesKnownAP(t *testing.T) {
	root := writeLabelledSet(t)
	o := evaluation.ImageOptions{Conf: 0.25, Batch: 2, SaveDir: filepath.Join(root, "drawn")}
	set, err := dataset.Source{Data: filepath.Join(root, "data.yaml"), Split: "val"}.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Images) != 3 || set.Images[1].Label == "" || len(set.Images[1].Boxes) != 0 {
		t.Fatalf("read %+v: want 3 images, b.jpg with an empty label file", set.Images)
	}
	rep, err := evaluation.ScoreImages(set, truthDetector{t}, []string{"apple", "citrus", "grape_cluster"}, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Images != 3 || rep.Truth != 4 {
		t.Fatalf("%d images, %d truth boxes; want 3 and 4", rep.Images, rep.Truth)
	}
	apple := rep.Classes[0]
	third := 2.0 / 3
	for what, v := range map[string]float64{"AP50": apple.AP50, "AP50-95": apple.AP50to95, "precision": apple.Precision, "recall": apple.Recall, "mAP50": rep.MAP50} {
		if math.Abs(v-third) > 1e-9 {
			t.Errorf("apple %s %.4f, want 2/3", what, v)
		}
	}
	if len(rep.Classes) != 4 || rep.Classes[3].Name != "pear" || rep.Classes[3].InModel || rep.Classes[3].Truth != 1 {
		t.Fatalf("classes %+v: want the model's three, then pear (not in the model, 1 box)", rep.Classes)
	}
	if len(rep.Missing) != 1 || rep.Missing[0] != "pear" {
		t.Errorf("missing %v, want [pear]", rep.Missing)
	}
	if strings.Join(rep.NotInData, ",") != "citrus,grape_cluster" {
		t.Errorf("model classes not in the data: %v", rep.NotInData)
	}
	bg := 4
	if c := rep.Confusion; c[0][0] != 2 || c[0][bg] != 1 || c[bg][0] != 1 || c[bg][3] != 1 {
		t.Errorf("confusion %v", c)
	}
	drawn, _ := filepath.Glob(filepath.Join(o.SaveDir, "*.jpg"))
	if len(drawn) != 3 {
		t.Errorf("--save-dir holds %v, want the 3 images", drawn)
	}
}

// The command end to end with the shipped model and ONNX Runtime: it finds
// the data set from its yaml, reports the class the model lacks, and writes
// JSON and the drawn images.
func TestEvalDetectImagesCommand(t *testing.T) {
	root := writeLabelledSet(t)
	save := filepath.Join(root, "drawn")
	r := run(t, root, "eval", "detect", "--model", shippedModel(), "--images", filepath.Join(root, "images", "val"),
		"--json", "--save-dir", save)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep evaluation.ImageReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	// A model without conf metadata is scored at Ultralytics' 0.25.
	if rep.Images != 3 || rep.Truth != 4 || len(rep.Missing) != 1 || rep.Missing[0] != "pear" || rep.Model != "cropnet" || rep.Conf != evaluation.DefaultConf {
		t.Errorf("report %+v", rep)
	}
	if drawn, _ := filepath.Glob(filepath.Join(save, "*.jpg")); len(drawn) != 3 {
		t.Errorf("drawn %v", drawn)
	}
	r = run(t, root, "eval", "detect", "--model", shippedModel(), "--images", filepath.Join(root, "images", "val"))
	if r.code != 0 || !strings.Contains(r.stdout, "pear (not in the model)") || !strings.Contains(r.stdout, "not in the model (scored as missed") {
		t.Errorf("text report (exit %d): %s%s", r.code, r.stdout, r.stderr)
	}
	// --imgsz: a model exported with open height and width runs at it; a
	// fixed-size one refuses it.
	real := filepath.Join(filepath.Dir(shippedModel()), "cropnet-real.onnx")
	r = run(t, root, "eval", "detect", "--model", real, "--imgsz", "384", "--images", filepath.Join(root, "images", "val"), "--json")
	if err := json.Unmarshal([]byte(r.stdout), &rep); r.code != 0 || err != nil || rep.Images != 3 || rep.Model != "cropnet-real" {
		t.Errorf("--imgsz 384 with an open-size model: exit %d, %v, %+v: %s", r.code, err, rep, r.stderr)
	}
	// Its conf metadata (chosen on its validation data) is the operating
	// score unless --conf says otherwise.
	if rep.Conf != 0.35 {
		t.Errorf("operating score %v, want the model's conf metadata 0.35", rep.Conf)
	}
	r = run(t, root, "eval", "detect", "--model", real, "--conf", "0.5", "--images", filepath.Join(root, "images", "val"), "--json")
	if err := json.Unmarshal([]byte(r.stdout), &rep); r.code != 0 || err != nil || rep.Conf != 0.5 {
		t.Errorf("--conf 0.5: exit %d, %v, operating score %v", r.code, err, rep.Conf)
	}
	r = run(t, root, "eval", "detect", "--model", shippedModel(), "--imgsz", "384", "--images", filepath.Join(root, "images", "val"))
	if r.code == 0 || !strings.Contains(r.stderr, "fixed at 288x512") {
		t.Errorf("--imgsz 384 with a fixed-size model: exit %d, %q", r.code, r.stderr)
	}
	// Without names the labels' indices mean nothing: it says so.
	if err := os.Remove(filepath.Join(root, "data.yaml")); err != nil {
		t.Fatal(err)
	}
	r = run(t, root, "eval", "detect", "--images", filepath.Join(root, "images", "val"))
	if r.code == 0 || !strings.Contains(r.lastLine, "--names") {
		t.Errorf("without names: exit %d, %q", r.code, r.lastLine)
	}
}
