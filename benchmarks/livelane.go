package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/ingest"
	"github.com/cropstream/cropstream/processors/detect"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// LaneConfig is one live-lane measurement.
type LaneConfig struct {
	// LiveCameras send frames at LiveFPS each, captured as they are sent.
	LiveCameras int
	// LiveFPS is each live camera's rate. Default 10.
	LiveFPS float64
	// Backfill, when true, keeps recorded video of BackfillCameras cameras
	// waiting for the stage throughout, so that it never runs out of work.
	Backfill        bool
	BackfillCameras int // default 8
	// Warmup runs before the window in which everything is counted
	// (default 3s), Measure is the window (default 20s).
	Warmup, Measure time.Duration
	// Detect configures the stage; its Detector is required.
	Detect detect.Config
}

// LaneResult is what LiveLane measured in its window. Latency is from a live
// frame's capture to its detections record being read back from the broker.
type LaneResult struct {
	LiveCameras int
	Backfill    bool
	LiveFrames  int
	// Latency quantiles of live frames, and the p95 from capture to the
	// detector's end (what the stage's histogram records), before produce
	// and read.
	P50Ms, P95Ms, P99Ms, MaxMs, StageP95Ms float64
	// Rates in the window, frames/s.
	LiveFPS, BackfillFPS float64
	Seconds              float64
	BackfillFrames       int
}

func (r LaneResult) String() string {
	return fmt.Sprintf("live cameras %d, backfill %v: live frames %d, latency p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, max %.0f ms (p95 to the detector's end %.0f ms); live %.1f frames/s, backfill %.1f frames/s over %.0f s",
		r.LiveCameras, r.Backfill, r.LiveFrames, r.P50Ms, r.P95Ms, r.P99Ms, r.MaxMs, r.StageP95Ms, r.LiveFPS, r.BackfillFPS, r.Seconds)
}

// liveSource is a camera filming now: a frame every 1/fps of wall time,
// captured when it is sent.
type liveSource struct {
	imgs [][]byte
	fps  float64
	i    int
	next time.Time
}

func (s *liveSource) Next(ctx context.Context) (ingest.Captured, error) {
	if s.next.IsZero() {
		s.next = time.Now()
	}
	if d := time.Until(s.next); d > 0 {
		select {
		case <-ctx.Done():
			return ingest.Captured{}, ctx.Err()
		case <-time.After(d):
		}
	}
	s.next = s.next.Add(time.Duration(float64(time.Second) / s.fps))
	now := time.Now()
	c := ingest.Captured{JPEG: s.imgs[s.i%len(s.imgs)], Width: 1280, Height: 720, Offset: time.Duration(now.UnixNano()), CaptureTime: now}
	s.i++
	return c, nil
}
func (s *liveSource) Info() ingest.SourceInfo {
	return ingest.SourceInfo{Name: "live-bench", FPS: s.fps, Frames: -1, Live: true}
}
func (s *liveSource) Close() error { return nil }

// gatedSource is recorded video released a token at a time, so that the
// backlog stays bounded however long the measurement runs.
type gatedSource struct {
	imgs   [][]byte
	tokens chan struct{}
	i      int
}

func (s *gatedSource) Next(ctx context.Context) (ingest.Captured, error) {
	select {
	case <-ctx.Done():
		return ingest.Captured{}, ctx.Err()
	case <-s.tokens:
	}
	c := ingest.Captured{JPEG: s.imgs[s.i%len(s.imgs)], Width: 1280, Height: 720, Offset: time.Duration(s.i) * 100 * time.Millisecond}
	s.i++
	return c, nil
}
func (s *gatedSource) Info() ingest.SourceInfo {
	return ingest.SourceInfo{Name: "recorded-bench", FPS: 10, Frames: -1}
}
func (s *gatedSource) Close() error { return nil }

const (
	livePrefix     = "live-"
	backfillPrefix = "backfill-"
	// backlog is how many backfill frames are kept waiting for the stage.
	backlog = 400
)

// LiveLane runs the detect stage of cfg on the broker of conn with live
// cameras and, optionally, a backlog of recorded video that keeps the stage
// saturated, and measures the live frames' latency and both lanes' rates.
// The frames and detections topics must be empty.
func LiveLane(ctx context.Context, conn *broker.Conn, top *topology.Topology, jpgs [][]byte, cfg LaneConfig) (LaneResult, error) {
	if cfg.LiveFPS == 0 {
		cfg.LiveFPS = 10
	}
	if cfg.BackfillCameras == 0 {
		cfg.BackfillCameras = 8
	}
	if cfg.Warmup == 0 {
		cfg.Warmup = 3 * time.Second
	}
	if cfg.Measure == 0 {
		cfg.Measure = 20 * time.Second
	}
	res := LaneResult{LiveCameras: cfg.LiveCameras, Backfill: cfg.Backfill}
	p, err := detect.New(cfg.Detect, conn, top)
	if err != nil {
		return res, err
	}
	reader, err := conn.Client(kgo.ConsumeTopics(string(topology.Detections)), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		return res, err
	}
	defer reader.Close()

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(rctx)
	g.Go(func() error { return p.Run(gctx) })

	var backfillDone atomic.Int64
	tokens := make(chan struct{}, backlog)
	run := func(cam string, src ingest.Source) {
		g.Go(func() error {
			cl, err := conn.Client(kgo.ProducerLinger(0))
			if err != nil {
				return err
			}
			defer cl.Close()
			in, err := ingest.New(ingest.Config{CameraID: cam, BlockID: "B1"}, cl, top)
			if err != nil {
				return err
			}
			if _, err := in.Run(gctx, src); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("ingest %s: %w", cam, err)
			}
			return nil
		})
	}
	startLive := func() {
		for c := range cfg.LiveCameras {
			run(fmt.Sprintf("%s%d", livePrefix, c), &liveSource{imgs: jpgs[c%len(jpgs):], fps: cfg.LiveFPS})
		}
	}
	if cfg.Backfill {
		for c := range cfg.BackfillCameras {
			run(fmt.Sprintf("%s%d", backfillPrefix, c), &gatedSource{imgs: jpgs, tokens: tokens})
		}
		g.Go(func() error { return topUp(gctx, tokens, &backfillDone) })
	} else {
		startLive()
	}

	// The window opens Warmup after the stage's first detections (its start
	// takes seconds on a busy machine); with backfill, live cameras start
	// then, so that none of their frames queue behind the stage's start.
	var from, to time.Time
	var lat, stage []time.Duration
	var readErr error
	started := time.Now()
	for (from.IsZero() || time.Now().Before(to)) && gctx.Err() == nil {
		if from.IsZero() && time.Since(started) > 2*time.Minute {
			readErr = errors.New("the detect stage emitted nothing in 2 minutes")
			break
		}
		pctx, pcancel := context.WithTimeout(gctx, time.Second)
		fs := reader.PollFetches(pctx)
		pcancel()
		now := time.Now()
		if from.IsZero() && fs.NumRecords() > 0 {
			from, to = now.Add(cfg.Warmup), now.Add(cfg.Warmup+cfg.Measure)
			if cfg.Backfill {
				startLive()
			}
		}
		fs.EachRecord(func(r *kgo.Record) {
			d, err := schema.DecodeDetections(r.Value)
			if err != nil {
				readErr = err
				return
			}
			in := now.After(from) && now.Before(to)
			switch {
			case strings.HasPrefix(d.CameraId, livePrefix):
				if in && d.FrameId != "" && d.DetectedUnixNs != 0 {
					lat = append(lat, now.Sub(time.Unix(0, d.CaptureUnixNs)))
					stage = append(stage, time.Duration(d.DetectedUnixNs-d.CaptureUnixNs))
				}
			case strings.HasPrefix(d.CameraId, backfillPrefix):
				backfillDone.Add(1)
				if in {
					res.BackfillFrames++
				}
			}
		})
	}
	cancel()
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return res, err
	}
	if readErr != nil {
		return res, readErr
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	res.Seconds = cfg.Measure.Seconds()
	res.LiveFrames = len(lat)
	res.LiveFPS = float64(len(lat)) / res.Seconds
	res.BackfillFPS = float64(res.BackfillFrames) / res.Seconds
	if len(lat) > 0 {
		res.P50Ms, res.P95Ms, res.P99Ms, res.MaxMs = quantileMs(lat, 0.50), quantileMs(lat, 0.95), quantileMs(lat, 0.99), quantileMs(lat, 1)
		res.StageP95Ms = quantileMs(stage, 0.95)
	}
	return res, nil
}

// quantileMs is the q quantile of ds (sorted in place) in milliseconds.
func quantileMs(ds []time.Duration, q float64) float64 {
	slices.Sort(ds)
	return float64(ds[min(len(ds)-1, int(q*float64(len(ds))))]) / 1e6
}

// topUp releases backfill frames so that about backlog of them wait for the
// stage at any time.
func topUp(ctx context.Context, tokens chan<- struct{}, done *atomic.Int64) error {
	var released int64
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		for released-done.Load() < backlog {
			select {
			case tokens <- struct{}{}:
				released++
			case <-ctx.Done():
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
