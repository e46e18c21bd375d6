package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kgo"
	"gocv.io/x/gocv"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/ingest/rtsptest"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

func framesOf(t *testing.T, conn *broker.Conn) map[string][]*schema.Frame {
	t.Helper()
	// Streams go to the live lane and files to the backfill lane.
	out := map[string][]*schema.Frame{}
	for _, l := range topology.Lanes {
		for _, f := range brokertest.ReadAs(t, conn, topology.FramesOf(l), schema.DecodeFrame) {
			if !f.EndOfStream {
				out[f.CameraId] = append(out[f.CameraId], f)
			}
		}
	}
	return out
}

func runService(t *testing.T, conn *broker.Conn, top *topology.Topology) (*Service, func()) {
	t.Helper()
	svc, err := New(Config{Instance: "t", ReportEvery: 100 * time.Millisecond, Settle: 100 * time.Millisecond,
		Backoff: Backoff{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond}}, conn, top)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	return svc, func() {
		cancel()
		<-done
	}
}

// A video file camera is read once to its end (ended, not read again by a
// restarted service, its capture times from the time it was added); a
// growing folder's new files are picked up, and a restarted service resumes
// after the last one read.
func TestFileAndFolderCameras(t *testing.T) {
	conn, top := brokertest.Open(t, topology.Config{CameraPartitions: 2, BlockPartitions: 1, DLQPartitions: 1})
	dir := t.TempDir()
	video := filepath.Join(dir, "row.avi")
	vw, err := gocv.VideoWriterFile(video, "MJPG", 10, 64, 48, true)
	if err != nil {
		t.Fatal(err)
	}
	m := gocv.NewMatWithSize(48, 64, gocv.MatTypeCV8UC3)
	for i := 0; i < 12; i++ {
		m.SetTo(gocv.NewScalar(float64(i*20), 90, 30, 0))
		vw.Write(m)
	}
	m.Close()
	vw.Close()
	uploads := filepath.Join(dir, "uploads")
	os.Mkdir(uploads, 0o755)
	var img bytes.Buffer
	jpeg.Encode(&img, image.NewGray(image.Rect(0, 0, 32, 24)), nil)
	upload := func(name string) {
		old := time.Now().Add(-time.Minute)
		p := filepath.Join(uploads, name)
		os.WriteFile(p, img.Bytes(), 0o644)
		os.Chtimes(p, old, old)
	}
	upload("a-001.jpg")
	upload("a-002.jpg")

	svc, stop := runService(t, conn, top)
	ctx := context.Background()
	vcam, err := Add(ctx, conn, Camera{ID: "tractor", URL: video, Field: "F1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Add(ctx, conn, Camera{ID: "drone", URL: uploads, Field: "F1"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "video ended", 20*time.Second, func() bool { return entry(svc, "tractor").Status == StatusEnded })
	waitFor(t, "two uploads read", 10*time.Second, func() bool { st := entry(svc, "drone").State; return st != nil && st.Frames == 2 })
	upload("a-003.jpg")
	waitFor(t, "the new upload read", 10*time.Second, func() bool { st := entry(svc, "drone").State; return st != nil && st.Frames == 3 })
	time.Sleep(300 * time.Millisecond) // a report with the position
	stop()

	upload("a-004.jpg")
	svc, stop = runService(t, conn, top)
	waitFor(t, "the upload after the restart read", 10*time.Second, func() bool { st := entry(svc, "drone").State; return st != nil && st.Frames == 1 })
	time.Sleep(500 * time.Millisecond)
	if e := entry(svc, "tractor"); e.Status != StatusEnded {
		t.Fatalf("tractor after restart: %s", e.Status)
	}
	stop()

	got := framesOf(t, conn)
	if n := len(got["tractor"]); n != 12 {
		t.Errorf("video camera: %d frames, want 12 (read once)", n)
	}
	if n := len(got["drone"]); n != 4 {
		t.Errorf("folder camera: %d frames, want 4 (each upload once)", n)
	}
	if f := got["tractor"]; len(f) > 0 && f[0].CaptureUnixNs != vcam.AddedUnixNs {
		t.Errorf("video's first frame captured at %d, want the time it was added %d", f[0].CaptureUnixNs, vcam.AddedUnixNs)
	}
	for i := 1; i < len(got["drone"]); i++ {
		if got["drone"][i].Sequence <= got["drone"][i-1].Sequence {
			t.Errorf("folder sequences not increasing: %d after %d", got["drone"][i].Sequence, got["drone"][i-1].Sequence)
		}
	}
}

// The HTTP API adds, lists, reads and removes cameras, and refuses what is
// invalid with 400 and what is unknown with 404.
func TestHTTPAPI(t *testing.T) {
	conn, top := brokertest.Open(t, topology.Config{CameraPartitions: 2, BlockPartitions: 1, DLQPartitions: 1})
	svc, stop := runService(t, conn, top)
	defer stop()
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	cam := startCamera(t, 10)
	do := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	if code, body := do("POST", "/cameras", `{"id":"c1","url":"`+cam.URL()+`"}`); code != http.StatusBadRequest || !strings.Contains(body, "field is required") {
		t.Fatalf("POST without field: %d %s", code, body)
	}
	if code, body := do("POST", "/cameras", `{"id":"c1","url":"x","field":"F1","colour":"red"}`); code != http.StatusBadRequest || !strings.Contains(body, "unknown field") {
		t.Fatalf("POST with an unknown field: %d %s", code, body)
	}
	if code, body := do("POST", "/cameras", `{"id":"c1","url":"`+cam.URL()+`","field":"F1","block":"B1"}`); code != http.StatusCreated {
		t.Fatalf("POST: %d %s", code, body)
	}
	waitFor(t, "c1 connected", 10*time.Second, func() bool { return entry(svc, "c1").Status == StatusConnected })
	code, body := do("GET", "/cameras/c1", "")
	var e Entry
	if err := json.Unmarshal([]byte(body), &e); code != http.StatusOK || err != nil || e.Camera.Block != "B1" || e.Status != StatusConnected || e.State.Instance != "t" {
		t.Fatalf("GET /cameras/c1: %d %s", code, body)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(svc.Collector())
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{`cropstream_camera_connected{camera="c1"} 1`, `cropstream_cameras_held 1`, `cropstream_camera_frames_total{camera="c1"}`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Fatalf("/metrics lacks %s:\n%s", want, rec.Body.String())
		}
	}
	if code, _ := do("GET", "/cameras/nope", ""); code != http.StatusNotFound {
		t.Fatalf("GET unknown: %d", code)
	}
	if code, _ := do("DELETE", "/cameras/nope", ""); code != http.StatusNotFound {
		t.Fatalf("DELETE unknown: %d", code)
	}
	if code, body := do("DELETE", "/cameras/c1", ""); code != http.StatusAccepted {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	waitFor(t, "c1 gone", 10*time.Second, func() bool {
		_, body := do("GET", "/cameras", "")
		return strings.TrimSpace(body) == "[]" && cam.Clients() == 0
	})
}

// A registry record on a partition its key does not hash to is skipped:
// another instance may hold that partition, and the camera's tombstone
// would land elsewhere.
func TestRecordOnWrongPartitionSkipped(t *testing.T) {
	conn, top := brokertest.Open(t, topology.Config{CameraPartitions: 2, BlockPartitions: 1, DLQPartitions: 1})
	svc, stop := runService(t, conn, top)
	defer stop()
	cam := startCamera(t, 10)
	c := Camera{ID: "stray", URL: cam.URL(), Field: "F1", AddedUnixNs: 1}
	c.Normalize(time.Now())
	val, _ := EncodeCamera(c)
	right := broker.PartitionOf([]byte(c.ID), top.Topic(topology.Cameras).Partitions)
	cl, err := conn.Client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	rec := &kgo.Record{Topic: string(topology.Cameras), Key: []byte(c.ID), Value: val, Partition: (right + 1) % topology.RegistryPartitions}
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if n := cam.Clients(); n != 0 || len(svc.Held()) != 0 {
		t.Fatalf("a record on the wrong partition started a reader (%d clients, held %v)", n, svc.Held())
	}
	rec = &kgo.Record{Topic: string(topology.Cameras), Key: []byte(c.ID), Value: val, Partition: right}
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the camera on its partition read", 10*time.Second, func() bool { return cam.Clients() == 1 })
}

// RTSP cameras over TCP and UDP are read through OpenCV; a server that goes
// away is reported reconnecting (FFmpeg's own timeouts bound the stall).
func TestRTSPCameras(t *testing.T) {
	conn, top := brokertest.Open(t, topology.Config{CameraPartitions: 2, BlockPartitions: 1, DLQPartitions: 1})
	svc, stop := runService(t, conn, top)
	defer stop()
	ctx := context.Background()
	srvs := map[string]*rtsptest.Server{}
	for _, tr := range []string{"tcp", "udp"} {
		s, err := rtsptest.Start()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Stop)
		srvs[tr] = s
		if _, err := Add(ctx, conn, Camera{ID: "rtsp-" + tr, URL: s.URL(), Transport: tr, Field: "F1"}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "both RTSP cameras read", 30*time.Second, func() bool {
		a, b := entry(svc, "rtsp-tcp").State, entry(svc, "rtsp-udp").State
		return a != nil && b != nil && a.Frames >= 10 && b.Frames >= 10
	})
	for tr, s := range srvs {
		if got := s.Transports(); len(got) == 0 || got[0] != tr {
			t.Fatalf("camera rtsp-%s: server saw %v", tr, got)
		}
	}
	srvs["udp"].Stop()
	waitFor(t, "the UDP camera reconnecting after its server left", 20*time.Second, func() bool {
		return entry(svc, "rtsp-udp").Status == StatusReconnecting
	})
	if e := entry(svc, "rtsp-tcp"); e.Status != StatusConnected {
		t.Fatalf("the TCP camera, whose server stayed: %s", e.Status)
	}
	t.Logf("rtsp-udp: %s", entry(svc, "rtsp-udp").State.LastError)
}
