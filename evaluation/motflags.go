package evaluation

import (
	"github.com/spf13/pflag"

	"github.com/cropstream/cropstream/simulator"
)

// MOTFiles names what `cropstream eval mot` scores: the truth and results
// files, and the visibility under which truth is a distractor.
type MOTFiles struct {
	GT, Tracks string
	MinVis     float64
}

// RegisterFlags registers the flags.
func (m *MOTFiles) RegisterFlags(f *pflag.FlagSet) {
	f.StringVar(&m.GT, "gt", "gt.txt", "MOTChallenge truth: frame,id,x,y,w,h,conf,class,visibility")
	f.StringVar(&m.Tracks, "tracks", "tracks.txt", "MOTChallenge results: frame,id,x,y,w,h,...")
	f.Float64Var(&m.MinVis, "min-visibility", simulator.VisibleThreshold, "visible-only scoring: truth under this visibility is a distractor")
}

// Score is ScoreMOTFiles of the files.
func (m MOTFiles) Score() (*MOTFileReport, error) { return ScoreMOTFiles(m.GT, m.Tracks, m.MinVis) }
