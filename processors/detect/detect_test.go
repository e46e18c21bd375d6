package detect

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"gocv.io/x/gocv"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/inference/inferencetest"
	"github.com/cropstream/cropstream/ingest"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/simulator"
	"github.com/cropstream/cropstream/stage/stagetest"
	"github.com/cropstream/cropstream/topology"
)

func modelPath(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "models", "cropnet.onnx")
}

func engine(t testing.TB, rw *inference.Rewrite, sessions int) *inference.Engine {
	t.Helper()
	e, err := inference.New(inference.Config{ModelPath: modelPath(t), Threads: 2 / sessions, Sessions: sessions, Rewrite: rw})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// bomb patches a real JPEG's SOF0 header to declare 60000x60000 pixels.
func bomb(t *testing.T, jpg []byte) []byte {
	b := append([]byte(nil), jpg...)
	i := bytes.Index(b, []byte{0xFF, 0xC0})
	if i < 0 {
		t.Fatal("no SOF0 marker")
	}
	b[i+5], b[i+6], b[i+7], b[i+8] = 0xEA, 0x60, 0xEA, 0x60
	return b
}

// The stage runs the model as loaded for the CPU, as rewritten for the GPU
// (uint8 input, reduced output), here on the CPU provider, and in two lanes
// of one-thread sessions: same frames, dead letters and boxes. With the GPU
// decoder (its CUDA libraries stood in for: full-size decode, the letterbox
// kernel's function) the same frames and dead letters, and boxes within a
// few per cent: the frames are scaled by another method.
func TestDetectStageWithBadRecords(t *testing.T) {
	var boxes [4]int64
	gpuGraph := &inference.Rewrite{SplitToSlice: true, UInt8Input: true, ReduceOutput: true}
	t.Run("float", func(t *testing.T) { boxes[0] = testDetectStage(t, nil, 1, inference.DecoderConfig{}) })
	t.Run("gpu-graph", func(t *testing.T) { boxes[1] = testDetectStage(t, gpuGraph, 1, inference.DecoderConfig{}) })
	t.Run("two-lanes", func(t *testing.T) { boxes[2] = testDetectStage(t, nil, 2, inference.DecoderConfig{}) })
	t.Run("gpu-decoder", func(t *testing.T) {
		dir := inferencetest.FakeCUDA(t, "13")
		boxes[3] = testDetectStage(t, gpuGraph, 1, inference.DecoderConfig{Mode: inference.DecodeGPU, LibDir: dir, Driver: filepath.Join(dir, "libcuda.so.1")})
	})
	if boxes[0] == 0 || boxes[0] != boxes[1] || boxes[0] != boxes[2] {
		t.Fatalf("boxes: %d with the model as is, %d with the GPU graph, %d in two lanes", boxes[0], boxes[1], boxes[2])
	}
	t.Logf("boxes: %d decoded on the CPU, %d on the GPU path", boxes[1], boxes[3])
	if d := boxes[3] - boxes[1]; d*20 > boxes[1] || -d*20 > boxes[1] {
		t.Fatalf("boxes: %d decoded on the GPU path, %d on the CPU", boxes[3], boxes[1])
	}
}

// ingestScenario sends the test scenario's frames, as camera cam-a of
// block T1, through the real ingester, and returns how many it sent.
func ingestScenario(t *testing.T, conn *broker.Conn, top *topology.Topology, name string) int {
	t.Helper()
	sc, err := simulator.Load(filepath.Join("testdata", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sc.Name = name
	cl, _ := conn.Client()
	defer cl.Close()
	in, err := ingest.New(ingest.Config{CameraID: "cam-a", BlockID: "T1"}, cl, top)
	if err != nil {
		t.Fatal(err)
	}
	src := ingest.OpenScenario(sc)
	defer src.Close()
	st, err := in.Run(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	return st.Frames
}

// plainJPEG is a 160x120 JPEG of one colour: a frame the detector finds
// nothing in.
func plainJPEG() []byte {
	m := gocv.NewMatWithSize(120, 160, gocv.MatTypeCV8UC3)
	defer m.Close()
	m.SetTo(gocv.NewScalar(40, 140, 40, 0))
	buf, _ := gocv.IMEncode(gocv.JPEGFileExt, m)
	defer buf.Close()
	return append([]byte(nil), buf.GetBytes()...)
}

func testDetectStage(t *testing.T, rw *inference.Rewrite, sessions int, dec inference.DecoderConfig) int64 {
	conn, top := brokertest.Open(t, topology.Config{CameraPartitions: 4, BlockPartitions: 2, DLQPartitions: 1})
	ctx := context.Background()

	// Good frames from the simulator, through the real ingester.
	good := ingestScenario(t, conn, top, "test")

	// Bad records on camera b, between good ones of camera b.
	cl, _ := conn.Client()
	defer cl.Close()
	jpg := plainJPEG()
	frame := func(seq uint64, img []byte) []byte {
		b, err := schema.Encode(&schema.Frame{FrameId: ingest.FrameID("cam-b", seq, time.Now()), CameraId: "cam-b", Sequence: seq,
			Width: 160, Height: 120, Encoding: schema.Encoding_ENCODING_JPEG, Image: img})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	future := append([]byte{0x08, 0x63}, frame(9, jpg)[2:]...) // schema_version 99
	corrupt := append(append([]byte(nil), jpg[:200]...), bytes.Repeat([]byte{0x55}, 500)...)
	bad := map[string][]byte{
		"corrupt":   frame(2, corrupt),
		"truncated": frame(3, jpg)[:60],
		"bomb":      frame(4, bomb(t, jpg)),
		"future":    future,
		"halfjpeg":  frame(6, jpg[:len(jpg)*2/3]),
	}
	misKeyed, err := schema.Encode(&schema.Frame{FrameId: ingest.FrameID("cam-z", 1, time.Now()), CameraId: "cam-z", Sequence: 1,
		Width: 160, Height: 120, Encoding: schema.Encoding_ENCODING_JPEG, Image: jpg})
	if err != nil {
		t.Fatal(err)
	}
	bad["miskeyed"], bad["unkeyed"] = misKeyed, frame(7, jpg)
	values := [][]byte{frame(1, jpg), bad["corrupt"], bad["truncated"], bad["bomb"], bad["future"], bad["halfjpeg"], bad["miskeyed"], bad["unkeyed"], frame(5, jpg)}
	for _, v := range values {
		key := []byte("cam-b")
		if bytes.Equal(v, bad["unkeyed"]) {
			key = nil
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "frames", Key: key, Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	p, err := New(Config{Detector: engine(t, rw, sessions), MaxBatch: 8, Workers: 2, Decode: dec}, conn, top)
	if err != nil {
		t.Fatal(err)
	}
	if p.cfg.Lanes != sessions {
		t.Fatalf("%d lanes for a detector of %d sessions", p.cfg.Lanes, sessions)
	}
	run := stagetest.Start(ctx, p)
	wantDet := good + 2
	deadline := time.Now().Add(60 * time.Second)
	for p.Stats.Frames.Load() < int64(wantDet) || p.Stats.DeadLetters.Load() < int64(len(bad)) {
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s: %d detections (want %d), %d dead letters (want 7)", p.Stats.Frames.Load(), wantDet, p.Stats.DeadLetters.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Offsets are committed once outputs are acknowledged: lag drains to 0.
	adm2, acl2, _ := conn.Admin()
	defer acl2.Close()
	for {
		rows, err := broker.GroupLag(ctx, adm2, string(topology.Detect))
		if err != nil {
			t.Fatal(err)
		}
		total := broker.TotalLag(rows)[string(topology.Detect)]
		if len(rows) > 0 && total == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lag still %d", total)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := run.Stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	dets := brokertest.ReadAs(t, conn, topology.Detections, schema.DecodeDetections)
	if len(dets) != wantDet+1 {
		t.Fatalf("%d detections records, want %d and camera a's end of stream", len(dets), wantDet)
	}
	ended := map[string]bool{}
	last := map[string]uint64{}
	boxes := 0
	for _, d := range dets {
		if s, ok := last[d.CameraId]; ok && d.Sequence <= s {
			t.Fatalf("camera %s: sequence %d after %d: order lost", d.CameraId, d.Sequence, s)
		}
		last[d.CameraId] = d.Sequence
		if d.EndOfStream {
			if d.CameraId != "cam-a" || len(d.Detections) != 0 || ended[d.CameraId] {
				t.Fatalf("end of stream %v", d)
			}
			ended[d.CameraId] = true
			continue
		}
		if ended[d.CameraId] {
			t.Fatalf("camera %s frame %d after the end of stream", d.CameraId, d.Sequence)
		}
		if d.CameraId == "cam-a" {
			boxes += len(d.Detections)
			if d.Width != 640 || d.Height != 360 || d.PositionM == nil {
				t.Fatalf("metadata not carried: %v", d)
			}
			if d.StreamId == "" {
				t.Fatalf("stream id not carried: %v", d)
			}
			if len(d.CountScores) != len(d.ClassNames) || len(d.CountScores) == 0 {
				t.Fatalf("the model's count_scores not carried: %v for %v", d.CountScores, d.ClassNames)
			}
		}
	}
	if last["cam-b"] != 5 {
		t.Fatalf("camera b's last frame %d, want 5: the stage must keep going after bad records", last["cam-b"])
	}
	if boxes == 0 {
		t.Fatal("no fruit detected in any simulated frame")
	}
	dl := brokertest.ReadAs(t, conn, topology.DLQ, schema.DecodeDeadLetter)
	reasons := map[string]string{}
	for _, d := range dl {
		if d.Stage != Stage || d.SourceTopic != "frames" || d.SourceOffset < 0 || d.OriginalSize == 0 {
			t.Fatalf("dead letter lacks its source: %+v", d)
		}
		for name, v := range bad {
			if bytes.Equal(d.OriginalValue, v) {
				reasons[name] = d.Reason
			}
		}
	}
	for name, want := range map[string]string{"corrupt": "does not decode", "truncated": "malformed", "bomb": "60000x60000", "future": "unknown schema version 99", "halfjpeg": "truncated JPEG",
		"miskeyed": `camera "cam-z" keyed "cam-b": the key must be the camera id`, "unkeyed": `camera "cam-b" keyed ""`} {
		if !strings.Contains(reasons[name], want) {
			t.Errorf("%s: reason %q, want it to say %q", name, reasons[name], want)
		}
	}
	// The GPU decoder leaves only the broken JPEGs to the CPU.
	onGPU, onCPU := p.Stats.GPUDecoded.Load(), p.Stats.CPUDecoded.Load()
	if dec.Mode == inference.DecodeGPU && (onGPU != int64(wantDet) || onCPU != 0) || dec.Mode == "" && (onCPU != int64(wantDet) || onGPU != 0) {
		t.Errorf("decoder %q: %d frames decoded on the GPU, %d on the CPU, of %d", dec.Mode, onGPU, onCPU, wantDet)
	}
	_ = os.Stdout
	return p.Stats.Boxes.Load()
}

// A crashed instance's partitions wait out its session: detect's must be as
// short as the other stages' (10 s), not franz-go's 45 s, with heartbeats
// well inside it.
func TestDetectSessionTimeout(t *testing.T) {
	conn, top := brokertest.Open(t, topology.Config{CameraPartitions: 2, BlockPartitions: 1, DLQPartitions: 1})
	for _, c := range []struct {
		set, wantSession, wantBeat time.Duration
	}{{0, 10 * time.Second, 2 * time.Second}, {60 * time.Second, 60 * time.Second, 3 * time.Second}} {
		p, err := New(Config{Detector: stubDetector{}, SessionTimeout: c.set}, conn, top)
		if err != nil {
			t.Fatal(err)
		}
		cl, err := conn.Client(p.clientOpts(topology.FramesLive)...)
		if err != nil {
			t.Fatal(err)
		}
		got, beat := cl.OptValue(kgo.SessionTimeout), cl.OptValue(kgo.HeartbeatInterval)
		cl.Close()
		if got != c.wantSession || beat != c.wantBeat {
			t.Errorf("session timeout %v: client has session %v, heartbeat %v; want %v, %v", c.set, got, beat, c.wantSession, c.wantBeat)
		}
	}
	if _, err := New(Config{Detector: stubDetector{}, SessionTimeout: time.Millisecond}, conn, top); err == nil {
		t.Error("a 1 ms session timeout was accepted")
	}
}

// --decoder gpu is refused at start, saying what is missing, where the CUDA
// libraries are not, and for a model that takes floats; auto serves on the
// CPU there.
func TestDetectGPUDecoderRefused(t *testing.T) {
	conn, top := brokertest.Open(t, topology.Config{CameraPartitions: 2, BlockPartitions: 1, DLQPartitions: 1})
	u8 := engine(t, &inference.Rewrite{UInt8Input: true}, 1)
	empty := inference.DecoderConfig{Mode: inference.DecodeGPU, LibDir: t.TempDir()}
	if _, err := New(Config{Detector: u8, Decode: empty}, conn, top); !errors.Is(err, inference.ErrNoGPUDecoder) || !strings.Contains(err.Error(), "detect: GPU decoding") || !strings.Contains(err.Error(), "libnvjpeg.so.13") {
		t.Fatalf("no libraries: %v", err)
	}
	dir := inferencetest.FakeCUDA(t, "13")
	stood := inference.DecoderConfig{Mode: inference.DecodeGPU, LibDir: dir, Driver: filepath.Join(dir, "libcuda.so.1")}
	if _, err := New(Config{Detector: stubDetector{}, Decode: stood}, conn, top); !errors.Is(err, inference.ErrNoGPUDecoder) || !strings.Contains(err.Error(), "float input") {
		t.Fatalf("float model: %v", err)
	}
	empty.Mode = inference.DecodeAuto
	p, err := New(Config{Detector: u8, Decode: empty}, conn, top)
	if err != nil {
		t.Fatal(err)
	}
	d := newDecoder(p.cfg, u8.Info(), 1, &p.Stats)
	defer d.close()
	if d.dec.Kind() != inference.DecoderCPU {
		t.Fatalf("auto without libraries: %s", d.dec.Kind())
	}
	if _, err := New(Config{Detector: u8, Decode: inference.DecoderConfig{Mode: "nvdec"}}, conn, top); err == nil || !strings.Contains(err.Error(), "want cpu, gpu or auto") {
		t.Fatalf("mode nvdec: %v", err)
	}
}

type stubDetector struct{}

func (stubDetector) Info() inference.ModelInfo { return inference.ModelInfo{Width: 64, Height: 64} }
func (stubDetector) Name() string              { return "stub" }
func (stubDetector) Run([]float32, int) ([][]inference.Detection, error) {
	return nil, errors.New("stub")
}
func (stubDetector) RunUInt8([]byte, int) ([][]inference.Detection, error) {
	return nil, errors.New("stub")
}
