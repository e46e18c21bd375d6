package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/topology"
)

// Config configures a Service.
type Config struct {
	// Instance names this instance in the states it reports; default
	// hostname-pid.
	Instance string
	// SessionTimeout is the registry group's: how long after an instance
	// dies its cameras move to another. Default 6s, the least brokers accept
	// by default (group.min.session.timeout.ms).
	SessionTimeout time.Duration
	// ReportEvery is how often each reader's state is published; default 1s.
	// A change of status is published at once.
	ReportEvery time.Duration
	// Backoff between reconnects (defaults: from 500ms, capped at 30s).
	Backoff Backoff
	// StallTimeout ends an MJPEG connection that delivers no frame for this
	// long; default ingest.DefaultStallTimeout (5s). RTSP stalls are bounded
	// by FFmpeg's own timeouts (OPENCV_FFMPEG_CAPTURE_OPTIONS, 5s).
	StallTimeout time.Duration
	// Settle is how long an uploaded file must be unchanged before a growing
	// folder reads it; default ingest.DefaultSettle (1s).
	Settle time.Duration
	// JPEGQuality of frames the service encodes (RTSP, video); default 90.
	JPEGQuality int
	// MaxBufferedBytes bounds the frames one camera holds while the broker
	// has not acknowledged them; its reader waits (and its source backs up)
	// beyond. Default, and least, twice the topology's record limit.
	MaxBufferedBytes int
}

// Service runs the readers of the cameras whose registry partitions this
// instance holds, and keeps a view of the whole fleet for its API.
type Service struct {
	cfg  Config
	conn *broker.Conn
	top  *topology.Topology

	viewMu sync.RWMutex
	view   *View
	ready  chan struct{} // closed once the view has caught up

	mu      sync.Mutex
	owned   map[int32]bool
	readers map[string]*reader
	runCtx  context.Context
	kick    chan struct{}
}

func (c Config) withDefaults(top *topology.Topology) Config {
	if c.Instance == "" {
		host, _ := os.Hostname()
		c.Instance = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = 6 * time.Second
	}
	if c.ReportEvery == 0 {
		c.ReportEvery = time.Second
	}
	if c.JPEGQuality == 0 {
		c.JPEGQuality = 90
	}
	if c.MaxBufferedBytes == 0 {
		c.MaxBufferedBytes = 2 * top.MaxRecordBytes()
	}
	return c
}

// Validate checks a config whose zero fields took their defaults: the
// session timeout is at least a second, the report interval positive, the
// backoff's first wait no longer than its cap, the JPEG quality 1..100, and
// a camera's buffer holds at least two records of the topology's limit (a
// producer refuses a record larger than its buffer).
func (c Config) Validate(top *topology.Topology) error {
	var errs []error
	if c.SessionTimeout < time.Second {
		errs = append(errs, fmt.Errorf("session timeout %s, want >= 1s", c.SessionTimeout))
	}
	if c.ReportEvery <= 0 {
		errs = append(errs, fmt.Errorf("report interval %s, want > 0", c.ReportEvery))
	}
	if c.Backoff.Initial < 0 || c.Backoff.Max < 0 || (c.Backoff.Max > 0 && c.Backoff.Max < c.Backoff.Initial) {
		errs = append(errs, fmt.Errorf("backoff from %s capped at %s, want 0 <= first <= cap", c.Backoff.Initial, c.Backoff.Max))
	}
	if c.JPEGQuality < 1 || c.JPEGQuality > 100 {
		errs = append(errs, fmt.Errorf("jpeg quality %d, want 1..100", c.JPEGQuality))
	}
	if c.MaxBufferedBytes < 2*top.MaxRecordBytes() {
		errs = append(errs, fmt.Errorf("buffer per camera %d bytes, want >= %d (two records at the topology's limit)", c.MaxBufferedBytes, 2*top.MaxRecordBytes()))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	return nil
}

// New checks cfg; Run starts the service.
func New(cfg Config, conn *broker.Conn, top *topology.Topology) (*Service, error) {
	cfg = cfg.withDefaults(top)
	if err := cfg.Validate(top); err != nil {
		return nil, err
	}
	cfg.Backoff.defaults()
	return &Service{cfg: cfg, conn: conn, top: top, view: NewView(), ready: make(chan struct{}),
		owned: map[int32]bool{}, readers: map[string]*reader{}, kick: make(chan struct{}, 1)}, nil
}

// Instance is the name this instance reports under.
func (s *Service) Instance() string { return s.cfg.Instance }

// Run serves until ctx ends, then stops every reader (each flushes the
// frames it read) and reports them stopped. Its goroutines: the view's
// consumer, the registry group's consumer, the state reporter, and one per
// camera held.
func (s *Service) Run(ctx context.Context) error {
	rep, err := s.conn.Client()
	if err != nil {
		return err
	}
	defer rep.Close()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.watch(gctx) })
	// Readers need the view first: a growing folder resumes where the
	// state says, and an ended file is not read again.
	select {
	case <-s.ready:
	case <-gctx.Done():
		return g.Wait()
	}
	s.mu.Lock()
	s.runCtx = gctx
	s.mu.Unlock()
	g.Go(func() error { return s.consume(gctx, rep) })
	g.Go(func() error { return s.reportLoop(gctx, rep) })
	err = g.Wait()
	// Whatever is still held (the group client was closed without a
	// revoke, or Run failed): stop it, so no reader outlives Run.
	s.stopReaders(context.WithoutCancel(ctx), rep, s.takeAll(), StatusStopped)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// consume is the registry group: partitions assigned start their cameras'
// readers as the records arrive; partitions revoked or lost stop them.
func (s *Service) consume(ctx context.Context, rep *kgo.Client) error {
	cl, err := s.conn.Client(
		kgo.ConsumerGroup(string(topology.Ingest)),
		kgo.ConsumeTopics(string(topology.Cameras)),
		// Every assignment reads its partitions whole, which is the registry
		// of those cameras; commits only keep the group's lag honest.
		kgo.AdjustFetchOffsetsFn(func(_ context.Context, m map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
			for _, ps := range m {
				for p := range ps {
					ps[p] = kgo.NewOffset().AtStart().WithEpoch(-1)
				}
			}
			return m, nil
		}),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(s.cfg.SessionTimeout),
		kgo.HeartbeatInterval(s.cfg.SessionTimeout/5),
		kgo.RebalanceTimeout(2*s.cfg.SessionTimeout),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			s.mu.Lock()
			for _, p := range m[string(topology.Cameras)] {
				s.owned[p] = true
			}
			s.mu.Unlock()
			slog.Info("camera partitions assigned", "instance", s.cfg.Instance, "partitions", m[string(topology.Cameras)])
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { s.release(rep, m, "revoked") }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { s.release(rep, m, "lost") }),
	)
	if err != nil {
		return err
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var fatal error
		fs.EachError(func(t string, p int32, err error) {
			if errors.Is(err, kerr.InvalidSessionTimeout) {
				fatal = fmt.Errorf("fleet: join group %s with session timeout %s: %w", topology.Ingest, s.cfg.SessionTimeout, err)
			}
			slog.Warn("camera registry fetch", "topic", t, "partition", p, "err", err)
		})
		if fatal != nil {
			return fatal
		}
		fs.EachRecord(func(r *kgo.Record) { s.apply(ctx, rep, r) })
	}
}

// apply starts, restarts or stops the reader of the record's camera, if
// this instance holds its partition.
func (s *Service) apply(ctx context.Context, rep *kgo.Client, r *kgo.Record) {
	id := string(r.Key)
	var cam Camera
	if r.Value != nil {
		var err error
		if cam, err = DecodeCamera(r.Value); err != nil {
			slog.Warn("camera registry: record skipped", "key", id, "partition", r.Partition, "offset", r.Offset, "err", err)
			return
		}
		if cam.ID != id {
			slog.Warn("camera registry: record skipped", "key", id, "partition", r.Partition, "offset", r.Offset, "err", "key is not the camera id "+cam.ID)
			return
		}
	}
	// A camera's records (its tombstone too) must share one partition, or
	// two instances could each read it and a removal miss it.
	if want := broker.PartitionOf(r.Key, s.top.Topic(topology.Cameras).Partitions); r.Partition != want {
		slog.Warn("camera registry: record skipped", "key", id, "partition", r.Partition, "offset", r.Offset,
			"err", fmt.Sprintf("on partition %d, its key belongs on %d (see docs/producers.md)", r.Partition, want))
		return
	}
	s.mu.Lock()
	if !s.owned[r.Partition] {
		s.mu.Unlock()
		return
	}
	old := s.readers[id]
	if old != nil && r.Value != nil && old.cam.Same(cam) {
		s.mu.Unlock()
		return
	}
	delete(s.readers, id)
	s.mu.Unlock()
	if old != nil {
		status := StatusStopped
		if r.Value == nil {
			status = "" // removed: its state goes too
		}
		s.stopReaders(ctx, rep, []*reader{old}, status)
	}
	if r.Value == nil {
		return
	}
	s.viewMu.RLock()
	prev := s.view.States[id]
	s.viewMu.RUnlock()
	if prev.Generation == cam.AddedUnixNs && prev.Status == StatusEnded {
		return // a video file read to its end before: not again
	}
	rd := newReader(cam, r.Partition, prev, s.conn, s.top, &s.cfg, s.wake)
	s.mu.Lock()
	if !s.owned[r.Partition] {
		s.mu.Unlock()
		return
	}
	s.readers[id] = rd
	rd.start(s.runCtx)
	s.mu.Unlock()
	slog.Info("camera reader started", "camera", id, "kind", cam.Kind, "instance", s.cfg.Instance)
	s.wake()
}

// release stops the readers of partitions this instance gave up.
func (s *Service) release(rep *kgo.Client, m map[string][]int32, why string) {
	parts := m[string(topology.Cameras)]
	s.mu.Lock()
	gone := map[int32]bool{}
	for _, p := range parts {
		delete(s.owned, p)
		gone[p] = true
	}
	var stop []*reader
	for id, rd := range s.readers {
		if gone[rd.partition] {
			stop = append(stop, rd)
			delete(s.readers, id)
		}
	}
	s.mu.Unlock()
	slog.Info("camera partitions "+why, "instance", s.cfg.Instance, "partitions", parts, "cameras", len(stop))
	s.stopReaders(context.Background(), rep, stop, StatusStopped)
}

func (s *Service) takeAll() []*reader {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []*reader
	for id, rd := range s.readers {
		all = append(all, rd)
		delete(s.readers, id)
	}
	return all
}

// stopReaders stops readers together (each flushes its frames) and then
// publishes their final state: status, or a tombstone when status is "".
func (s *Service) stopReaders(ctx context.Context, rep *kgo.Client, rds []*reader, status string) {
	var wg sync.WaitGroup
	for _, rd := range rds {
		wg.Go(rd.stop)
	}
	wg.Wait()
	if len(rds) == 0 {
		return
	}
	var recs []*kgo.Record
	now := time.Now()
	for _, rd := range rds {
		rec := &kgo.Record{Topic: string(topology.CameraState), Key: []byte(rd.cam.ID)}
		if status != "" {
			st := rd.report(now)
			if st.Status != StatusEnded && st.Status != StatusFailed {
				st.Status, st.FPS = status, 0
			}
			val, err := EncodeState(st)
			if err != nil {
				continue
			}
			rec.Value = val
		}
		recs = append(recs, rec)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rep.ProduceSync(pctx, recs...).FirstErr(); err != nil {
		slog.Warn("camera state: final report", "err", err)
	}
	for _, rd := range rds {
		slog.Info("camera reader stopped", "camera", rd.cam.ID, "instance", s.cfg.Instance, "removed", status == "")
	}
}

// wake asks the reporter for a report now.
func (s *Service) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// reportLoop publishes every held camera's state each ReportEvery, and at
// once after a change of status.
func (s *Service) reportLoop(ctx context.Context, rep *kgo.Client) error {
	t := time.NewTicker(s.cfg.ReportEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-s.kick:
		}
		s.mu.Lock()
		now := time.Now()
		recs := make([]*kgo.Record, 0, len(s.readers))
		for id, rd := range s.readers {
			val, err := EncodeState(rd.report(now))
			if err != nil {
				continue
			}
			recs = append(recs, &kgo.Record{Topic: string(topology.CameraState), Key: []byte(id), Value: val})
		}
		s.mu.Unlock()
		if len(recs) == 0 {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, s.cfg.ReportEvery*5)
		err := rep.ProduceSync(pctx, recs...).FirstErr()
		cancel()
		if err != nil && ctx.Err() == nil {
			slog.Warn("camera state: report", "err", err)
		}
	}
}

// watch follows the registry and the states whole, for the API and for
// readers taking a camera over; ready closes once it has read up to the
// end offsets it found at start.
func (s *Service) watch(ctx context.Context) error {
	apply := func(r *kgo.Record) {
		s.viewMu.Lock()
		var err error
		if r.Topic == string(topology.Cameras) {
			err = s.view.ApplyCamera(r.Key, r.Value)
		} else {
			err = s.view.ApplyState(r.Key, r.Value)
		}
		s.viewMu.Unlock()
		if err != nil {
			slog.Debug("camera view: record skipped", "topic", r.Topic, "offset", r.Offset, "err", err)
		}
	}
	var once sync.Once
	caughtUp := func() { once.Do(func() { close(s.ready) }) }
	if err := broker.Follow(ctx, s.conn, apply, caughtUp, topology.Cameras, topology.CameraState); err != nil {
		return err
	}
	return ctx.Err()
}

// Entries lists the fleet as this instance's view has it.
func (s *Service) Entries() []Entry {
	s.viewMu.RLock()
	defer s.viewMu.RUnlock()
	return s.view.Entries(time.Now())
}

// Inputs are the topics the service consumes in its group.
func (*Service) Inputs() []topology.Topic { return []topology.Topic{topology.Cameras} }

// Outputs are the topics it produces: frames and dead letters, states, and
// cameras added or removed through its API.
func (*Service) Outputs() []topology.Topic {
	return []topology.Topic{topology.FramesLive, topology.Frames, topology.DLQ, topology.CameraState, topology.Cameras}
}

// Lookups are the compacted topics it reads whole for its view.
func (*Service) Lookups() []topology.Topic {
	return []topology.Topic{topology.Cameras, topology.CameraState}
}

// Held lists the cameras this instance reads.
func (s *Service) Held() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.readers))
	for id := range s.readers {
		ids = append(ids, id)
	}
	return ids
}
