package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gocv.io/x/gocv"

	"github.com/cropstream/cropstream/dataset"
	"github.com/cropstream/cropstream/evaluation"
	"github.com/cropstream/cropstream/inference"
)

// imageEvalOpts are eval detect's flags for labelled images.
type imageEvalOpts struct {
	images  string
	data    string
	split   string
	names   string
	saveDir string
	// Shared with the scenario evaluation, read from its flags.
	conf   float32
	asJSON bool
	batch  int
}

// withImageEval adds the labelled-image evaluation (--images, --data) to
// eval detect: with either flag it scores the model on a YOLO data set,
// without them the command renders its scenario as before.
func withImageEval(cmd *cobra.Command) *cobra.Command {
	o := &imageEvalOpts{}
	f := cmd.Flags()
	f.StringVar(&o.images, "images", "", "score on labelled images: a folder of images (or holding images/), labels found as Ultralytics does (images/ -> labels/, .txt)")
	f.StringVar(&o.data, "data", "", "Ultralytics data.yaml: class names, and with --split the image folder")
	f.StringVar(&o.split, "split", "val", "split of --data to score when --images is not given: train, val or test")
	f.StringVar(&o.names, "names", "", "class names of the data set's label indices, comma-separated (instead of --data)")
	f.StringVar(&o.saveDir, "save-dir", "", "write each image with its true (green) and predicted (red) boxes here")
	cmd.Short = "Score the detector on a rendered scenario (precision, recall, mAP@0.5) or on labelled images (--images, --data)"
	cmd.Long += `

With --images DIR or --data data.yaml it scores the model on labelled images
instead (YOLO txt labels, class names from --data or --names): per class
precision, recall and F1 at --conf, the best F1 along the score range, AP@0.5
and AP@0.5:0.95 (COCO's IoU thresholds), and the confusion between classes.
Classes are matched by name between the data set and the model; a data set
class the model lacks is scored as missed and listed, and kept out of the mAP.`
	scenario := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if o.images == "" && o.data == "" {
			return scenario(c, args)
		}
		flags := c.Flags()
		var err error
		if o.conf, err = flags.GetFloat32("conf"); err != nil {
			return err
		}
		if o.asJSON, err = flags.GetBool("json"); err != nil {
			return err
		}
		if o.batch, err = flags.GetInt("batch"); err != nil {
			return err
		}
		mf, err := modelFlagsOf(flags)
		if err != nil {
			return err
		}
		set, err := o.load()
		if err != nil {
			return err
		}
		// Scores well below the operating point, for the curve and the AP.
		eng, err := mf.engine(0.01)
		if err != nil {
			return err
		}
		defer eng.Close()
		inference.TuneMalloc()
		det := &engineDetector{eng: eng, pre: inference.NewPreprocessor(eng.Info().Width, eng.Info().Height)}
		defer det.pre.Close()
		rep, err := evalImages(set, det, eng.Info().Names, *o)
		if err != nil {
			return err
		}
		rep.Model, rep.Source = eng.Name(), o.source()
		return rep.print(c.OutOrStdout(), o.asJSON)
	}
	return cmd
}

// modelFlagsOf reads the model flags that eval detect registered.
func modelFlagsOf(f *pflag.FlagSet) (modelFlags, error) {
	var m modelFlags
	var errs []error
	get := func(name string) string {
		v, err := f.GetString(name)
		errs = append(errs, err)
		return v
	}
	m.model, m.ortLib, m.provider, m.cudaLib = get("model"), get("ort-lib"), get("provider"), get("cuda-lib")
	var err error
	m.threads, err = f.GetInt("threads")
	errs = append(errs, err)
	m.sessions, err = f.GetInt("sessions")
	errs = append(errs, err)
	m.epOptions, err = f.GetStringArray("ep-option")
	errs = append(errs, err)
	return m, errors.Join(errs...)
}

func (o imageEvalOpts) source() string {
	if o.images != "" {
		return o.images
	}
	return o.data + " (" + o.split + ")"
}

// load finds the images and the class names.
func (o imageEvalOpts) load() (*dataset.Set, error) {
	dir := o.images
	var names []string
	if o.names != "" {
		for _, n := range strings.Split(o.names, ",") {
			names = append(names, strings.TrimSpace(n))
		}
	}
	yamlPath := o.data
	if yamlPath == "" && names == nil {
		// A data set usually carries its yaml beside images/ or above a split.
		for _, d := range []string{dir, filepath.Dir(dir), filepath.Dir(filepath.Dir(dir))} {
			if p := filepath.Join(d, "data.yaml"); fileExists(p) {
				yamlPath = p
				break
			}
		}
		if yamlPath == "" {
			return nil, fmt.Errorf("eval detect --images %s: no data.yaml beside it; give the class names with --data or --names", dir)
		}
	}
	if yamlPath != "" {
		cfg, err := dataset.ReadConfig(yamlPath)
		if err != nil {
			return nil, err
		}
		if names == nil {
			names = cfg.Names
		}
		if dir == "" {
			if dir, err = cfg.Split(o.split); err != nil {
				return nil, fmt.Errorf("%s: %w", yamlPath, err)
			}
		}
	}
	return dataset.ReadDir(dir, names)
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// imageDetector finds objects in images, boxes in the images' pixels and
// classes indexing the model's names.
type imageDetector interface {
	Detect(ims []dataset.Image, mats []gocv.Mat) ([][]inference.Detection, error)
}

type engineDetector struct {
	eng *inference.Engine
	pre *inference.Preprocessor
	f32 []float32
	u8  []byte
}

func (d *engineDetector) Detect(_ []dataset.Image, mats []gocv.Mat) ([][]inference.Detection, error) {
	per, n := d.eng.InputLen(), len(mats)
	lbs := make([]inference.Letterbox, n)
	var res [][]inference.Detection
	var err error
	if d.eng.Info().UInt8 {
		if len(d.u8) < n*per {
			d.u8 = make([]byte, n*per)
		}
		for i, m := range mats {
			if lbs[i], err = d.pre.IntoUInt8(m, d.u8[i*per:(i+1)*per]); err != nil {
				return nil, err
			}
		}
		res, err = d.eng.RunUInt8(d.u8[:n*per], n)
	} else {
		if len(d.f32) < n*per {
			d.f32 = make([]float32, n*per)
		}
		for i, m := range mats {
			if lbs[i], err = d.pre.Into(m, d.f32[i*per:(i+1)*per]); err != nil {
				return nil, err
			}
		}
		res, err = d.eng.Run(d.f32[:n*per], n)
	}
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

// imageReport is what eval detect --images prints.
type imageReport struct {
	evaluation.ImageResult
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

// evalImages runs det over set and scores it. Classes are matched by name:
// the evaluation's classes are the model's, then the data set's others.
func evalImages(set *dataset.Set, det imageDetector, modelNames []string, o imageEvalOpts) (*imageReport, error) {
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
	rep := &imageReport{ModelClasses: modelNames}
	for i, n := range modelNames {
		if !inData[i] {
			rep.NotInData = append(rep.NotInData, n)
		}
	}
	ev := evaluation.NewImageEval(names, len(modelNames), o.conf)
	if o.saveDir != "" {
		if err := os.MkdirAll(o.saveDir, 0o755); err != nil {
			return nil, fmt.Errorf("eval detect: --save-dir: %w", err)
		}
	}
	batch := max(1, o.batch)
	var inferTime time.Duration
	for b0 := 0; b0 < len(set.Images); b0 += batch {
		ims := set.Images[b0:min(b0+batch, len(set.Images))]
		mats := make([]gocv.Mat, len(ims))
		closeAll := func() {
			for _, m := range mats {
				m.Close()
			}
		}
		for i, im := range ims {
			mats[i] = gocv.IMRead(im.Path, gocv.IMReadColor)
			if mats[i].Empty() {
				closeAll()
				return nil, fmt.Errorf("eval detect: cannot read image %s", im.Path)
			}
		}
		start := time.Now()
		res, err := det.Detect(ims, mats)
		inferTime += time.Since(start)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("eval detect: %s: %w", ims[0].Path, err)
		}
		for i, im := range ims {
			w, h := mats[i].Cols(), mats[i].Rows()
			truth := make([]inference.Detection, len(im.Boxes))
			for k, b := range im.Boxes {
				x1, y1, x2, y2 := b.Rect(w, h)
				truth[k] = inference.Detection{X1: float32(x1), Y1: float32(y1), X2: float32(x2), Y2: float32(y2), Class: toEval[b.Class]}
			}
			ev.Add(res[i], truth)
			if o.saveDir != "" {
				dataset.Annotate(&mats[i], truth, res[i], names, o.conf)
				out := filepath.Join(o.saveDir, strings.TrimSuffix(filepath.Base(im.Path), filepath.Ext(im.Path))+".jpg")
				if !gocv.IMWrite(out, mats[i]) {
					closeAll()
					return nil, fmt.Errorf("eval detect: cannot write %s", out)
				}
			}
		}
		closeAll()
	}
	rep.ImageResult = ev.Result()
	if rep.Images > 0 {
		rep.InferMsPerImage = float64(inferTime.Microseconds()) / 1000 / float64(rep.Images)
	}
	return rep, nil
}

func (r *imageReport) print(out io.Writer, asJSON bool) error {
	if asJSON {
		return printJSON(out, r)
	}
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
	// The confusion matrix, the rows and columns of classes that occur.
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
	fmt.Fprintf(out, "confusion at score %.2f, IoU %.2f (rows predicted, columns true):\n", r.Conf, evaluation.ConfusionIoU)
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
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
