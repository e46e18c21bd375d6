package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/stage/stagetest"
	"github.com/cropstream/cropstream/zones"
)

// TestHubCoalesces: a subscriber that does not read gets, when it reads, the
// latest state of each panel once, not every state published meanwhile.
func TestHubCoalesces(t *testing.T) {
	h := newHub()
	s := h.subscribe()
	for i := range 100 {
		h.publish("camera/a", "camera", []byte(fmt.Sprint(i)))
	}
	h.publish("blocks", "blocks", []byte("b"))
	evs := h.take(s)
	if len(evs) != 2 || string(evs[0].data) != "b" || string(evs[1].data) != "99" {
		t.Fatalf("took %q", evs)
	}
	if evs := h.take(s); len(evs) != 0 {
		t.Fatalf("took %d events again", len(evs))
	}
	// A late subscriber starts with every panel's latest state.
	late := h.subscribe()
	if evs := h.take(late); len(evs) != 2 {
		t.Fatalf("late subscriber took %d events", len(evs))
	}
	h.unsubscribe(s)
	h.unsubscribe(late)
	if h.count() != 0 {
		t.Fatalf("%d subscribers left", h.count())
	}
}

func view(seq uint64, tracks ...track.TrackView) *track.CameraView {
	return &track.CameraView{LastSeq: seq, Block: "B", Row: "B-R1", Tracks: tracks,
		Dets: []track.Det{{X1: 10, Y1: 10, X2: 20, Y2: 20, Score: 0.9}}}
}

func tv(id uint64, x float64) track.TrackView {
	return track.TrackView{ID: id, X1: x, Y1: 10, X2: x + 10, Y2: 20, Confirmed: true}
}

func panels(t *testing.T, h *hub, s *subscriber) []cameraPanel {
	t.Helper()
	var out []cameraPanel
	for _, ev := range h.take(s) {
		var p cameraPanel
		if err := json.Unmarshal(ev.data, &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// TestLivePairsFramesWithStates: a frame is shown with the track state of
// the same frame, whichever arrives first; frames passed by the tracker are
// dropped from the buffer; a counted object marks its track's trail.
func TestLivePairsFramesWithStates(t *testing.T) {
	h := newHub()
	s := h.subscribe()
	l := newLive(h, 0) // no rate limit
	jpeg := []byte("jpeg-5")

	// The frame first (the feed leads the tracker), then its state.
	l.frame("a", 5, 64, 32, jpeg)
	l.frame("a", 6, 64, 32, []byte("jpeg-6"))
	if b := l.bufferedBytes(); b != int64(len(jpeg)+6) {
		t.Fatalf("buffered %d bytes", b)
	}
	if ps := panels(t, h, s); len(ps) != 0 {
		t.Fatalf("published %d panels before any state", len(ps))
	}
	v5 := view(5, tv(1, 10))
	v5.Lines = []track.LineView{{Line: zones.Line{Name: "belt", A: zones.Point{X: 32}, B: zones.Point{X: 32, Y: 32}}, In: map[string]uint64{"apple": 3}}}
	l.trackState("a", v5)
	ps := panels(t, h, s)
	if len(ps) != 1 || ps[0].Seq != 5 || len(ps[0].Tracks) != 1 || len(ps[0].Dets) != 1 || ps[0].W != 64 {
		t.Fatalf("panels %+v", ps)
	}
	if ls := ps[0].Lines; len(ls) != 1 || ls[0].Name != "belt" || ls[0].B.Y != 32 || ls[0].In["apple"] != 3 {
		t.Fatalf("count lines on the panel: %+v", ls)
	}
	if img, ok := l.image("a", 5); !ok || string(img) != "jpeg-5" {
		t.Fatalf("frame 5 not served: %q", img)
	}
	if b := l.bufferedBytes(); b != 6 {
		t.Fatalf("frame 5 still buffered: %d bytes", b)
	}

	// The state first (the feed lags), then a frame it has passed, then
	// the frame itself.
	l.trackState("a", view(6, tv(1, 14)))
	l.trackState("a", view(8, tv(1, 18), tv(2, 40)))
	l.frame("a", 7, 64, 32, []byte("jpeg-7")) // no state of its own kept: dropped
	if b := l.bufferedBytes(); b != 0 {
		t.Fatalf("buffered %d bytes after the tracker passed every frame", b)
	}
	l.object("a", "a-1")
	l.frame("a", 8, 64, 32, []byte("jpeg-8"))
	ps = panels(t, h, s)
	last := ps[len(ps)-1]
	if last.Seq != 8 || len(last.Tracks) != 2 {
		t.Fatalf("latest panel %+v", last)
	}
	var trail panelTrail
	for _, tr := range last.Trails {
		if tr.ID == 1 {
			trail = tr
		}
	}
	if !trail.Counted || len(trail.Points) != 3 || trail.Points[2][0] != 23 {
		t.Fatalf("track 1's trail %+v", trail)
	}
}

// TestLiveRateLimits: a camera publishes at most maxFPS panels a second;
// the newest panel that waited goes out at the next flush.
func TestLiveRateLimits(t *testing.T) {
	h := newHub()
	s := h.subscribe()
	l := newLive(h, 2)
	for seq := uint64(1); seq <= 10; seq++ {
		l.frame("a", seq, 8, 8, []byte{byte(seq)})
		l.trackState("a", view(seq))
	}
	if ps := panels(t, h, s); len(ps) != 1 || ps[0].Seq != 1 {
		t.Fatalf("published %+v at once", ps)
	}
	l.flush(time.Now().Add(time.Second))
	if ps := panels(t, h, s); len(ps) != 1 || ps[0].Seq != 10 {
		t.Fatalf("flush published %+v, want frame 10", ps)
	}
}

// TestLiveEvicts: frames whose state never comes are dropped oldest first.
func TestLiveEvicts(t *testing.T) {
	l := newLive(newHub(), 0)
	for seq := uint64(1); seq <= 10; seq++ {
		l.frame("a", seq, 8, 8, make([]byte, 100))
	}
	l.evict(300)
	if b := l.bufferedBytes(); b != 300 {
		t.Fatalf("buffered %d bytes", b)
	}
	l.trackState("a", view(8))
	if _, ok := l.image("a", 8); !ok {
		t.Fatal("the newest frames were evicted")
	}
}

// TestServerStreamsEvents serves the page and its event stream over HTTP: a
// panel published reaches a connected client as a server-sent event, its
// frame is served, and the page's files are embedded.
func TestServerStreamsEvents(t *testing.T) {
	srv, err := New(Config{Addr: "127.0.0.1:0", MaxFPS: 100})
	if err != nil {
		t.Fatal(err)
	}
	run := stagetest.Start(context.Background(), srv)
	defer func() {
		if err := run.Stop(); err != nil {
			t.Error(err)
		}
	}()
	base := "http://" + srv.Addr()
	for _, p := range []string{"/", "/app.js", "/style.css"} {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(body) < 100 {
			t.Fatalf("GET %s: %d, %d bytes", p, resp.StatusCode, len(body))
		}
	}
	resp, err := http.Get(base + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events served as %q", ct)
	}
	// Wait for the subscription before publishing: the stream then carries
	// the panel however the two race.
	for srv.hub.count() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	srv.live.frame("cam-1", 3, 16, 9, []byte("JPEG"))
	srv.live.trackState("cam-1", view(3, tv(4, 2)))
	r := bufio.NewReader(resp.Body)
	var name, data string
	for data == "" {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimSpace(line[7:])
		case strings.HasPrefix(line, "data: ") && name == "camera":
			data = line[6:]
		}
	}
	var p cameraPanel
	if err := json.Unmarshal([]byte(data), &p); err != nil || p.Camera != "cam-1" || p.Seq != 3 || len(p.Tracks) != 1 {
		t.Fatalf("event %q (%v)", data, err)
	}
	fr, err := http.Get(base + "/frame/cam-1/3")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(fr.Body)
	fr.Body.Close()
	if fr.StatusCode != 200 || string(body) != "JPEG" || fr.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("frame: %d %q", fr.StatusCode, body)
	}
	if fr, err := http.Get(base + "/api/blocks/B"); err != nil || fr.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("API without a pipeline: %v %v", fr.StatusCode, err)
	}
}

// TestLiveBoundsEventsFor24Cameras: 24 cameras at full speed reach a page
// as at most one panel per camera per 1/maxFPS, each camera's newest.
func TestLiveBoundsEventsFor24Cameras(t *testing.T) {
	h := newHub()
	s := h.subscribe()
	l := newLive(h, 5)
	start := time.Now()
	l.now = func() time.Time { return start } // one burst, however slow the machine
	for seq := uint64(1); seq <= 200; seq++ {
		for c := range 24 {
			cam := fmt.Sprintf("cam-%02d", c)
			l.frame(cam, seq, 8, 8, []byte{1})
			l.trackState(cam, view(seq, tv(seq, 1)))
		}
	}
	first := panels(t, h, s)
	l.flush(start.Add(250 * time.Millisecond))
	second := panels(t, h, s)
	if len(first) != 24 || len(second) != 24 {
		t.Fatalf("%d then %d panels for 24 cameras", len(first), len(second))
	}
	for _, p := range second {
		if p.Seq != 200 {
			t.Fatalf("camera %s flushed frame %d, want its newest (200)", p.Camera, p.Seq)
		}
	}
	if b := l.bufferedBytes(); b != 0 {
		t.Fatalf("%d bytes of frames left buffered", b)
	}
}
