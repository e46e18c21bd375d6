package benchmarks

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/fleet"
	"github.com/cropstream/cropstream/ingest/mjpegtest"
	"github.com/cropstream/cropstream/topology"
)

// BenchmarkFleet: one `cropstream ingest --registry` process reads 50 MJPEG
// cameras (Go servers on loopback in the benchmark's process, 10 frames/s
// each, 640x360) into the embedded broker (also in the benchmark's
// process). It runs for a fixed 20 s after all cameras are connected,
// whatever b.N; frames/s counts what the broker acknowledged, memory is the
// ingest process's RSS.
func BenchmarkFleet(b *testing.B) {
	const cameras, fps, measure = 50, 10, 20 * time.Second
	dir := b.TempDir()
	bin := filepath.Join(dir, "cropstream")
	_, file, _, _ := runtime.Caller(0)
	build := exec.Command("go", "build", "-o", bin, "./cmd/cropstream")
	build.Dir = filepath.Join(filepath.Dir(file), "..")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	conn, _ := brokertest.Open(b, topology.Config{})
	ctx := context.Background()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	api := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "--brokers", conn.Seeds[0], "ingest", "--registry", "--instance", "bench", "--http-addr", api)
	logf, _ := os.Create(filepath.Join(dir, "ingest.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()

	// The process's own footprint first, with no camera: libraries (OpenCV,
	// ONNX Runtime), runtime, clients.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get("http://" + api + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("ingest not ready after 30 s")
		}
	}
	time.Sleep(2 * time.Second)
	base := rssKB(b, cmd.Process.Pid)
	servers := make([]*mjpegtest.Server, cameras)
	for i := range servers {
		s, err := mjpegtest.New(fps, 640, 360)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(s.Stop)
		servers[i] = s
		if _, err := fleet.Add(ctx, conn, fleet.Camera{ID: fmt.Sprintf("cam-%02d", i), URL: s.URL(), Field: "F1"}); err != nil {
			b.Fatal(err)
		}
	}
	list := func() []fleet.Entry {
		resp, err := http.Get("http://" + api + "/cameras")
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		var es []fleet.Entry
		json.NewDecoder(resp.Body).Decode(&es)
		return es
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		n := 0
		for _, e := range list() {
			if e.Status == fleet.StatusConnected {
				n++
			}
		}
		if n == cameras {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d cameras connected after 60 s", n, cameras)
		}
		time.Sleep(200 * time.Millisecond)
	}
	adm, acl, err := conn.Admin()
	if err != nil {
		b.Fatal(err)
	}
	defer acl.Close()
	acked := func() int64 {
		// MJPEG cameras are live: their frames are in frames-live.
		ends, err := adm.ListEndOffsets(ctx, string(topology.Frames), string(topology.FramesLive))
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
		return n
	}
	served := func() int64 {
		var n int64
		for _, s := range servers {
			n += s.Served()
		}
		return n
	}
	time.Sleep(3 * time.Second) // past the start
	b.ResetTimer()
	a0, s0, c0, t0 := acked(), served(), cpuSeconds(b, cmd.Process.Pid), time.Now()
	var rssMax, rssSum, samples int64
	for time.Since(t0) < measure {
		time.Sleep(time.Second)
		r := rssKB(b, cmd.Process.Pid)
		rssMax, rssSum, samples = max(rssMax, r), rssSum+r, samples+1
	}
	a1, s1, c1, el := acked(), served(), cpuSeconds(b, cmd.Process.Pid), time.Since(t0)
	heap := scrape(b, api, "go_memstats_heap_inuse_bytes")
	stacks := scrape(b, api, "go_memstats_stack_inuse_bytes")
	b.StopTimer()
	b.ReportMetric(heap/1e6, "MB_heap_inuse")
	b.ReportMetric(stacks/1e6, "MB_stacks")
	b.ReportMetric(float64(a1-a0)/el.Seconds(), "frames/s")
	b.ReportMetric(float64(s1-s0)/el.Seconds(), "served/s")
	b.ReportMetric(float64(rssMax)/1024, "MB_rss_max")
	b.ReportMetric(float64(rssSum/samples)/1024, "MB_rss_mean")
	b.ReportMetric(float64(base)/1024, "MB_rss_idle")
	b.ReportMetric(float64(rssSum/samples-base)/cameras, "KB_rss/camera")
	b.ReportMetric(100*(c1-c0)/el.Seconds(), "%cpu")
	b.ReportMetric(float64(servers[0].FrameBytes()), "bytes/frame")
}

func rssKB(b *testing.B, pid int) int64 {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(st), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// cpuSeconds is the process's user plus system time.
func cpuSeconds(b *testing.B, pid int) float64 {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name (which may hold spaces) start at ")".
	f := strings.Fields(string(st)[strings.LastIndexByte(string(st), ')')+2:])
	ut, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (ut + stime) / 100 // clock ticks of 1/100 s on Linux
}

// scrape reads one unlabelled gauge from the ingest service's /metrics.
func scrape(b *testing.B, api, name string) float64 {
	resp, err := http.Get("http://" + api + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var buf strings.Builder
	if _, err := io.Copy(&buf, resp.Body); err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(buf.String(), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == name {
			v, _ := strconv.ParseFloat(f[1], 64)
			return v
		}
	}
	b.Fatalf("%s not in /metrics", name)
	return 0
}
