package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/inference"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A served stage process answers /healthz, /readyz and /metrics with its
// stages' counters and the groups' lag; SIGTERM mid-stream makes it finish
// in-flight work and exit 0, and after a restart the final counts equal an
// uninterrupted run's.
func TestServeMetricsAndSIGTERM(t *testing.T) {
	longTest(t, "runs processes")
	dir, conn := brokerDir(t)
	sc, recs, want := truthStream(t)

	addr := freeAddr(t)
	base := "http://" + addr
	start := func(n int) (*exec.Cmd, string) {
		log := fmt.Sprintf("serve-%d.log", n)
		return startProcess(t, dir, log, "run", "--stages", "track,aggregate,sink", "--metrics-addr", addr), filepath.Join(dir, log)
	}
	p, _ := start(1)
	brokertest.Produce(t, conn, recs[:len(recs)/2]...)
	var code int
	var body string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		// The lag is queried at most every 5 s: a scrape before the track
		// group joined leaves it out until the next query.
		if code, body = get(t, base+"/metrics"); code == 200 && regexp.MustCompile(`cropstream_stage_records_in_total\{stage="track"\} [1-9]`).MatchString(body) &&
			strings.Contains(body, `cropstream_consumer_lag{group="track",topic="detections"}`) {
			break
		}
	}
	for _, m := range []string{`cropstream_stage_records_in_total{stage="track"}`, `cropstream_stage_records_out_total{stage="sink"}`,
		`cropstream_consumer_lag{group="track",topic="detections"}`, `cropstream_sink_insert_seconds_count`, `go_goroutines`} {
		if !strings.Contains(body, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	if strings.Contains(body, `cropstream_consumer_lag{group="detect"`) {
		t.Error("a process without the detect stage exports the detect group's lag (a sum over processes would count it again)")
	}
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	if code, b := get(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz: %d %s", code, b)
	}

	// SIGTERM mid-stream: a clean exit, quickly.
	brokertest.Produce(t, conn, recs[len(recs)/2:]...)
	time.Sleep(300 * time.Millisecond)
	stopAt := time.Now()
	if err := stopped(p); err != nil {
		t.Fatalf("after SIGTERM: %v (want exit 0)", err)
	}
	t.Logf("stopped %s after SIGTERM", time.Since(stopAt).Round(time.Millisecond))

	p2, log := start(2)
	defer stopped(p2)
	finalCounts(t, conn, sc, want, log)
}

// `cropstream bench --quick` measures every stage and writes the report,
// the plot and a capacity model.
func TestBenchQuick(t *testing.T) {
	dir := t.TempDir()
	r := run(t, dir, "bench", "--quick", "--out", "out", "--model", filepath.Join(repo, "models", "cropnet.onnx"))
	if r.code != 0 {
		t.Fatalf("bench: exit %d\n%s", r.code, r.stderr)
	}
	md, err := os.ReadFile(filepath.Join(dir, "out", "bench.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| ingest + broker |", "| detect |", "| track |", "| sink |", "| whole pipeline |", "ratio to raw", "## Capacity model", "50 TB/day", "partitions"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("bench.md lacks %q:\n%s", want, md)
		}
	}
	// Every stage but the whole pipeline has its raw limit and ratio (in
	// the first table, where the stage first appears).
	for _, stage := range []string{"ingest + broker", "detect", "track", "sink"} {
		at := strings.Index(string(md), "| "+stage+" |")
		if at < 0 {
			continue
		}
		l, _, _ := strings.Cut(string(md)[at:], "\n")
		if cells := strings.Split(l, " | "); len(cells) < 5 || cells[3] == "—" || cells[4] == "—" {
			t.Errorf("%s has no raw limit or ratio: %s", stage, l)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "out", "bench.png")); err != nil || st.Size() < 1000 {
		t.Fatalf("bench.png: %v", err)
	}
}

// run --scenario serves /metrics while the field runs, and what it serves
// passes promtool's lint.
func TestScenarioRunServesMetrics(t *testing.T) {
	longTest(t, "runs processes")
	dir := scenarioDir(t, smallScenario)
	addr := freeAddr(t)
	c := startProcess(t, dir, "run.log", "run", "--scenario", "small.yaml", "--metrics-addr", addr, "--model", shippedModel())
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	var body string
	seen := false
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && !seen; time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-done:
			b, _ := os.ReadFile(filepath.Join(dir, "run.log"))
			t.Fatalf("run ended (%v) before /metrics showed detected frames:\n%s", err, b)
		default:
		}
		var code int
		if code, body = get(t, "http://"+addr+"/metrics"); code == 200 &&
			regexp.MustCompile(`cropstream_stage_records_out_total\{stage="detect"\} [1-9]`).MatchString(body) {
			seen = true
		}
	}
	if !seen {
		t.Fatalf("/metrics of run --scenario never showed detected frames:\n%s", body)
	}
	// A scenario is recorded video: its latency is the backfill lane's; the
	// live lane's series is there, empty.
	for _, m := range []string{"cropstream_build_info{", `cropstream_stage_latency_seconds_bucket{lane="backfill",stage="detect",what="capture_to_detected",le="0.512"}`,
		`cropstream_stage_latency_seconds_count{lane="live",stage="detect",what="capture_to_detected"} 0`,
		`cropstream_detect_decoded_frames_total{decoder="cpu"}`} {
		if !strings.Contains(body, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("run --scenario: %v", err)
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed (the CI setup installs Debian's prometheus)")
		}
		t.Skip("promtool not installed")
	}
	lint := exec.Command(promtool, "check", "metrics")
	lint.Stdin = strings.NewReader(body)
	if out, err := lint.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// run --decoder gpu where the GPU decoder cannot serve (no nvJPEG here, and
// the CPU provider's model takes floats) stops at start and says why,
// rather than serving on the CPU: served stages, and a scenario run.
func TestRunDecoderGPURefused(t *testing.T) {
	longTest(t, "runs processes")
	dir := scenarioDir(t, smallScenario)
	startBroker(t, dir)
	for _, args := range [][]string{{"--stages", "detect", "--metrics-addr", ""}, {"--scenario", "small.yaml"}} {
		c := exec.Command(bin, append([]string{"run", "--decoder", "gpu", "--model", shippedModel()}, args...)...)
		c.Dir = dir
		c.Env = append(os.Environ(), inference.NVJPEGDirEnv+"="+dir)
		out, err := c.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "detect: GPU decoding: no GPU JPEG decoder") {
			t.Fatalf("run --decoder gpu %v: %v\n%s", args, err, out)
		}
	}
}
