package simulator

import (
	"errors"
	"fmt"
	"image"
	"io"
	"iter"
	"math"
	"math/rand/v2"
	"time"

	"gocv.io/x/gocv"
)

// VisibleThreshold is the visible share above which a unit counts as seen in
// a frame; a unit is "visible from the camera" when it passes it in at least
// one frame. Below it a fruit is a few pixels between leaves that neither a
// person nor a detector can tell apart.
const VisibleThreshold = 0.25

// Box is one unit's ground truth in one frame.
type Box struct {
	UnitID  int
	ClassID int
	// Rect is the amodal box (the whole unit, hidden parts included) in frame
	// pixels; it may reach outside the frame.
	Rect image.Rectangle
	// Visibility is the share of the unit's pixels seen in this frame.
	Visibility float64
}

// Clipped is the part of the box inside a width x height frame: what a
// detector can draw. A box wholly outside comes back with Min not below Max
// (not canonicalised, so callers test its size).
func (b Box) Clipped(width, height int) image.Rectangle {
	return image.Rectangle{
		Min: image.Pt(max(0, b.Rect.Min.X), max(0, b.Rect.Min.Y)),
		Max: image.Pt(min(width, b.Rect.Max.X), min(height, b.Rect.Max.Y)),
	}
}

// Frame is one rendered frame and its truth.
type Frame struct {
	// Image is owned by the simulator and valid until the next call of Next.
	Image *gocv.Mat
	// Sequence numbers every frame of the scenario, dropped ones included:
	// a gap is a dropped frame.
	Sequence uint64
	// Index counts delivered frames from 1 (the MOTChallenge frame number).
	Index       int
	Row         int
	RowID       string
	PositionM   float64
	CaptureTime time.Time
	SpeedMPS    float64
	Boxes       []Box
}

// Simulator renders a scenario frame by frame.
type Simulator struct {
	sc     *Scenario
	layout *Layout
	rng    *rand.Rand // camera motion, drops, lighting flicker, noise offsets

	row      int
	scene    *rowScene
	pos      float64 // camera centre along the row, metres
	t        float64 // seconds since the start of the scenario
	seq      uint64
	index    int
	speedPh  [2]float64
	jitterPh [4]float64
	lightPh  [2]float64

	frame              gocv.Mat
	noisePos, noiseNeg gocv.Mat
	done               bool
}

// New prepares a simulator; rows are rendered as the camera reaches them.
func New(sc *Scenario) *Simulator {
	s := &Simulator{sc: sc, layout: NewLayout(sc), rng: rand.New(rand.NewPCG(sc.Seed, 0xca3e)), row: -1}
	W, H := sc.Camera.Width, sc.Camera.Height
	s.frame = gocv.NewMatWithSize(H, W, gocv.MatTypeCV8UC3)
	// Sensor noise: two tiles of |N(0, 3)|, added and subtracted at random
	// offsets each frame (cheaper than drawing noise per frame).
	s.noisePos = gocv.NewMatWithSize(H+32, W+32, gocv.MatTypeCV8UC3)
	s.noiseNeg = gocv.NewMatWithSize(H+32, W+32, gocv.MatTypeCV8UC3)
	for _, m := range []*gocv.Mat{&s.noisePos, &s.noiseNeg} {
		d, _ := m.DataPtrUint8()
		for i := range d {
			d[i] = clamp8(math.Abs(3 * s.rng.NormFloat64()))
		}
	}
	return s
}

// Layout is the scenario's plants and units (visibility fills in as frames
// are rendered).
func (s *Simulator) Layout() *Layout { return s.layout }

// Scenario is what the simulator renders.
func (s *Simulator) Scenario() *Scenario { return s.sc }

// EstimatedFrames is how many frames the scenario will deliver, roughly.
func (s *Simulator) EstimatedFrames() int {
	c := s.sc.Camera
	perRow := (float64(s.sc.PlantsPerRow)*s.sc.PlantSpacingM + c.ViewWidthM - 0.5) / c.SpeedMPS * c.FPS
	return int(float64(s.sc.Rows) * perRow * (1 - c.DropRate))
}

func (s *Simulator) startRow(row int) {
	if s.scene != nil {
		s.scene.Close()
	}
	s.row = row
	s.scene = renderRow(s.sc, s.layout, row)
	s.pos = -s.sc.Camera.ViewWidthM/2 + 0.25
	for i := range s.speedPh {
		s.speedPh[i] = s.rng.Float64() * 2 * math.Pi
	}
	for i := range s.jitterPh {
		s.jitterPh[i] = s.rng.Float64() * 2 * math.Pi
	}
	for i := range s.lightPh {
		s.lightPh[i] = s.rng.Float64() * 2 * math.Pi
	}
}

func (s *Simulator) rowEnd() float64 {
	return float64(s.sc.PlantsPerRow)*s.sc.PlantSpacingM + s.sc.Camera.ViewWidthM/2 - 0.25
}

// Next renders the next delivered frame; io.EOF after the last row.
func (s *Simulator) Next() (*Frame, error) {
	c := s.sc.Camera
	for {
		if s.done {
			return nil, io.EOF
		}
		if s.scene == nil || s.pos > s.rowEnd() {
			if s.row+1 >= s.sc.Rows {
				s.done = true
				s.scene.Close()
				s.scene = nil
				continue
			}
			s.startRow(s.row + 1)
		}
		// Speed drifts ±15 % with two slow waves; the camera then moves.
		speed := c.SpeedMPS * (1 + 0.1*math.Sin(0.5*s.t+s.speedPh[0]) + 0.05*math.Sin(1.7*s.t+s.speedPh[1]))
		pos, t, seq := s.pos, s.t, s.seq
		s.pos += speed / c.FPS
		s.t += 1 / c.FPS
		s.seq++
		dropped := s.rng.Float64() < c.DropRate
		// Draw the per-frame randomness whether or not the frame is dropped, so
		// the drop rate does not change the frames that are delivered.
		jx := c.JitterPx * (0.6*math.Sin(7.1*t+s.jitterPh[0]) + 0.4*(2*s.rng.Float64()-1))
		jy := c.JitterPx * (0.6*math.Sin(5.3*t+s.jitterPh[1]) + 0.4*(2*s.rng.Float64()-1))
		flicker := 1 + 0.02*(2*s.rng.Float64()-1)
		nx, ny := s.rng.IntN(32), s.rng.IntN(32)
		if dropped {
			continue
		}
		s.index++
		f := &Frame{Image: &s.frame, Sequence: seq, Index: s.index, Row: s.row, RowID: s.sc.RowID(s.row),
			PositionM: pos, CaptureTime: s.sc.StartTime.Add(time.Duration(t * float64(time.Second))), SpeedMPS: speed}
		s.compose(f, pos, jx, jy, flicker*s.light(pos), nx, ny)
		return f, nil
	}
}

// JPEG encodes the frame's image as a JPEG of quality (1-100).
func (f *Frame) JPEG(quality int) ([]byte, error) {
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, *f.Image, []int{gocv.IMWriteJpegQuality, quality})
	if err != nil {
		return nil, fmt.Errorf("sim: encode frame %d: %w", f.Index, err)
	}
	defer buf.Close()
	return append([]byte(nil), buf.GetBytes()...), nil
}

// Frames is Next for a range loop: the delivered frames in order, ending
// after the last row, or at the first error (yielded with a nil frame).
// Each frame is valid until the next.
func (s *Simulator) Frames() iter.Seq2[*Frame, error] {
	return func(yield func(*Frame, error) bool) {
		for {
			f, err := s.Next()
			if errors.Is(err, io.EOF) || !yield(f, err) || err != nil {
				return
			}
		}
	}
}

// light is the brightness gain at a position: two waves between min and max.
func (s *Simulator) light(pos float64) float64 {
	l := s.sc.Lighting
	w := 0.5 + 0.5*(0.6*math.Sin(2*math.Pi*pos/7+s.lightPh[0])+0.4*math.Sin(2*math.Pi*pos/2.3+s.lightPh[1]))
	return l.Min + (l.Max-l.Min)*w
}

func (s *Simulator) compose(f *Frame, pos, jx, jy, gain float64, nx, ny int) {
	rs := s.scene
	c := s.sc.Camera
	W, H := c.Width, c.Height
	left := int(math.Round((pos-c.ViewWidthM/2-rs.originM)*rs.ppm + jx))
	top := rs.margin + int(math.Round(jy))
	fgLeft := int(math.Round(parallax * float64(left)))
	view := image.Rect(left, top, left+W, top+H)

	src := rs.mid.Region(view)
	src.CopyTo(&s.frame)
	src.Close()
	fgView := image.Rect(fgLeft, top, fgLeft+W, top+H)
	hole := rs.fgHole.Region(fgView)
	fg := rs.fg.Region(fgView)
	gocv.BitwiseAnd(s.frame, hole, &s.frame)
	gocv.BitwiseOr(s.frame, fg, &s.frame)
	hole.Close()
	fg.Close()
	s.frame.ConvertToWithParams(&s.frame, gocv.MatTypeCV8UC3, float32(gain), 0)
	np := s.noisePos.Region(image.Rect(nx, ny, nx+W, ny+H))
	nn := s.noiseNeg.Region(image.Rect(31-nx, 31-ny, 31-nx+W, 31-ny+H))
	gocv.Add(s.frame, np, &s.frame)
	gocv.Subtract(s.frame, nn, &s.frame)
	np.Close()
	nn.Close()

	f.Boxes = s.truth(view, fgLeft)
}

// truth measures each unit in view: visible pixels are those the id layer
// shows for it, inside the frame, and not under a foreground leaf.
func (s *Simulator) truth(view image.Rectangle, fgLeft int) []Box {
	rs := s.scene
	stride := rs.ids.Cols() * 3
	fgStride := rs.fgMask.Cols()
	// First unit whose box could reach the view.
	lo, hi := 0, len(rs.byX)
	for lo < hi {
		m := (lo + hi) / 2
		if rs.boxes[rs.byX[m]].Min.X < view.Min.X-rs.maxBoxW {
			lo = m + 1
		} else {
			hi = m
		}
	}
	var out []Box
	for _, li := range rs.byX[lo:] {
		box := rs.boxes[li]
		if box.Min.X >= view.Max.X {
			break
		}
		in := box.Intersect(view)
		if in.Empty() || rs.amodal[li] == 0 {
			continue
		}
		id := li + 1
		b0, b1, b2 := byte(id), byte(id>>8), byte(id>>16)
		seen := 0 // on the even grid, like the amodal count
		for y := (in.Min.Y + 1) &^ 1; y < in.Max.Y; y += 2 {
			row := rs.idsData[y*stride:]
			fgRow := rs.fgData[y*fgStride:]
			for x := (in.Min.X + 1) &^ 1; x < in.Max.X; x += 2 {
				if row[3*x] == b0 && row[3*x+1] == b1 && row[3*x+2] == b2 && fgRow[x-view.Min.X+fgLeft] == 0 {
					seen++
				}
			}
		}
		if seen == 0 {
			continue
		}
		u := &s.layout.Units[rs.units[li]]
		vis := float64(seen) / float64(rs.amodal[li])
		if vis > u.MaxVisibility {
			u.MaxVisibility = vis
		}
		if vis >= VisibleThreshold {
			u.Visible = true
		}
		out = append(out, Box{UnitID: u.ID, ClassID: u.ClassID, Rect: box.Sub(view.Min), Visibility: vis})
	}
	return out
}

// Close releases the simulator's buffers.
func (s *Simulator) Close() {
	if s.scene != nil {
		s.scene.Close()
		s.scene = nil
	}
	s.frame.Close()
	s.noisePos.Close()
	s.noiseNeg.Close()
}
