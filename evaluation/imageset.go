package evaluation

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"gocv.io/x/gocv"

	"github.com/cropstream/cropstream/dataset"
	"github.com/cropstream/cropstream/inference"
)

// ImageDetector finds objects in images, boxes in the images' pixels and
// classes indexing the model's names.
type ImageDetector interface {
	Detect(ims []dataset.Image, mats []gocv.Mat) ([][]inference.Detection, error)
}

// EngineDetector is an ImageDetector running an engine on whole images.
type EngineDetector struct {
	eng   *inference.Engine
	pre   *inference.Preprocessor
	batch *inference.Batch
	slots int
}

// NewEngineDetector detects with eng; Close releases what it allocated, not
// eng.
func NewEngineDetector(eng *inference.Engine) *EngineDetector {
	return &EngineDetector{eng: eng, pre: inference.NewPreprocessor(eng.Info().Width, eng.Info().Height)}
}

// Detect letterboxes mats into one batch, runs it and maps the boxes back.
func (d *EngineDetector) Detect(_ []dataset.Image, mats []gocv.Mat) ([][]inference.Detection, error) {
	n := len(mats)
	if n > d.slots {
		d.batch, d.slots = inference.NewBatch(d.eng.Info(), n), n
	}
	lbs := make([]inference.Letterbox, n)
	for i, m := range mats {
		var err error
		if lbs[i], err = d.pre.IntoBatch(m, d.batch, i); err != nil {
			return nil, err
		}
	}
	res, err := d.batch.Run(d.eng, n)
	if err != nil {
		return nil, err
	}
	for i := range res {
		for k, det := range res[i] {
			res[i][k] = lbs[i].ToFrame(det)
		}
	}
	return res, nil
}

// Close frees the preprocessor.
func (d *EngineDetector) Close() { d.pre.Close() }

// ImageOptions configure ScoreImages.
type ImageOptions struct {
	// Conf is the score of the operating point; 0: DefaultConf (ScoreEngine
	// first takes the model's own, see OperatingScore).
	Conf float32
	// Batch is the images detected at once (at least 1).
	Batch int
	// SaveDir, when set, receives each image with its true and predicted
	// boxes drawn.
	SaveDir string
}

// ImageReport is what `eval detect --images` prints.
type ImageReport struct {
	ImageResult
	Source string `json:"source"`
	Model  string `json:"model"`
	// ModelClasses are the model's names; the result's classes are these,
	// then the data set's classes the model lacks.
	ModelClasses []string `json:"model_classes"`
	// NotInData are the model's classes the data set has no name for.
	NotInData       []string `json:"model_classes_not_in_data,omitempty"`
	InferMsPerImage float64  `json:"infer_ms_per_image"`
}

// normName lets "grape cluster", "Grape-Cluster" and "grape_cluster" match.
func normName(s string) string {
	return strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToLower(strings.TrimSpace(s)))
}

// ScoreImages runs det over set and scores it. Classes are matched by name:
// the evaluation's classes are the model's, then the data set's others.
func ScoreImages(set *dataset.Set, det ImageDetector, modelNames []string, o ImageOptions) (*ImageReport, error) {
	names := append([]string(nil), modelNames...)
	index := map[string]int{}
	for i, n := range modelNames {
		index[normName(n)] = i
	}
	toEval := make([]int, len(set.Names))
	inData := map[int]bool{}
	for i, n := range set.Names {
		c, ok := index[normName(n)]
		if !ok {
			c = len(names)
			names = append(names, n)
			index[normName(n)] = c
		}
		toEval[i] = c
		inData[c] = true
	}
	rep := &ImageReport{ModelClasses: modelNames}
	for i, n := range modelNames {
		if !inData[i] {
			rep.NotInData = append(rep.NotInData, n)
		}
	}
	o.Conf = cmp.Or(o.Conf, DefaultConf)
	ev := NewImageEval(names, len(modelNames), o.Conf)
	if o.SaveDir != "" {
		if err := os.MkdirAll(o.SaveDir, 0o755); err != nil {
			return nil, fmt.Errorf("eval detect: --save-dir: %w", err)
		}
	}
	batch := max(1, o.Batch)
	var inferTime time.Duration
	for b0 := 0; b0 < len(set.Images); b0 += batch {
		ims := set.Images[b0:min(b0+batch, len(set.Images))]
		d, err := scoreImageBatch(ims, det, ev, toEval, names, o)
		inferTime += d
		if err != nil {
			return nil, err
		}
	}
	rep.ImageResult = ev.Result()
	if rep.Images > 0 {
		rep.InferMsPerImage = float64(inferTime.Microseconds()) / 1000 / float64(rep.Images)
	}
	return rep, nil
}

// scoreImageBatch reads, detects and scores ims (and draws them to
// o.SaveDir), and returns the time spent detecting.
func scoreImageBatch(ims []dataset.Image, det ImageDetector, ev *ImageEval, toEval []int, names []string, o ImageOptions) (time.Duration, error) {
	mats := make([]gocv.Mat, len(ims))
	defer func() {
		for _, m := range mats {
			m.Close()
		}
	}()
	for i, im := range ims {
		mats[i] = gocv.IMRead(im.Path, gocv.IMReadColor)
		if mats[i].Empty() {
			return 0, fmt.Errorf("eval detect: cannot read image %s", im.Path)
		}
	}
	start := time.Now()
	res, err := det.Detect(ims, mats)
	took := time.Since(start)
	if err != nil {
		return took, fmt.Errorf("eval detect: %s: %w", ims[0].Path, err)
	}
	for i, im := range ims {
		w, h := mats[i].Cols(), mats[i].Rows()
		truth := make([]inference.Detection, len(im.Boxes))
		for k, b := range im.Boxes {
			x1, y1, x2, y2 := b.Rect(w, h)
			truth[k] = inference.Detection{X1: float32(x1), Y1: float32(y1), X2: float32(x2), Y2: float32(y2), Class: toEval[b.Class]}
		}
		ev.Add(res[i], truth)
		if o.SaveDir != "" {
			dataset.Annotate(&mats[i], truth, res[i], names, o.Conf)
			out := filepath.Join(o.SaveDir, strings.TrimSuffix(filepath.Base(im.Path), filepath.Ext(im.Path))+".jpg")
			if !gocv.IMWrite(out, mats[i]) {
				return took, fmt.Errorf("eval detect: cannot write %s", out)
			}
		}
	}
	return took, nil
}

// Print writes the report as `eval detect --images` prints it without
// --json: per class scores, then the confusion of the classes that occur.
func (r *ImageReport) Print(out io.Writer) error {
	fmt.Fprintf(out, "%s: %d images, %d truth boxes; model %s, operating score %.2f, %.1f ms/image\n",
		r.Source, r.Images, r.Truth, r.Model, r.Conf, r.InferMsPerImage)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "class\ttruth\tdetections\tprecision\trecall\tF1\tAP50\tAP50-95\tbest F1 at\tP\tR\t")
	for _, c := range r.Classes {
		if c.Truth == 0 && c.Detections == 0 {
			continue
		}
		name := c.Name
		if !c.InModel {
			name += " (not in the model)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.2f\t%.3f\t%.3f\t\n", name, c.Truth, c.Detections,
			c.Precision, c.Recall, c.F1, c.AP50, c.AP50to95, c.BestF1.Conf, c.BestF1.Precision, c.BestF1.Recall)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "model's classes: precision %.3f  recall %.3f  mAP@0.5 %.3f  mAP@0.5:0.95 %.3f\n", r.Precision, r.Recall, r.MAP50, r.MAP50to95)
	if len(r.Missing) > 0 {
		fmt.Fprintf(out, "not in the model (scored as missed, left out of the mAP): %s\n", strings.Join(r.Missing, ", "))
	}
	return r.printConfusion(out)
}

// printConfusion prints the rows and columns of classes that occur.
func (r *ImageReport) printConfusion(out io.Writer) error {
	n := len(r.Classes)
	var used []int
	for i := range n + 1 {
		any := false
		for j := range n + 1 {
			any = any || r.Confusion[i][j] > 0 || r.Confusion[j][i] > 0
		}
		if any {
			used = append(used, i)
		}
	}
	label := func(i int) string {
		if i == n {
			return "background"
		}
		return r.Classes[i].Name
	}
	fmt.Fprintf(out, "confusion at score %.2f, IoU %.2f (rows predicted, columns true):\n", r.Conf, ConfusionIoU)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "\t")
	for _, j := range used {
		fmt.Fprintf(tw, "%s\t", label(j))
	}
	fmt.Fprintln(tw)
	for _, i := range used {
		fmt.Fprintf(tw, "%s\t", label(i))
		for _, j := range used {
			fmt.Fprintf(tw, "%d\t", r.Confusion[i][j])
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// ScoreEngine is ScoreImages with eng, as `eval detect --images` runs it:
// the report names the model and src, where set came from.
func ScoreEngine(eng *inference.Engine, set *dataset.Set, src string, o ImageOptions) (*ImageReport, error) {
	inference.TuneMalloc()
	det := NewEngineDetector(eng)
	defer det.Close()
	o.Conf = OperatingScore(o.Conf, eng.Info())
	rep, err := ScoreImages(set, det, eng.Info().Names, o)
	if err != nil {
		return nil, err
	}
	rep.Model, rep.Source = eng.Name(), src
	return rep, nil
}
