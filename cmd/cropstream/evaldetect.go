package main

import (
	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/dataset"
	"github.com/cropstream/cropstream/evaluation"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/processors/detect"
	"github.com/cropstream/cropstream/simulator"
)

func newEvalDetectCmd() *cobra.Command {
	var (
		mf       detect.ModelConfig
		scenario string
		opts     evaluation.DetectOptions
		src      dataset.Source
		saveDir  string
	)
	cmd := runCmd(jsonFlag(&cobra.Command{
		Use:   "detect",
		Short: "Score the detector on a rendered scenario (precision, recall, mAP@0.5) or on labelled images (--images, --data)",
		Long: `Render --scenario, JPEG-encode and decode each frame as the pipeline does, run the
detector, and match its boxes to the simulator's truth at IoU 0.5.

Units at least --required-visibility visible in a frame must be found; less
visible ones are ignored (finding them is neither a hit nor a false alarm), as
detection benchmarks treat heavily occluded objects. AP is computed with
all-point interpolation over the full score range; precision and recall are
at --conf, by default the model's operating score (its conf metadata, chosen
on its validation data), else 0.25.

With --images DIR or --data data.yaml it scores the model on labelled images
instead (YOLO txt labels, class names from --data or --names): per class
precision, recall and F1 at --conf, the best F1 along the score range, AP@0.5
and AP@0.5:0.95 (COCO's IoU thresholds), and the confusion between classes.
Classes are matched by name between the data set and the model; a data set
class the model lacks is scored as missed and listed, and kept out of the mAP.`,
		Args: cobra.NoArgs,
	}, "print JSON"), func(*cobra.Command, []string) (out, error) {
		if src.Images != "" || src.Data != "" {
			return evalDetectImages(mf, src, evaluation.ImageOptions{Conf: opts.Conf, Batch: opts.Batch, SaveDir: saveDir})
		}
		sc, err := simulator.Load(scenario)
		if err != nil {
			return out{}, err
		}
		eng, err := mf.Engine(0.05)
		if err != nil {
			return out{}, err
		}
		defer eng.Close()
		inference.TuneMalloc()
		r, err := evaluation.ScoreDetector(eng, sc, opts)
		return report(r, r.Print), err
	})
	f := cmd.Flags()
	mf.RegisterFlags(f)
	f.StringVar(&scenario, "scenario", "default", "scenario YAML file or builtin name")
	f.Float32Var(&opts.Conf, "conf", 0, "score threshold of the operating point for precision and recall (default: the model's conf metadata, else 0.25)")
	f.Float64Var(&opts.RequiredVisibility, "required-visibility", 0.5, "units at least this visible must be detected; less visible ones are ignored")
	f.IntVar(&opts.MaxFrames, "max-frames", 0, "stop after this many frames (0: the whole scenario)")
	f.IntVar(&opts.Batch, "batch", 8, "inference batch size")
	f.StringVar(&src.Images, "images", "", "score on labelled images: a folder of images (or holding images/), labels found as Ultralytics does (images/ -> labels/, .txt)")
	f.StringVar(&src.Data, "data", "", "Ultralytics data.yaml: class names, and with --split the image folder")
	f.StringVar(&src.Split, "split", "val", "split of --data to score when --images is not given: train, val or test")
	f.StringVar(&src.Names, "names", "", "class names of the data set's label indices, comma-separated (instead of --data)")
	f.StringVar(&saveDir, "save-dir", "", "write each image with its true (green) and predicted (red) boxes here")
	return cmd
}

// evalDetectImages is eval detect on a labelled image set.
func evalDetectImages(mf detect.ModelConfig, src dataset.Source, o evaluation.ImageOptions) (out, error) {
	set, err := src.Load()
	if err != nil {
		return out{}, err
	}
	// Scores well below the operating point, for the curve and the AP.
	eng, err := mf.Engine(0.01)
	if err != nil {
		return out{}, err
	}
	defer eng.Close()
	rep, err := evaluation.ScoreEngine(eng, set, src.String(), o)
	return out{v: rep, text: rep.Print}, err
}
