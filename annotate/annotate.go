package annotate

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"sort"
	"strings"

	"gocv.io/x/gocv"

	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/zones"
)

// Detector is the model: an *inference.Engine.
type Detector interface {
	Info() inference.ModelInfo
	inference.Runner
}

// Config configures an Annotator.
type Config struct {
	// Detector finds the boxes. Required.
	Detector Detector
	// Track tunes the tracker; zero fields take the track stage's defaults,
	// and count scores default to the model's.
	Track track.Params
	// Lines count tracks crossing them, per class and direction (a
	// conveyor, a gate), drawn with their counts.
	Lines []*zones.Counter
}

// Annotator detects, tracks and draws frame after frame of one stream.
type Annotator struct {
	cfg    Config
	info   inference.ModelInfo
	pre    *inference.Preprocessor
	batch  *inference.Batch
	state  track.State
	seq    uint64
	counts []int // counted per class
	scores []float64
}

// Frame is what one frame showed.
type Frame struct {
	Index int `json:"frame"`
	// Dets are the detections drawn, in frame pixels.
	Dets []track.Det `json:"detections"`
	// Tracks are the open tracks after the frame.
	Tracks []Track `json:"tracks"`
	// Counted is the count per class name so far.
	Counted map[string]int `json:"counted"`
	// Lines are the crossings of each line so far.
	Lines []LineCount `json:"lines,omitempty"`
}

// LineCount is a line's crossings per class name.
type LineCount struct {
	In  map[string]int `json:"in"`
	Out map[string]int `json:"out"`
}

// Track is an open track as drawn.
type Track struct {
	ID        uint64  `json:"id"`
	Class     int     `json:"class"`
	X1        float64 `json:"x1"`
	Y1        float64 `json:"y1"`
	X2        float64 `json:"x2"`
	Y2        float64 `json:"y2"`
	Confirmed bool    `json:"confirmed"`
}

// New makes an Annotator for one stream.
func New(cfg Config) (*Annotator, error) {
	if cfg.Detector == nil {
		return nil, errors.New("annotate: no detector")
	}
	info := cfg.Detector.Info()
	a := &Annotator{cfg: cfg, info: info, pre: inference.NewPreprocessor(info.Width, info.Height),
		batch: inference.NewBatch(info, 1), counts: make([]int, max(len(info.Names), 1))}
	for _, s := range info.CountScores {
		a.scores = append(a.scores, float64(s))
	}
	return a, nil
}

// Close frees the preprocessor's buffers.
func (a *Annotator) Close() { a.pre.Close() }

func (a *Annotator) className(c int) string {
	if c >= 0 && c < len(a.info.Names) {
		return a.info.Names[c]
	}
	return fmt.Sprintf("class %d", c)
}

// Frame detects and tracks img and draws onto it.
func (a *Annotator) Frame(img *gocv.Mat) (Frame, error) {
	a.seq++
	dets, err := a.detect(*img)
	if err != nil {
		return Frame{}, fmt.Errorf("annotate: frame %d: %w", a.seq, err)
	}
	counted, _ := a.state.Step(a.cfg.Track, track.Frame{Seq: a.seq, Width: img.Cols(), Dets: dets, CountScores: a.scores})
	a.add(counted)
	f := Frame{Index: int(a.seq) - 1, Dets: dets, Counted: a.counted()}
	if len(a.cfg.Lines) > 0 {
		seen, open := a.state.Seen(), a.state.OpenIDs()
		for _, l := range a.cfg.Lines {
			l.Update(seen)
			l.Forget(open)
			f.Lines = append(f.Lines, LineCount{In: a.byName(l.In), Out: a.byName(l.Out)})
		}
	}
	for _, t := range a.state.Tracks {
		if t.Lost > 0 {
			continue
		}
		b := t.Box()
		f.Tracks = append(f.Tracks, Track{ID: t.ID, Class: t.Class, X1: b.X1, Y1: b.Y1, X2: b.X2, Y2: b.Y2, Confirmed: t.Confirmed})
	}
	a.draw(img, f)
	return f, nil
}

// Finish ends the stream as the track stage does at its end marker (the
// tracks still open are decided) and returns the final count per class.
func (a *Annotator) Finish() map[string]int {
	a.seq++
	counted, _ := a.state.Step(a.cfg.Track, track.Frame{Seq: a.seq, End: true, CountScores: a.scores})
	a.add(counted)
	return a.counted()
}

func (a *Annotator) add(counted []*track.Track) {
	for _, t := range counted {
		if t.Class >= 0 && t.Class < len(a.counts) {
			a.counts[t.Class]++
		}
	}
}

func (a *Annotator) byName(m map[int]int) map[string]int {
	out := map[string]int{}
	for c, n := range m {
		out[a.className(c)] += n
	}
	return out
}

func (a *Annotator) counted() map[string]int {
	m := map[string]int{}
	for c, n := range a.counts {
		if n > 0 {
			m[a.className(c)] = n
		}
	}
	return m
}

func (a *Annotator) detect(img gocv.Mat) ([]track.Det, error) {
	var lb inference.Letterbox
	var err error
	if a.info.UInt8 {
		buf := make([]byte, 3*a.info.Width*a.info.Height)
		if lb, err = a.pre.IntoUInt8(img, buf); err != nil {
			return nil, err
		}
		out, err := a.cfg.Detector.RunUInt8(buf, 1)
		return toDets(out, lb), err
	}
	buf := make([]float32, 3*a.info.Width*a.info.Height)
	if lb, err = a.pre.Into(img, buf); err != nil {
		return nil, err
	}
	out, err := a.cfg.Detector.Run(buf, 1)
	return toDets(out, lb), err
}

func toDets(out [][]inference.Detection, lb inference.Letterbox) []track.Det {
	if len(out) == 0 {
		return nil
	}
	dets := make([]track.Det, 0, len(out[0]))
	for _, d := range out[0] {
		d = lb.ToFrame(d)
		dets = append(dets, track.Det{X1: float64(d.X1), Y1: float64(d.Y1), X2: float64(d.X2), Y2: float64(d.Y2), Class: d.Class, Score: float64(d.Score)})
	}
	return dets
}

// trackColour spreads ids around the hue circle (golden angle), as the
// live page does.
func trackColour(id uint64) color.RGBA {
	h := float64(id) * 137.508
	h -= 360 * float64(int(h/360))
	return hsv(h, 0.85, 1)
}

func hsv(h, s, v float64) color.RGBA {
	c := v * s
	x := c * (1 - abs(mod(h/60, 2)-1))
	m := v - c
	var r, g, b float64
	switch {
	case h < 60:
		r, g = c, x
	case h < 120:
		r, g = x, c
	case h < 180:
		g, b = c, x
	case h < 240:
		g, b = x, c
	case h < 300:
		r, b = x, c
	default:
		r, b = c, x
	}
	return color.RGBA{uint8((r + m) * 255), uint8((g + m) * 255), uint8((b + m) * 255), 255}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func mod(x, y float64) float64 { return x - y*float64(int(x/y)) }

var (
	detColour   = color.RGBA{255, 255, 255, 255}
	textColour  = color.RGBA{255, 255, 255, 255}
	panelColour = color.RGBA{0, 0, 0, 255}
)

func rect(x1, y1, x2, y2 float64) image.Rectangle {
	return image.Rect(int(x1+0.5), int(y1+0.5), int(x2+0.5), int(y2+0.5))
}

// draw puts the frame's detections, tracks and count onto img. Lines and
// text scale with the frame, so a 4K frame reads like a 720p one.
func (a *Annotator) draw(img *gocv.Mat, f Frame) {
	s := max(1, float64(img.Cols())/640)
	thin, thick := max(1, int(s+0.5)), max(2, int(2*s+0.5))
	font := gocv.FontHersheySimplex
	for _, d := range f.Dets {
		gocv.Rectangle(img, rect(d.X1, d.Y1, d.X2, d.Y2), detColour, thin)
		gocv.PutText(img, fmt.Sprintf("%s %.2f", a.className(d.Class), d.Score), image.Pt(int(d.X1), int(d.Y2+10*s)), font, 0.3*s, detColour, thin)
	}
	for _, t := range f.Tracks {
		if !t.Confirmed {
			continue
		}
		c := trackColour(t.ID)
		gocv.Rectangle(img, rect(t.X1-2, t.Y1-2, t.X2+2, t.Y2+2), c, thick)
		gocv.PutText(img, fmt.Sprintf("#%d", t.ID), image.Pt(int(t.X1), int(t.Y1-3*s)), font, 0.35*s, c, thin)
	}
	names := make([]string, 0, len(f.Counted))
	for n := range f.Counted {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := []string{"counted"}
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %d", n, f.Counted[n]))
	}
	if len(names) == 0 {
		parts = append(parts, "0")
	}
	for i, l := range a.cfg.Lines {
		c := color.RGBA{255, 220, 0, 255}
		gocv.Line(img, image.Pt(int(l.A.X), int(l.A.Y)), image.Pt(int(l.B.X), int(l.B.Y)), c, thick)
		lc := f.Lines[i]
		gocv.PutText(img, "in "+perClass(lc.In)+" out "+perClass(lc.Out), image.Pt(int(l.A.X)+4, int(l.A.Y+30*s)), font, 0.4*s, c, thin)
	}
	label := strings.Join(parts, " ")
	gocv.Rectangle(img, image.Rect(0, 0, int(float64(8*len(label))*s)+8, int(18*s)), panelColour, -1)
	gocv.PutText(img, label, image.Pt(4, int(13*s)), font, 0.45*s, textColour, thin)
}

func perClass(m map[string]int) string {
	if len(m) == 0 {
		return "0"
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, m[n])
	}
	return strings.Join(parts, ", ")
}
