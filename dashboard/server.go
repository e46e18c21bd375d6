package dashboard

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/pipeline"
	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/schema"
)

//go:embed assets
var assets embed.FS

// Server serves the page, its event stream, frames and the query API.
type Server struct {
	cfg  Config
	hub  *hub
	live *live
	ln   net.Listener

	mu     sync.Mutex
	src    *attached
	yields map[string]*schema.YieldEstimate
	// recent are the latest raw track states of each camera (not decoded:
	// that costs while no page is open), so that a page opened later, or
	// the last panels kept after the pipeline stops, show each camera's
	// last frames, also of a camera that stopped.
	recent map[string][][]byte
}

// Source is what a page shows: the broker's topics and tables, and the
// counters of the stages running in this process (Pipeline and Ingested may
// be nil).
type Source struct {
	Conn     *broker.Conn
	Pipeline *pipeline.Pipeline
	// Ingested counts frames this process produced (a scenario run).
	Ingested *atomic.Int64
}

type attached struct {
	Source
	views *views
	// at and start are when it was attached and the counters then: the
	// first rates a page sees are since then.
	at    time.Time
	start map[string]int64
}

func (a *attached) firstRates() *rates {
	return &rates{at: a.at, prev: a.start}
}

// New listens on cfg.Addr, so that a busy port fails before the pipeline
// starts.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	h := newHub()
	return &Server{cfg: cfg, hub: h, live: newLive(h, cfg.MaxFPS), ln: ln, yields: map[string]*schema.YieldEstimate{},
		recent: map[string][][]byte{}}, nil
}

// Addr is the address served, with the port chosen when Config.Addr asked
// for port 0.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Run serves until ctx ends, then closes the event streams and returns.
func (s *Server) Run(ctx context.Context) error {
	stop := make(chan struct{})
	srv := &http.Server{Handler: s.handler(stop), ReadHeaderTimeout: 5 * time.Second}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("dashboard: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		close(stop)
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	return g.Wait()
}

func (s *Server) handler(stop <-chan struct{}) http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets")
	mux.Handle("GET /", http.FileServerFS(static))
	mux.HandleFunc("GET /events", s.hub.serveEvents(stop))
	mux.HandleFunc("GET /frame/{camera}/{seq}", s.serveFrame)
	s.api(mux)
	return mux
}

func (s *Server) serveFrame(w http.ResponseWriter, r *http.Request) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil {
		http.Error(w, "bad sequence", http.StatusBadRequest)
		return
	}
	img, ok := s.live.image(r.PathValue("camera"), seq)
	if !ok {
		http.Error(w, "frame no longer held", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "private, max-age=60, immutable")
	w.Write(img)
}

// Attach starts reading src: the table views (always, the API needs them),
// and while a page is open the feed and the panels of blocks and stages.
// detach stops all that and publishes the panels one last time; the page
// keeps showing them while the server runs.
func (s *Server) Attach(ctx context.Context, src Source) (detach func(), err error) {
	a := &attached{Source: src, at: time.Now(), start: map[string]int64{}}
	for _, c := range counters(a) {
		a.start[c.name] = c.n
	}
	a.views, err = newViews(src.Conn, s.onTrack, nil)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.src = a
	s.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error { return a.views.run(gctx) })
		g.Go(func() error { s.followViewers(gctx, a); return nil })
		g.Go(func() error { s.panels(gctx, a); return nil })
		g.Go(func() error { s.flushCameras(gctx); return nil })
		// The page must never take the pipeline down: its failures are logged.
		if err := g.Wait(); err != nil && ctx.Err() == nil {
			slog.Warn("dashboard stopped reading the pipeline", "err", err)
		}
	}()
	return func() {
		s.publishBlocks(a)
		s.publishStages(a, &rates{})
		cancel()
		<-done
		if s.cfg.KeepLast {
			s.keepLast(a)
		}
		s.mu.Lock()
		s.src = nil
		s.mu.Unlock()
	}, nil
}

// onTrack decodes a camera's state for the page, only while one is open:
// the track table changes with every frame.
func (s *Server) onTrack(camera string, value []byte) {
	s.mu.Lock()
	r := append(s.recent[camera], value)
	if len(r) > keptStates {
		r = r[len(r)-keptStates:]
	}
	s.recent[camera] = r
	s.mu.Unlock()
	if s.hub.count() == 0 {
		return
	}
	v, err := track.DecodeState(value, s.cfg.Track)
	if err != nil {
		return
	}
	s.live.trackState(camera, v)
}

// followViewers runs the feed while at least one page is open; it stops a
// few seconds after the last closes (a reload should not restart it).
func (s *Server) followViewers(ctx context.Context, a *attached) {
	var (
		cancel  context.CancelFunc
		done    chan struct{}
		idle    *time.Timer
		idleC   <-chan time.Time
		viewers = s.hub.count()
	)
	stopFeed := func() {
		if cancel != nil {
			cancel()
			<-done
			cancel = nil
		}
	}
	defer stopFeed()
	for {
		if viewers > 0 && cancel == nil {
			var fctx context.Context
			fctx, cancel = context.WithCancel(ctx)
			done = make(chan struct{})
			s.seedCameras()
			// The panels at once, not at the next tick.
			s.publishBlocks(a)
			s.publishStages(a, a.firstRates())
			f := &feed{conn: a.Conn, live: s.live, yields: s.onYield, budget: s.cfg.FrameBudget}
			go func() {
				defer close(done)
				// Frames in hand will not be paired now.
				defer s.live.reset()
				if err := f.run(fctx); err != nil {
					slog.Warn("dashboard feed stopped", "err", err)
				}
			}()
		}
		if viewers == 0 && cancel != nil && idle == nil {
			idle = time.NewTimer(5 * time.Second)
			idleC = idle.C
		}
		if viewers > 0 && idle != nil {
			idle.Stop()
			idle, idleC = nil, nil
		}
		select {
		case <-ctx.Done():
			return
		case viewers = <-s.hub.viewers:
		case <-idleC:
			idle, idleC = nil, nil
			stopFeed()
		}
	}
}

func (s *Server) onYield(y *schema.YieldEstimate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.yields[y.BlockId]; old == nil || y.EmittedUnixNs >= old.EmittedUnixNs {
		s.yields[y.BlockId] = y
	}
}

// panels refreshes the blocks and stages panels every second while a page
// is open.
func (s *Server) panels(ctx context.Context, a *attached) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	r := a.firstRates()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if s.hub.count() == 0 {
			continue
		}
		s.publishBlocks(a)
		s.publishStages(a, r)
	}
}

// flushCameras sends the camera panels that waited for their turn.
func (s *Server) flushCameras(ctx context.Context) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / s.cfg.MaxFPS / 2))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			s.live.flush(now)
		}
	}
}

// seedCameras hands the live panels the states of each camera that came
// while no page was open, for the feed's first frames to pair with.
func (s *Server) seedCameras() {
	s.mu.Lock()
	recent := s.recent
	s.recent = map[string][][]byte{}
	s.mu.Unlock()
	for cam, raws := range recent {
		for _, raw := range raws {
			if v, err := track.DecodeState(raw, s.cfg.Track); err == nil {
				s.live.trackState(cam, v)
			}
		}
	}
}

// keepLast reads each camera's latest frames and publishes them with their
// states, for pages opened after the pipeline stops (a page open before has
// them already). It gives up after a few seconds.
func (s *Server) keepLast(a *attached) {
	s.seedCameras()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	f := &feed{conn: a.Conn, live: s.live, yields: s.onYield, budget: s.cfg.FrameBudget, enough: s.live.shown}
	if err := f.run(ctx); err != nil {
		slog.Debug("dashboard: last frames not read", "err", err)
	}
	s.live.flush(time.Now().Add(time.Hour))
	s.publishBlocks(a)
}
