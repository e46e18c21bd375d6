package track

import (
	"fmt"
	"log/slog"
	"sort"
	"strconv"

	"github.com/lovoo/goka"

	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
	"github.com/cropstream/cropstream/zones"
)

// lineState is a camera's count on one of its lines: the line as it was
// configured when the tally began (a line moved starts a new tally, since
// sides on the old one mean nothing on the new) and the tally.
type lineState struct {
	Line  zones.Line
	Tally zones.Tally
	// In and Out are the crossings counted since the line was set as it
	// is, per class id: what the live page and the query API show.
	In, Out map[int]uint64
}

// Seen are the tracks a count line looks at on the latest frame: those
// matched in that frame (a coasting track's predicted box is no evidence of
// a crossing), not duplicates of another.
func (s *State) Seen() []zones.Object {
	var out []zones.Object
	for _, t := range s.Tracks {
		if t.Duplicate || t.Lost > 0 {
			continue
		}
		b := t.box()
		out = append(out, zones.Object{Track: t.ID, Class: t.Class, Center: zones.Point{X: b.cx(), Y: b.cy()}, Confirmed: t.Confirmed})
	}
	return out
}

// OpenIDs are the ids of the tracks still open.
func (s *State) OpenIDs() []uint64 {
	ids := make([]uint64, len(s.Tracks))
	for i, t := range s.Tracks {
		ids[i] = t.ID
	}
	return ids
}

// countLines counts the tracks of the frame just applied across the
// camera's count lines in force and adds a crossing record for each.
func (p *Processor) countLines(out *outputs, st *cameraState, d *schema.Detections) {
	lines := p.lines.Get(d.CameraId)
	if len(lines) == 0 && len(st.Lines) == 0 {
		return
	}
	objs := st.Tracker.Seen()
	open := make(map[uint64]bool, len(st.Tracker.Tracks))
	for _, t := range st.Tracker.Tracks {
		open[t.ID] = true
	}
	next := make(map[string]*lineState, len(lines))
	for _, l := range lines {
		ls := st.Lines[l.Name]
		if ls == nil || ls.Line != l {
			p.checkLine(d, l)
			ls = &lineState{Line: l, Tally: zones.Tally{}, In: map[int]uint64{}, Out: map[int]uint64{}}
		}
		for _, x := range l.Cross(ls.Tally, objs) {
			out.crossing(d, l.Name, x)
			if x.Dir == zones.In {
				ls.In[x.Class]++
			} else {
				ls.Out[x.Class]++
			}
		}
		ls.Tally.Keep(func(id uint64) bool { return open[id] })
		next[l.Name] = ls
	}
	st.Lines = nil
	if len(next) > 0 {
		st.Lines = next
	}
}

// checkLine warns, once per camera and line, when a line a camera's tally
// starts on lies outside the camera's frames: it would never count (a line
// set for another resolution, or for another camera).
func (p *Processor) checkLine(d *schema.Detections, l zones.Line) {
	w, h := float64(d.Width), float64(d.Height)
	if w == 0 || h == 0 || (max(l.A.X, l.B.X) <= w && max(l.A.Y, l.B.Y) <= h) {
		return
	}
	if _, warned := p.lineWarned.LoadOrStore(d.CameraId+"/"+l.String(), true); !warned {
		slog.Warn("track: count line outside the camera's frames: it counts nothing there", "camera", d.CameraId,
			"line", l.String(), "frame", fmt.Sprintf("%gx%g", w, h))
	}
}

// CrossingID names a crossing: the object, the line and the direction, so a
// replay produces the same id.
func CrossingID(object, line string, dir zones.Direction) string {
	return object + "/" + line + "/" + dir.String()
}

// crossing adds the record of x on line, seen on frame d.
func (o *outputs) crossing(d *schema.Detections, line string, x zones.Crossing) {
	obj := ObjectID(d.CameraId, d.StreamId, x.Track)
	c := &schema.LineCrossing{CrossingId: CrossingID(obj, line, x.Dir), CameraId: d.CameraId, StreamId: d.StreamId,
		FieldId: d.FieldId, BlockId: d.BlockId, RowId: d.RowId, Line: line, Direction: x.Dir.String(), ObjectId: obj,
		ClassId: uint32(x.Class), Sequence: d.Sequence, CaptureUnixNs: d.CaptureUnixNs, X: float32(x.At.X), Y: float32(x.At.Y),
		ModelId: d.ModelId, SourcePartition: o.ctx.Partition(), SourceOffset: o.ctx.Offset(), SourceIndex: o.index}
	if x.Class < len(d.ClassNames) {
		c.ClassName = d.ClassNames[x.Class]
	}
	o.index++
	val, err := schema.Encode(c)
	if err != nil {
		o.p.deadLetter(o.ctx, o.raw, err)
		return
	}
	o.crossings = append(o.crossings, val)
	o.p.Stats.Crossings.Add(1)
}

// flushCrossings emits the crossings added and logs them under frame seq of
// stream, keyed by the camera (the log's block field holds the key).
func (o *outputs) flushCrossings(log emittedLog, camera string, seq uint64, stream string) emittedLog {
	if len(o.crossings) == 0 {
		return log
	}
	for _, v := range o.crossings {
		o.ctx.Emit(goka.Stream(topology.LineCrossings), camera, v)
	}
	log = log.add(emitted{Seq: seq, Stream: stream, Block: camera, Objects: o.crossings})
	o.crossings = nil
	return log
}

// LineView is a count line of a camera and what it counted.
type LineView struct {
	zones.Line
	// In and Out are the crossings counted since the line was set as it
	// is, by class name (class id as a number when the model named none).
	In  map[string]uint64 `json:"in"`
	Out map[string]uint64 `json:"out"`
}

// lineViews are the camera's lines, by name.
func lineViews(lines map[string]*lineState, classes []string) []LineView {
	name := func(c int) string {
		if c >= 0 && c < len(classes) {
			return classes[c]
		}
		return strconv.Itoa(c)
	}
	byName := func(m map[int]uint64) map[string]uint64 {
		out := make(map[string]uint64, len(m))
		for c, n := range m {
			out[name(c)] += n
		}
		return out
	}
	out := make([]LineView, 0, len(lines))
	for _, ls := range lines {
		out = append(out, LineView{Line: ls.Line, In: byName(ls.In), Out: byName(ls.Out)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
