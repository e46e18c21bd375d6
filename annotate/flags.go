package annotate

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/cropstream/cropstream/zones"
)

// Flags are `cropstream annotate`'s, the model's aside: what is read and
// written, and how tracks are counted.
type Flags struct {
	In, Out, Boxes string
	FPS, MinScore  float64
	// Lines are count lines as zones.ParseLine reads them.
	Lines       []string
	CountScores []float64
}

// RegisterFlags registers the flags.
func (fl *Flags) RegisterFlags(f *pflag.FlagSet) {
	f.StringVar(&fl.In, "input", "", "video file or image folder (required)")
	f.StringVar(&fl.Out, "out", "", "annotated video (.avi MJPG, .mp4 mp4v) or image folder (required)")
	f.StringVar(&fl.Boxes, "boxes", "", "also write what was drawn here, one JSON line per frame")
	f.Float64Var(&fl.FPS, "fps", 10, "frame rate of a video written from an image folder")
	f.Float64Var(&fl.MinScore, "min-score", 0.1, "least detection score drawn and tracked (the detect stage's)")
	f.StringArrayVar(&fl.Lines, "line", nil, "count tracks crossing the line x1,y1,x2,y2 (frame pixels), per class: in = left to right across a line drawn top to bottom; repeatable")
	f.Float64SliceVar(&fl.CountScores, "count-scores", nil, "per class, the median track score at which an object counts (default: the model's count_scores)")
}

// Run is Run of the flags with det.
func (fl *Flags) Run(ctx context.Context, det Detector) (Summary, error) {
	opts := Options{Out: fl.Out, FPS: fl.FPS}
	if fl.Boxes != "" {
		f, err := os.Create(fl.Boxes)
		if err != nil {
			return Summary{}, err
		}
		defer f.Close()
		opts.Boxes = f
	}
	cfg := Config{Detector: det}
	cfg.Track.CountScores = fl.CountScores
	for _, s := range fl.Lines {
		l, err := zones.ParseLine(s)
		if err != nil {
			return Summary{}, fmt.Errorf("--line: %w", err)
		}
		cfg.Lines = append(cfg.Lines, zones.NewCounter(l))
	}
	return Run(ctx, cfg, fl.In, opts)
}
