package fleet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/ingest"
	"github.com/cropstream/cropstream/topology"
)

// DefaultLiveFPS numbers the frames of a live source that states no rate
// and has no fps in its record: sequences advance about one per frame at
// this rate (see tracked.Next).
const DefaultLiveFPS = 10

// fpsWindow is how far back a reader's frames/s is measured.
const fpsWindow = 5 * time.Second

// configError is a failure no reconnect can fix: the camera's record asks
// for something this instance cannot do.
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

// reader reads one camera until its context ends, reconnecting forever.
type reader struct {
	cam       Camera
	partition int32
	conn      *broker.Conn
	top       *topology.Topology
	cfg       *Config
	changed   func() // a status changed: report now rather than at the next tick

	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	st      State
	samples []sample // frames read at recent reports, for FPS
	lastSeq uint64   // the last sequence given to a live frame
	conn0   int64    // frames at the start of the current connection
}

type sample struct {
	at     time.Time
	frames int64
}

func newReader(cam Camera, partition int32, resume State, conn *broker.Conn, top *topology.Topology, cfg *Config, changed func()) *reader {
	r := &reader{cam: cam, partition: partition, conn: conn, top: top, cfg: cfg, changed: changed, done: make(chan struct{})}
	r.st = State{Camera: cam.ID, Generation: cam.AddedUnixNs, Instance: cfg.Instance, Status: StatusConnecting}
	if resume.Generation == cam.AddedUnixNs {
		r.st.Position = resume.Position
	}
	return r
}

// start runs the reader in its own goroutine; stop ends it.
func (r *reader) start(ctx context.Context) {
	ctx, r.cancel = context.WithCancel(ctx)
	go func() {
		defer close(r.done)
		r.run(ctx)
	}()
}

// stop cancels the reader and waits until its frames are flushed.
func (r *reader) stop() {
	r.cancel()
	<-r.done
}

func (r *reader) run(ctx context.Context) {
	// A client per camera: its buffer bounds what one camera holds in memory
	// while the broker is slow, and its Flush (at every disconnect and at
	// removal) waits for this camera's frames only.
	cl, err := r.conn.Client(kgo.MaxBufferedBytes(r.cfg.MaxBufferedBytes),
		// JPEG does not compress: compressing costs CPU and a compressor's
		// buffers per client for nothing.
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		r.failed(fmt.Errorf("camera %s: %w", r.cam.ID, err))
		<-ctx.Done()
		return
	}
	defer cl.Close()
	b := r.cfg.Backoff
	for {
		err := r.connection(ctx, cl)
		if ctx.Err() != nil {
			return
		}
		var ce *configError
		switch {
		case err == nil:
			r.set(func(s *State) { s.Status = StatusEnded })
			<-ctx.Done()
			return
		case errors.As(err, &ce):
			r.failed(err)
			<-ctx.Done()
			return
		}
		r.mu.Lock()
		delivered := r.st.Frames > r.conn0
		r.mu.Unlock()
		if delivered {
			b.Reset()
		}
		r.reconnecting(err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(b.Next()):
		}
	}
}

// connection opens the source once and ingests it until it fails or ends.
// It returns nil when a finite source ended.
func (r *reader) connection(ctx context.Context, cl *kgo.Client) error {
	src, err := r.open(ctx)
	if err != nil {
		return err
	}
	defer src.Close()
	cfg := ingest.Config{
		CameraID: r.cam.ID, FieldID: r.cam.Field, BlockID: r.cam.Block, RowID: r.cam.Row,
		SampleFPS: r.cam.FPS, JPEGQuality: r.cfg.JPEGQuality, Lane: topology.Lane(r.cam.Lane),
		// A file read again (its camera moved to another instance) keeps its
		// capture times, hence its frame ids.
		CaptureStart: time.Unix(0, r.cam.AddedUnixNs),
	}
	// STREAM (issue #17): every connection is one Ingester.Run, and a Run is
	// the unit ingest names a stream by (ingest.Config.StreamID, default one
	// id per Run), so a reconnect opens a new stream for the tracker. This
	// is the one place a fleet reader would set a stream id of its own.
	in, err := ingest.New(cfg, cl, r.top)
	if err != nil {
		return &configError{fmt.Errorf("camera %s: %w", r.cam.ID, err)}
	}
	r.mu.Lock()
	r.conn0 = r.st.Frames
	r.mu.Unlock()
	t := &tracked{Source: src, r: r}
	if info := src.Info(); info.Live && r.cam.FPS == 0 {
		t.rate = info.FPS
		if t.rate <= 0 {
			t.rate = DefaultLiveFPS
		}
	}
	_, err = in.Run(ctx, t)
	return err
}

func (r *reader) open(ctx context.Context) (ingest.Source, error) {
	maxBytes := r.top.Config.MaxFrameBytes
	switch r.cam.Kind {
	case KindMJPEG:
		return ingest.OpenMJPEG(ctx, ingest.MJPEGConfig{URL: r.cam.URL, MaxFrameBytes: maxBytes, StallTimeout: r.cfg.StallTimeout})
	case KindRTSP:
		return ingest.OpenStream(ctx, r.cam.URL, r.cam.Transport)
	case KindOpenCV:
		return ingest.OpenVideo(ctx, r.cam.URL)
	}
	st, err := os.Stat(r.cam.URL)
	if err != nil {
		return nil, fmt.Errorf("camera %s: %w", r.cam.ID, err)
	}
	if st.IsDir() {
		r.mu.Lock()
		after := r.st.Position
		r.mu.Unlock()
		return ingest.OpenGrowingFolder(r.cam.URL, after, r.cfg.Settle, maxBytes)
	}
	return ingest.OpenVideo(ctx, r.cam.URL)
}

// set changes the state under the lock and reports a change of status.
func (r *reader) set(f func(*State)) {
	r.mu.Lock()
	before := r.st.Status
	f(&r.st)
	changed := r.st.Status != before
	r.mu.Unlock()
	if changed {
		r.changed()
	}
}

func (r *reader) reconnecting(err error) {
	now := time.Now()
	r.set(func(s *State) {
		if s.Status != StatusReconnecting {
			s.ReconnectingSince = now
		}
		s.Status, s.ConnectedSince = StatusReconnecting, time.Time{}
		s.LastError, s.LastErrorAt = err.Error(), now
		s.Reconnects++
	})
}

func (r *reader) failed(err error) {
	r.set(func(s *State) {
		s.Status, s.LastError, s.LastErrorAt = StatusFailed, err.Error(), time.Now()
	})
}

// report is the state to publish now, with frames/s over fpsWindow.
func (r *reader) report(now time.Time) State {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples = append(r.samples, sample{now, r.st.Frames})
	for len(r.samples) > 2 && now.Sub(r.samples[1].at) >= fpsWindow {
		r.samples = r.samples[1:]
	}
	if first := r.samples[0]; now.Sub(first.at) > 0 {
		r.st.FPS = float64(r.st.Frames-first.frames) / now.Sub(first.at).Seconds()
	}
	if r.st.Status != StatusConnected {
		r.st.FPS = 0
	}
	r.st.Updated = now
	return r.st
}

// peek is the state as last changed, for metrics.
func (r *reader) peek() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st
}

// tracked counts what a source delivers into the reader's state and numbers
// live frames.
type tracked struct {
	ingest.Source
	r *reader
	// rate, when set, numbers live frames: sequence floor(capture time x
	// rate), at least one above the last, so sequences advance about one per
	// frame (the tracker's motion model steps by them), stay increasing
	// across reconnects and ingest restarts, and no frame is sampled out by
	// jitter (two frames in one 1/rate slot both count).
	rate float64
}

func (t *tracked) Next(ctx context.Context) (ingest.Captured, error) {
	c, err := t.Source.Next(ctx)
	r := t.r
	var bad *ingest.BadFrameError
	switch {
	case errors.As(err, &bad):
		r.set(func(s *State) {
			s.DeadLetters++
			s.LastError, s.LastErrorAt = bad.Error(), time.Now()
		})
		return c, err
	case err != nil:
		return c, err
	}
	at := c.CaptureTime
	if at.IsZero() {
		// A file's frame: where the ingester will stamp it.
		at = time.Unix(0, r.cam.AddedUnixNs).Add(c.Offset)
	}
	r.mu.Lock()
	if t.rate > 0 {
		seq := max(uint64(float64(at.UnixNano())/1e9*t.rate), r.lastSeq+1)
		r.lastSeq = seq
		c.Sequence = &seq
	}
	if p, ok := t.Source.(interface{ Position() string }); ok {
		r.st.Position = p.Position()
	}
	r.st.Frames++
	r.st.LastFrame = at
	first := r.st.Status != StatusConnected
	if first {
		r.st.Status, r.st.ConnectedSince, r.st.ReconnectingSince = StatusConnected, time.Now(), time.Time{}
	}
	r.mu.Unlock()
	if first {
		r.changed()
	}
	return c, nil
}
