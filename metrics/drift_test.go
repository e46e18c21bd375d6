package metrics_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/twmb/franz-go/pkg/kgo"
	"gocv.io/x/gocv"

	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/drift"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/ingest"
	"github.com/cropstream/cropstream/metrics"
	"github.com/cropstream/cropstream/processors/detect"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/simulator"
	"github.com/cropstream/cropstream/topology"
)

// render returns the scenario's frames as JPEGs, and the same frames with
// the light cut to a quarter (dusk, a dirty lens).
func render(t *testing.T) (bright, dark [][]byte) {
	t.Helper()
	sc, err := simulator.Load(filepath.Join("testdata", "drift.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sc.Name = "drift"
	sim := simulator.New(sc)
	dim := gocv.NewMat()
	defer dim.Close()
	enc := func(m gocv.Mat) []byte {
		buf, err := gocv.IMEncode(gocv.JPEGFileExt, m)
		if err != nil {
			t.Fatal(err)
		}
		defer buf.Close()
		return append([]byte(nil), buf.GetBytes()...)
	}
	for f, err := range sim.Frames() {
		if err != nil {
			t.Fatal(err)
		}
		bright = append(bright, enc(*f.Image))
		f.Image.ConvertToWithParams(&dim, gocv.MatTypeCV8UC3, 0.25, 0)
		dark = append(dark, enc(dim))
	}
	return bright, dark
}

func frameOf(t *testing.T, cam string, seq int, jpg []byte) *schema.Frame {
	return &schema.Frame{FrameId: ingest.FrameID(cam, uint64(seq), time.Unix(1_790_000_000, 0)), CameraId: cam, BlockId: "D1",
		Sequence: uint64(seq), CaptureUnixNs: time.Unix(1_790_000_000, 0).Add(time.Duration(seq) * 100 * time.Millisecond).UnixNano(),
		Width: 640, Height: 360, Encoding: schema.Encoding_ENCODING_JPEG, Image: jpg}
}

// Two cameras film the same row; one of them is darkened half-way. Its
// drift gauge rises above the alert's threshold, the other's stays below,
// and the alert rule, fed the gauges as scraped, fires for it alone.
func TestDriftGaugeForDarkenedCamera(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Join(filepath.Dir(file), "..")
	eng, err := inference.New(inference.Config{ModelPath: filepath.Join(repo, inference.DefaultModel), Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	bright, dark := render(t)
	n := len(bright)
	if n < 40 {
		t.Fatalf("%d frames rendered; the test needs a window of dark frames", n)
	}
	var calib []*schema.Frame
	for i, jpg := range bright {
		calib = append(calib, frameOf(t, "calibration", i, jpg))
	}
	ref, err := detect.Calibrate(eng, calib)
	if err != nil {
		t.Fatal(err)
	}
	if ref.Frames != n || len(ref.Samples[drift.Score]) == 0 || ref.ModelSHA256 != eng.ID().SHA256 {
		t.Fatalf("reference of %d frames, %d scores, model %q", ref.Frames, len(ref.Samples[drift.Score]), ref.ModelSHA256)
	}

	conn, top := brokertest.Open(t, topology.Config{CameraPartitions: 4, BlockPartitions: 2, DLQPartitions: 1})
	ctx := context.Background()
	cl, _ := conn.Client()
	defer cl.Close()
	window := n / 2
	for i := range n {
		b := bright[i]
		if i >= n-window {
			b = dark[i]
		}
		for cam, jpg := range map[string][]byte{"cam-steady": bright[i], "cam-dusk": b} {
			v, err := schema.Encode(frameOf(t, cam, i, jpg))
			if err != nil {
				t.Fatal(err)
			}
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: string(topology.Frames), Key: []byte(cam), Value: v}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	mon := drift.NewMonitor(drift.Config{Window: window}, ref)
	p, err := detect.New(detect.Config{Detector: eng, MaxBatch: 8, Workers: 2, Drift: mon}, conn, top)
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(rctx) }()
	// Scrapes while frames flow: the monitor is read and written at once.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.NewModelCollector(p))
	scraped := make(chan struct{})
	go func() {
		defer close(scraped)
		for rctx.Err() == nil {
			if _, err := reg.Gather(); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	deadline := time.Now().Add(120 * time.Second)
	for p.Stats.Frames.Load() < int64(2*n) {
		if time.Now().After(deadline) {
			t.Fatalf("after 120 s: %d of %d frames detected", p.Stats.Frames.Load(), 2*n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-scraped
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	if r := p.Stats.Reports.Load(); r != 4 {
		t.Errorf("%d model-quality records, want 2 cameras x 2 windows", r)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	// What the collector exposes passes Prometheus' own lint.
	var text bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&text, mf); err != nil {
			t.Fatal(err)
		}
	}
	lint := exec.Command("promtool", "check", "metrics")
	lint.Stdin = &text
	if out, err := lint.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	ks := map[string]map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "cropstream_drift_ks" {
			continue
		}
		for _, m := range mf.GetMetric() {
			cam, feat := label(m, "camera"), label(m, "feature")
			if ks[cam] == nil {
				ks[cam] = map[string]float64{}
			}
			ks[cam][feat] = m.GetGauge().GetValue()
		}
	}
	t.Logf("KS per camera and feature: %v", ks)
	const threshold = 0.3 // the alert's, deploy/alerts.yml
	if v := ks["cam-dusk"][drift.Brightness]; v <= threshold {
		t.Errorf("darkened camera: brightness KS %.2f, want above %.1f", v, threshold)
	}
	for feat, v := range ks["cam-steady"] {
		if v > threshold {
			t.Errorf("steady camera: %s KS %.2f, above the threshold %.1f", feat, v, threshold)
		}
	}
	if len(ks["cam-steady"]) != len(drift.Features) {
		t.Errorf("steady camera: statistics for %v, want every feature", ks["cam-steady"])
	}

	// The alert rule on these values, as promtool evaluates it.
	var series strings.Builder
	for cam, feats := range ks {
		for feat, v := range feats {
			fmt.Fprintf(&series, "      - series: 'cropstream_drift_ks{camera=%q,feature=%q}'\n        values: '%gx30'\n", cam, feat, v)
		}
	}
	var exp strings.Builder
	for feat, v := range ks["cam-dusk"] {
		if v > threshold {
			fmt.Fprintf(&exp, "          - exp_labels: {severity: warning, camera: cam-dusk, feature: %s}\n            exp_annotations:\n              summary: \"Camera cam-dusk: %s drifted from the model's reference (KS %.2f)\"\n", feat, feat, v)
		}
	}
	test := fmt.Sprintf(`rule_files: [%q]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
%s    alert_rule_test:
      - eval_time: 20m
        alertname: CropstreamModelDrift
        exp_alerts:
%s`, filepath.Join(repo, "deploy", "alerts.yml"), series.String(), exp.String())
	path := filepath.Join(t.TempDir(), "drift_test.yml")
	if err := os.WriteFile(path, []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("promtool", "test", "rules", path).CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules on the scraped gauges: %v\n%s\n%s", err, out, test)
	}
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
