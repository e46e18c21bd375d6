// Package metrics serves what operators watch: Prometheus metrics of the
// stages in this process, consumer lag, and /healthz and /readyz.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/pipeline"
	"github.com/cropstream/cropstream/stage"
)

const ns = "cropstream"

var (
	recordsIn   = prometheus.NewDesc(ns+"_stage_records_in_total", "Records a stage consumed.", []string{"stage"}, nil)
	recordsOut  = prometheus.NewDesc(ns+"_stage_records_out_total", "Records (or rows, for the sink) a stage produced.", []string{"stage"}, nil)
	deadLetters = prometheus.NewDesc(ns+"_dead_letters_total", "Records a stage sent to the dead-letter topic.", []string{"stage"}, nil)
	batchSize   = prometheus.NewDesc(ns+"_detect_batch_size", "Frames per inference batch (sum and count).", nil, nil)
	inferSecs   = prometheus.NewDesc(ns+"_detect_inference_seconds", "Inference time per batch (sum and count).", nil, nil)
	decodeSecs  = prometheus.NewDesc(ns+"_detect_decode_seconds", "JPEG decode and letterbox time per frame (sum and count).", nil, nil)
	boxes       = prometheus.NewDesc(ns+"_detect_boxes_total", "Boxes the detector emitted.", nil, nil)
	decoded     = prometheus.NewDesc(ns+"_detect_decoded_frames_total", "Frames the detect stage decoded, by decoder (cpu: libjpeg-turbo; nvjpeg: the GPU).", []string{"decoder"}, nil)
	insertSecs  = prometheus.NewDesc(ns+"_sink_insert_seconds", "Time per successful insert into the analytics store (sum and count).", nil, nil)
	insertRetry = prometheus.NewDesc(ns+"_sink_insert_retries_total", "Inserts the store refused and the sink retried.", nil, nil)
	replays     = prometheus.NewDesc(ns+"_track_replayed_frames_total", "Frames the tracker skipped as already applied.", nil, nil)
	duplicates  = prometheus.NewDesc(ns+"_aggregate_duplicate_objects_total", "Objects the aggregate stage had already counted.", nil, nil)
	lag         = prometheus.NewDesc(ns+"_consumer_lag", "Records not yet committed by a consumer group of a stage this process runs, per topic (instances of one group export the same value: take the max).", []string{"group", "topic"}, nil)
	lagUp       = prometheus.NewDesc(ns+"_consumer_lag_up", "1 when the last lag query reached the brokers.", nil, nil)
	latencySecs = prometheus.NewDesc(ns+"_stage_latency_seconds", "Latency histograms of the stages, by what they time (capture_to_detected, inference_batch, decode_frame, insert) and lane (capture_to_detected: live or backfill).", []string{"stage", "what", "lane"}, nil)
)

// Collector reads the stages' counters at scrape time, so the hot paths pay
// nothing for metrics beyond the atomic adds they already do.
type Collector struct {
	p    *pipeline.Pipeline
	conn *broker.Conn

	mu      sync.Mutex
	lagAt   time.Time
	lagRows []broker.PartitionLag
	lagErr  error
}

// NewCollector collects the stages of p; conn (optional) adds consumer lag.
func NewCollector(p *pipeline.Pipeline, conn *broker.Conn) *Collector {
	return &Collector{p: p, conn: conn}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{recordsIn, recordsOut, deadLetters, batchSize, inferSecs, decodeSecs, boxes, decoded, insertSecs, insertRetry, replays, duplicates, lag, lagUp, latencySecs} {
		ch <- d
	}
}

func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v int64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

func summary(ch chan<- prometheus.Metric, d *prometheus.Desc, count int64, sum float64) {
	ch <- prometheus.MustNewConstSummary(d, uint64(max(count, 0)), sum, nil)
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.p.StageList() {
		k := s.Counters()
		counter(ch, recordsIn, k.In, s.Name())
		counter(ch, recordsOut, k.Out, s.Name())
		counter(ch, deadLetters, k.DeadLetters, s.Name())
		if t, ok := s.(stage.Timed); ok {
			for k, h := range t.Latencies() {
				snap := h.Snapshot()
				ch <- prometheus.MustNewConstHistogram(latencySecs, snap.Count, snap.SumSeconds, snap.Cumulative, s.Name(), k.What, k.Lane)
			}
		}
	}
	// The series only one stage has.
	if d := c.p.Detect; d != nil {
		st := &d.Stats
		frames := st.Frames.Load()
		counter(ch, boxes, st.Boxes.Load())
		counter(ch, decoded, st.CPUDecoded.Load(), inference.DecoderCPU)
		counter(ch, decoded, st.GPUDecoded.Load(), inference.DecoderNVJPEG)
		summary(ch, batchSize, st.Batches.Load(), float64(frames))
		summary(ch, inferSecs, st.Batches.Load(), float64(st.InferNanos.Load())/1e9)
		summary(ch, decodeSecs, frames, float64(st.DecodeNanos.Load())/1e9)
	}
	if t := c.p.Track; t != nil {
		counter(ch, replays, t.Stats.Replays.Load())
	}
	if a := c.p.Aggregate; a != nil {
		counter(ch, duplicates, a.Stats.Duplicates.Load())
	}
	if s := c.p.Sink; s != nil {
		st := &s.Stats
		counter(ch, insertRetry, st.Retries.Load())
		summary(ch, insertSecs, st.Inserts.Load(), float64(st.InsertNanos.Load())/1e9)
	}
	if c.conn != nil {
		rows, err := c.lag()
		up := 1.0
		if err != nil {
			up = 0
		}
		ch <- prometheus.MustNewConstMetric(lagUp, prometheus.GaugeValue, up)
		// Only this process's groups: every process exporting every group's
		// lag made a sum over processes count it once per process.
		own := map[string]bool{}
		for _, g := range c.p.Groups() {
			own[string(g)] = true
		}
		type key struct{ g, t string }
		sum := map[key]int64{}
		for _, r := range rows {
			if own[r.Group] {
				sum[key{r.Group, r.Topic}] += r.Lag
			}
		}
		for k, v := range sum {
			ch <- prometheus.MustNewConstMetric(lag, prometheus.GaugeValue, float64(v), k.g, k.t)
		}
	}
}

// lag queries the brokers at most every 5 s: scrapes from several
// Prometheus servers must not multiply the load on the group coordinator.
func (c *Collector) lag() ([]broker.PartitionLag, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.lagAt) < 5*time.Second {
		return c.lagRows, c.lagErr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	adm, cl, err := c.conn.Admin()
	if err == nil {
		defer cl.Close()
		c.lagRows, err = broker.GroupLag(ctx, adm)
	}
	c.lagAt, c.lagErr = time.Now(), err
	return c.lagRows, err
}

// Handler serves /metrics, /healthz (the process answers) and /readyz
// (ready() returns nil: brokers reachable, stages running).
func Handler(reg *prometheus.Registry, ready func(context.Context) error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

// Registry holds the process's collectors: the stages, lag, Go runtime.
func Registry(cols ...prometheus.Collector) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildInfoCollector())
	reg.MustRegister(cols...)
	return reg
}

// Serve listens on addr until ctx ends. It returns once listening, with the
// bound address (addr may say port 0).
func Serve(ctx context.Context, addr string, h http.Handler) (string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("metrics: listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("metrics server", "err", err)
		}
	}()
	context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	return l.Addr().String(), nil
}
