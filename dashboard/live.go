package dashboard

import (
	"encoding/json"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cropstream/cropstream/processors/track"
)

// Limits of what the page's camera panels keep.
const (
	trailLen    = 6  // centres per trail: the scene moves, long trails cross the frame
	trailLinger = 8  // frames an ended track's trail stays drawn
	published   = 4  // frames kept per camera for the browser to fetch
	keptStates  = 16 // states kept per camera for frames that come late
)

// live pairs each camera's frames with the track state of the same frame and
// publishes the pairs, at most maxFPS per camera. Frames come from the feed,
// states from the track table's view; both are keyed by camera and sequence.
type live struct {
	hub    *hub
	maxFPS float64
	now    func() time.Time // the clock (tests set it)

	mu       sync.Mutex
	cams     map[string]*camera
	buffered int64 // bytes of frames waiting for their state
}

type camera struct {
	id     string
	frames map[uint64]frameImg
	// state is the latest track state; pending is a state whose frame has
	// not arrived yet (the feed lags the view).
	state *track.CameraView
	// states are the latest few, by sequence, for frames that arrive after
	// their state.
	states  map[uint64]*track.CameraView
	trails  map[uint64]*trail
	lastPub time.Time
	pub     []frameImg
	// ready is the newest panel not yet published (the camera published
	// less than 1/maxFPS ago), with its frame.
	ready      []byte
	readyFrame frameImg
}

type frameImg struct {
	seq  uint64
	w, h int
	jpeg []byte
}

type trail struct {
	Points  [][2]float64
	Class   int
	Ended   uint64 // sequence at which the track was last seen (0: open)
	Counted bool
}

func newLive(h *hub, maxFPS float64) *live {
	return &live{hub: h, maxFPS: maxFPS, now: time.Now, cams: map[string]*camera{}}
}

func (l *live) cam(id string) *camera {
	c := l.cams[id]
	if c == nil {
		c = &camera{id: id, frames: map[uint64]frameImg{}, states: map[uint64]*track.CameraView{}, trails: map[uint64]*trail{}}
		l.cams[id] = c
	}
	return c
}

// frame takes a frame's JPEG from the feed.
func (l *live) frame(camID string, seq uint64, w, h int, jpeg []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.cam(camID)
	f := frameImg{seq: seq, w: w, h: h, jpeg: jpeg}
	if c.state != nil && seq <= c.state.LastSeq {
		if v := c.states[seq]; v != nil {
			l.publish(c, f, v, l.now())
		}
		return
	}
	if old, ok := c.frames[seq]; ok {
		l.buffered -= int64(len(old.jpeg))
	}
	c.frames[seq] = f
	l.buffered += int64(len(jpeg))
}

// trackState takes a camera's state after one of its frames.
func (l *live) trackState(camID string, v *track.CameraView) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.cam(camID)
	if c.state != nil && v.LastSeq < c.state.LastSeq {
		return
	}
	c.state = v
	c.states[v.LastSeq] = v
	for seq := range c.states {
		if seq+keptStates <= v.LastSeq {
			delete(c.states, seq)
		}
	}
	open := map[uint64]bool{}
	for _, t := range v.Tracks {
		open[t.ID] = true
		tr := c.trails[t.ID]
		if tr == nil {
			tr = &trail{}
			c.trails[t.ID] = tr
		}
		tr.Class = t.Class
		if t.Lost == 0 {
			tr.Points = append(tr.Points, [2]float64{r1((t.X1 + t.X2) / 2), r1((t.Y1 + t.Y2) / 2)})
			if len(tr.Points) > trailLen {
				tr.Points = tr.Points[len(tr.Points)-trailLen:]
			}
		}
	}
	for id, tr := range c.trails {
		if !open[id] && tr.Ended == 0 {
			tr.Ended = v.LastSeq
		}
		if tr.Ended != 0 && v.LastSeq > tr.Ended+trailLinger || v.LastSeq < tr.Ended {
			delete(c.trails, id)
		}
	}
	f, ok := c.frames[v.LastSeq]
	for seq, old := range c.frames {
		if seq <= v.LastSeq {
			l.buffered -= int64(len(old.jpeg))
			delete(c.frames, seq)
		}
	}
	if ok {
		l.publish(c, f, v, l.now())
	}
}

// object marks a counted object's track on its camera's trails.
func (l *live) object(camID, objectID string) {
	i := strings.LastIndexByte(objectID, '-')
	if i < 0 {
		return
	}
	id, err := strconv.ParseUint(objectID[i+1:], 10, 64)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.cam(camID)
	if tr := c.trails[id]; tr != nil {
		tr.Counted = true
	}
}

// bufferedBytes is what frames waiting for their state hold.
func (l *live) bufferedBytes() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buffered
}

// evict drops the oldest frames of each camera until the buffer holds at
// most target bytes: frames whose state is not coming (no track stage runs)
// must not stall the feed for good.
func (l *live) evict(target int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.buffered > target {
		var most *camera
		for _, c := range l.cams {
			if most == nil || len(c.frames) > len(most.frames) {
				most = c
			}
		}
		if most == nil || len(most.frames) == 0 {
			return
		}
		oldest := uint64(1<<64 - 1)
		for seq := range most.frames {
			oldest = min(oldest, seq)
		}
		l.buffered -= int64(len(most.frames[oldest].jpeg))
		delete(most.frames, oldest)
	}
}

// reset forgets the frames in hand (the feed stopped: no state will pair
// them now) and what the trails knew.
func (l *live) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.cams {
		c.frames, c.trails, c.state = map[uint64]frameImg{}, map[uint64]*trail{}, nil
		c.states = map[uint64]*track.CameraView{}
		c.ready = nil
	}
	l.buffered = 0
}

// cameraPanel is what the page draws for a camera.
type cameraPanel struct {
	Camera  string       `json:"camera"`
	Seq     uint64       `json:"seq"`
	W       int          `json:"w"`
	H       int          `json:"h"`
	Field   string       `json:"field"`
	Block   string       `json:"block"`
	Row     string       `json:"row"`
	Classes []string     `json:"classes"`
	Dets    [][6]float64 `json:"dets"` // x1 y1 x2 y2 class score
	Tracks  []panelTrack `json:"tracks"`
	Trails  []panelTrail `json:"trails"`
	// Lines are the camera's count lines with their counts by class.
	Lines []track.LineView `json:"lines"`
}

type panelTrack struct {
	ID        uint64     `json:"id"`
	Box       [4]float64 `json:"box"`
	Class     int        `json:"class"`
	Confirmed bool       `json:"confirmed"`
	Duplicate bool       `json:"duplicate"`
	Counts    bool       `json:"counts"`
	Lost      int        `json:"lost"`
}

type panelTrail struct {
	ID      uint64       `json:"id"`
	Points  [][2]float64 `json:"points"`
	Ended   bool         `json:"ended"`
	Counted bool         `json:"counted"`
}

// publish makes the panel of frame f with c's state. It goes out at once
// unless the camera published less than 1/maxFPS ago; then it waits for
// flush, replacing any panel waiting before it (states arrive in bursts, and
// the newest of a burst is the one to show).
func (l *live) publish(c *camera, f frameImg, v *track.CameraView, now time.Time) {
	p := cameraPanel{Camera: c.id, Seq: f.seq, W: f.w, H: f.h, Field: v.Field, Block: v.Block, Row: v.Row,
		Classes: v.ClassNames, Dets: [][6]float64{}, Tracks: []panelTrack{}, Trails: []panelTrail{}, Lines: v.Lines}
	for _, d := range v.Dets {
		p.Dets = append(p.Dets, [6]float64{r1(d.X1), r1(d.Y1), r1(d.X2), r1(d.Y2), float64(d.Class), math.Round(d.Score*100) / 100})
	}
	for _, t := range v.Tracks {
		p.Tracks = append(p.Tracks, panelTrack{ID: t.ID, Box: [4]float64{r1(t.X1), r1(t.Y1), r1(t.X2), r1(t.Y2)}, Class: t.Class,
			Confirmed: t.Confirmed, Duplicate: t.Duplicate, Counts: t.Counts, Lost: t.Lost})
	}
	for id, tr := range c.trails {
		p.Trails = append(p.Trails, panelTrail{ID: id, Points: slices.Clone(tr.Points), Ended: tr.Ended != 0, Counted: tr.Counted})
	}
	sort.Slice(p.Trails, func(i, j int) bool { return p.Trails[i].ID < p.Trails[j].ID })
	data, err := json.Marshal(p)
	if err != nil {
		return
	}
	c.ready, c.readyFrame = data, f
	l.send(c, now)
}

// send publishes c's waiting panel if the camera may publish now.
func (l *live) send(c *camera, now time.Time) {
	if c.ready == nil || (l.maxFPS > 0 && now.Sub(c.lastPub) < time.Duration(float64(time.Second)/l.maxFPS)) {
		return
	}
	c.lastPub = now
	c.pub = append(c.pub, c.readyFrame)
	if len(c.pub) > published {
		c.pub = c.pub[len(c.pub)-published:]
	}
	l.hub.publish("camera/"+c.id, "camera", c.ready)
	c.ready, c.readyFrame = nil, frameImg{}
}

// shown says whether every camera with a state has published a panel.
func (l *live) shown() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.cams {
		if c.state != nil && len(c.pub) == 0 {
			return false
		}
	}
	return true
}

// flush publishes the panels that waited for their camera's turn.
func (l *live) flush(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.cams {
		l.send(c, now)
	}
}

// image is the JPEG of a frame the page was told of.
func (l *live) image(camID string, seq uint64) ([]byte, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.cams[camID]
	if c == nil {
		return nil, false
	}
	for _, f := range c.pub {
		if f.seq == seq {
			return f.jpeg, true
		}
	}
	return nil, false
}

// r1 rounds a pixel coordinate to a tenth: the page's events stay small.
func r1(x float64) float64 { return math.Round(x*10) / 10 }
