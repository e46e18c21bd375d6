package track

import "github.com/spf13/pflag"

// RegisterFlags registers the tracker settings `cropstream eval replay`
// tries (0: the tracker's default).
func (p *Params) RegisterFlags(f *pflag.FlagSet) {
	f.Float64Var(&p.RecoverDist, "recover-dist", 0, "tracker RecoverDist")
	f.Float64Var(&p.DuplicateIoU, "duplicate-iou", 0, "tracker DuplicateIoU")
	f.Float64Var(&p.LowMatchIoU, "low-match-iou", 0, "tracker LowMatchIoU")
	f.Float64Var(&p.MatchIoU, "match-iou", 0, "tracker MatchIoU")
	f.Float64Var(&p.NewTrackScore, "new-track-score", 0, "tracker NewTrackScore")
	f.IntVar(&p.MinHits, "min-hits", 0, "tracker MinHits")
	f.Float64Var(&p.MaxLostShift, "max-lost-shift", 0, "tracker MaxLostShift")
	f.Float64SliceVar(&p.CountScores, "count-scores", nil, "per class count scores (default: those the run used)")
}
