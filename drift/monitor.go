package drift

import (
	"slices"
	"sync"
	"time"
)

// Config sizes a Monitor.
type Config struct {
	// Window is how many of a camera's latest frames are compared with the
	// reference. Default 300 (at 10 frames/s, half a minute of a pass).
	Window int
	// MinFrames is how many frames a camera needs in its window before its
	// statistics are reported: a few frames after a restart say little.
	// Default Window/4.
	MinFrames int
	// ReportEvery is how many frames of a camera one Summary covers. Default
	// Window.
	ReportEvery int
}

func (c Config) withDefaults() Config {
	if c.Window <= 0 {
		c.Window = 300
	}
	if c.MinFrames <= 0 {
		c.MinFrames = max(1, c.Window/4)
	}
	if c.ReportEvery <= 0 {
		c.ReportEvery = c.Window
	}
	return c
}

// Stat is one feature's drift for one camera.
type Stat struct {
	Feature string
	KS, PSI float64
}

// Summary is a camera's frames since its last summary, with drift over its
// window at the end of them.
type Summary struct {
	Camera         string
	StartNs, EndNs int64
	Frames         int
	Boxes          int
	MeanScore      float64
	MeanBrightness float64
	MeanContrast   float64
	Drift          []Stat
}

// Monitor keeps the windows of every camera. It is safe for concurrent use:
// the detect stage observes, a metrics scrape reads.
type Monitor struct {
	cfg  Config
	mu   sync.Mutex
	ref  *Reference
	cams map[string]*camera
}

type camera struct {
	frames []Frame // ring of the window
	next   int
	// Since the last summary.
	n, boxes         int
	scoreSum         float64
	bright, contrast float64
	startNs, endNs   int64
	// total frames and when the last arrived (wall clock), for liveness.
	total  int64
	lastNs int64
}

// NewMonitor compares with ref (nil: summaries without drift statistics).
func NewMonitor(cfg Config, ref *Reference) *Monitor {
	return &Monitor{cfg: cfg.withDefaults(), ref: ref, cams: map[string]*camera{}}
}

// SetReference switches to another model's reference and empties the
// windows: frames the previous model scored say nothing about this one.
func (m *Monitor) SetReference(ref *Reference) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ref = ref
	for _, c := range m.cams {
		c.frames, c.next = c.frames[:0], 0
	}
}

// Observe adds a frame of camera captured at ns; every ReportEvery frames of
// the camera it returns the summary of them.
func (m *Monitor) Observe(cam string, ns int64, f Frame) (Summary, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.seen(cam)
	if len(c.frames) < m.cfg.Window {
		c.frames = append(c.frames, f)
	} else {
		c.frames[c.next] = f
		c.next = (c.next + 1) % m.cfg.Window
	}
	if c.n == 0 {
		c.startNs = ns
	}
	c.n++
	c.endNs = ns
	c.boxes += len(f.Scores)
	for _, s := range f.Scores {
		c.scoreSum += s
	}
	c.bright += f.Brightness
	c.contrast += f.Contrast
	if c.n < m.cfg.ReportEvery {
		return Summary{}, false
	}
	s := Summary{Camera: cam, StartNs: c.startNs, EndNs: c.endNs, Frames: c.n, Boxes: c.boxes,
		MeanBrightness: c.bright / float64(c.n), MeanContrast: c.contrast / float64(c.n), Drift: m.stats(c)}
	if c.boxes > 0 {
		s.MeanScore = c.scoreSum / float64(c.boxes)
	}
	c.n, c.boxes, c.scoreSum, c.bright, c.contrast = 0, 0, 0, 0, 0
	return s, true
}

// Seen counts a frame of cam that is not compared (a canary's).
func (m *Monitor) Seen(cam string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seen(cam)
}

func (m *Monitor) seen(cam string) *camera {
	c := m.cams[cam]
	if c == nil {
		c = &camera{}
		m.cams[cam] = c
	}
	c.total++
	c.lastNs = time.Now().UnixNano()
	return c
}

// Liveness is a camera's frame count and when its last frame arrived.
type Liveness struct {
	Frames int64
	LastNs int64
}

// Live returns every camera's liveness.
func (m *Monitor) Live() map[string]Liveness {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]Liveness{}
	for cam, c := range m.cams {
		out[cam] = Liveness{Frames: c.total, LastNs: c.lastNs}
	}
	return out
}

// Stats returns each camera's drift, for cameras with at least MinFrames in
// their window, when there is a reference.
func (m *Monitor) Stats() map[string][]Stat {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string][]Stat{}
	for cam, c := range m.cams {
		if st := m.stats(c); st != nil {
			out[cam] = st
		}
	}
	return out
}

func (m *Monitor) stats(c *camera) []Stat {
	if m.ref == nil || len(c.frames) < m.cfg.MinFrames {
		return nil
	}
	cur := map[string][]float64{}
	for _, f := range c.frames {
		cur[BoxesPerFrame] = append(cur[BoxesPerFrame], float64(len(f.Scores)))
		cur[Brightness] = append(cur[Brightness], f.Brightness)
		cur[Contrast] = append(cur[Contrast], f.Contrast)
		cur[Score] = append(cur[Score], f.Scores...)
		cur[BoxSize] = append(cur[BoxSize], f.BoxSizes...)
	}
	var out []Stat
	for _, feat := range Features {
		ref, s := m.ref.Samples[feat], sorted(cur[feat])
		if len(ref) == 0 || len(s) == 0 {
			continue
		}
		out = append(out, Stat{Feature: feat, KS: KS(ref, s), PSI: PSI(ref, s)})
	}
	return out
}

// Cameras lists the cameras seen, sorted.
func (m *Monitor) Cameras() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for c := range m.cams {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}
