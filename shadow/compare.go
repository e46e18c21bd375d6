package shadow

import (
	"cmp"
	"slices"

	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/schema"
)

// Stats compare the two models on a set of frames.
type Stats struct {
	Frames       int `json:"frames"`
	ServingBoxes int `json:"serving_boxes"`
	ShadowBoxes  int `json:"shadow_boxes"`
	// Matched are pairs of boxes of one class whose IoU reaches the
	// threshold, each box in at most one pair.
	Matched int `json:"matched"`
	// Precision is Matched/ShadowBoxes, Recall Matched/ServingBoxes: the
	// shadow judged against the serving model (1 when both found nothing).
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	// Mean time per frame, decode and inference, in milliseconds.
	ServingMs float64 `json:"serving_ms"`
	ShadowMs  float64 `json:"shadow_ms"`
	// ServingObjects and ShadowObjects are what the tracker counts from each
	// model's boxes (tracks ended and counted, as the track stage would, of
	// every class, never emitted), for cameras whose every frame the shadow
	// saw: a sample of frames cannot be tracked. Tracked says they are
	// filled.
	Tracked        bool `json:"tracked"`
	ServingObjects int  `json:"serving_objects"`
	ShadowObjects  int  `json:"shadow_objects"`

	servingNs, shadowNs int64
}

// Report is the comparison per camera and over all of them.
type Report struct {
	ServingModels []string          `json:"serving_models"`
	ShadowModels  []string          `json:"shadow_models"`
	IoU           float64           `json:"iou"`
	Cameras       map[string]*Stats `json:"cameras"`
	Total         Stats             `json:"total"`
	// Unmatched counts shadow records whose frame has no serving record
	// (not yet detected, or expired from the topic).
	Unmatched int `json:"unmatched_frames"`
}

// Compare pairs the records of the two topics by frame (camera and
// sequence) and compares their boxes at IoU threshold iou.
func Compare(serving, shadow []*schema.Detections, iou float64) Report {
	type key struct {
		cam string
		seq uint64
	}
	byFrame := map[key]*schema.Detections{}
	for _, d := range serving {
		if !d.EndOfStream && !d.IdleGap {
			byFrame[key{d.CameraId, d.Sequence}] = d
		}
	}
	rep := Report{IoU: iou, Cameras: map[string]*Stats{}}
	for _, sh := range shadow {
		sv := byFrame[key{sh.CameraId, sh.Sequence}]
		if sv == nil {
			rep.Unmatched++
			continue
		}
		addUnique(&rep.ServingModels, sv.ModelId)
		addUnique(&rep.ShadowModels, sh.ModelId)
		st := rep.Cameras[sh.CameraId]
		if st == nil {
			st = &Stats{}
			rep.Cameras[sh.CameraId] = st
		}
		m := match(sv.Detections, sh.Detections, iou)
		for _, s := range []*Stats{st, &rep.Total} {
			s.Frames++
			s.ServingBoxes += len(sv.Detections)
			s.ShadowBoxes += len(sh.Detections)
			s.Matched += m
			s.servingNs += sv.InferNs
			s.shadowNs += sh.InferNs
		}
	}
	countObjects(serving, shadow, &rep)
	for _, s := range append(mapValues(rep.Cameras), &rep.Total) {
		s.Precision, s.Recall = ratio(s.Matched, s.ShadowBoxes), ratio(s.Matched, s.ServingBoxes)
		if s.Frames > 0 {
			s.ServingMs = float64(s.servingNs) / float64(s.Frames) / 1e6
			s.ShadowMs = float64(s.shadowNs) / float64(s.Frames) / 1e6
		}
	}
	return rep
}

func ratio(a, b int) float64 {
	if b == 0 {
		if a == 0 {
			return 1
		}
		return 0
	}
	return float64(a) / float64(b)
}

func addUnique(s *[]string, v string) {
	if !slices.Contains(*s, v) {
		*s = append(*s, v)
		slices.Sort(*s)
	}
}

func mapValues(m map[string]*Stats) []*Stats {
	out := make([]*Stats, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// match pairs boxes of a and b greedily, best IoU first, same class, at
// least iou; it returns the number of pairs.
func match(a, b []*schema.Detection, iou float64) int {
	type pair struct {
		i, j int
		v    float64
	}
	var ps []pair
	for i, x := range a {
		for j, y := range b {
			if x.ClassId != y.ClassId {
				continue
			}
			if v := IoU(x.GetBox(), y.GetBox()); v >= iou {
				ps = append(ps, pair{i, j, v})
			}
		}
	}
	slices.SortFunc(ps, func(p, q pair) int { return cmp.Compare(q.v, p.v) })
	usedA, usedB := make([]bool, len(a)), make([]bool, len(b))
	n := 0
	for _, p := range ps {
		if !usedA[p.i] && !usedB[p.j] {
			usedA[p.i], usedB[p.j] = true, true
			n++
		}
	}
	return n
}

// IoU is the intersection over union of two boxes.
func IoU(a, b *schema.Box) float64 {
	w := min(a.GetX2(), b.GetX2()) - max(a.GetX1(), b.GetX1())
	h := min(a.GetY2(), b.GetY2()) - max(a.GetY1(), b.GetY1())
	if w <= 0 || h <= 0 {
		return 0
	}
	inter := float64(w) * float64(h)
	area := func(x *schema.Box) float64 { return float64(x.GetX2()-x.GetX1()) * float64(x.GetY2()-x.GetY1()) }
	return inter / (area(a) + area(b) - inter)
}

// countObjects runs the tracker over each camera's frames from both models
// when the shadow has a record for every frame the serving model has.
func countObjects(serving, shadow []*schema.Detections, rep *Report) {
	byCam := func(ds []*schema.Detections) map[string][]*schema.Detections {
		out := map[string][]*schema.Detections{}
		for _, d := range ds {
			if !d.EndOfStream && !d.IdleGap {
				out[d.CameraId] = append(out[d.CameraId], d)
			}
		}
		return out
	}
	sv, sh := byCam(serving), byCam(shadow)
	for cam, st := range rep.Cameras {
		if len(sh[cam]) != len(sv[cam]) || st.Frames != len(sv[cam]) {
			continue
		}
		st.Tracked = true
		st.ServingObjects, st.ShadowObjects = count(sv[cam]), count(sh[cam])
		rep.Total.Tracked = true
		rep.Total.ServingObjects += st.ServingObjects
		rep.Total.ShadowObjects += st.ShadowObjects
	}
}

// count is the number of objects the tracker counts from a camera's
// frames, in sequence order, closed by an end of stream.
func count(ds []*schema.Detections) int {
	ds = slices.Clone(ds)
	slices.SortFunc(ds, func(a, b *schema.Detections) int { return cmp.Compare(a.Sequence, b.Sequence) })
	var st track.State
	n := 0
	for _, d := range ds {
		c, _ := st.Step(track.Params{}, track.FrameOf(d))
		n += len(c)
	}
	last := ds[len(ds)-1]
	end := track.FrameOf(&schema.Detections{Sequence: last.Sequence + 1, RowId: last.RowId, Width: last.Width,
		CountScores: last.CountScores, EndOfStream: true})
	c, _ := st.Step(track.Params{}, end)
	return n + len(c)
}
