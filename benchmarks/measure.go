package benchmarks

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/ingest"
	"github.com/cropstream/cropstream/processors/detect"
	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// TargetMBps is 5 TB/day of frames.
const TargetMBps = 5e12 / 86400 / 1e6

// FrameBytes is the frame size the targets are counted in, and TargetFPS
// 5 TB/day of such frames.
const (
	FrameBytes = 100e3
	TargetFPS  = TargetMBps * 1e6 / FrameBytes
)

// jpegSource yields n pre-encoded 1280x720 JPEGs, cycling over imgs: the
// measurement is of the path through Kafka, not of JPEG encoding.
type jpegSource struct {
	imgs [][]byte
	n, i int
}

func (s *jpegSource) Next(context.Context) (ingest.Captured, error) {
	if s.i >= s.n {
		return ingest.Captured{}, io.EOF
	}
	c := ingest.Captured{JPEG: s.imgs[s.i%len(s.imgs)], Width: 1280, Height: 720, Offset: time.Duration(s.i) * 100 * time.Millisecond}
	s.i++
	return c, nil
}
func (s *jpegSource) Info() ingest.SourceInfo {
	return ingest.SourceInfo{Name: "bench", FPS: 10, Frames: s.n}
}
func (s *jpegSource) Close() error { return nil }

// Throughput is what a measurement moved.
type Throughput struct {
	Frames  int
	Bytes   int
	Elapsed time.Duration
}

// FPS is frames per second.
func (t Throughput) FPS() float64 { return float64(t.Frames) / t.Elapsed.Seconds() }

// MBps is megabytes of images per second.
func (t Throughput) MBps() float64 { return float64(t.Bytes) / 1e6 / t.Elapsed.Seconds() }

// IngestThroughput has cameras ingest frames of size bytes into the broker
// of conn while a consumer group reads them back and decodes them; it times
// the first produce to the last frame read. The frames topic must be empty.
func IngestThroughput(ctx context.Context, conn *broker.Conn, top *topology.Topology, size, frames, cameras int) (Throughput, error) {
	img := randomBytes(size)
	return throughput(ctx, conn, frames, cameras,
		func(ctx context.Context, cl *kgo.Client, c, n int) error {
			in, err := ingest.New(ingest.Config{CameraID: fmt.Sprintf("bench-cam-%d", c), BlockID: "B1"}, cl, top)
			if err != nil {
				return err
			}
			_, err = in.Run(ctx, &jpegSource{imgs: [][]byte{img}, n: n})
			return err
		},
		func(r *kgo.Record) (int, error) {
			f, err := schema.DecodeFrame(r.Value)
			if err != nil || f.EndOfStream { // each camera's end is not a frame
				return -1, err
			}
			return len(f.Image), nil
		})
}

// KafkaThroughput is IngestThroughput's raw limit: the same number of
// records of size bytes, from one franz-go client per camera with the same
// linger, read back by a consumer group, with no encoding or decoding.
func KafkaThroughput(ctx context.Context, conn *broker.Conn, size, frames, cameras int) (Throughput, error) {
	img := randomBytes(size)
	return throughput(ctx, conn, frames, cameras,
		func(ctx context.Context, cl *kgo.Client, c, n int) error {
			key := []byte(fmt.Sprintf("bench-cam-%d", c))
			var first error
			var mu sync.Mutex
			for range n {
				cl.Produce(ctx, &kgo.Record{Topic: string(topology.Frames), Key: key, Value: img}, func(_ *kgo.Record, err error) {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
				})
			}
			if err := cl.Flush(ctx); err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			return first
		},
		func(r *kgo.Record) (int, error) { return len(r.Value), nil })
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.IntN(256))
	}
	return b
}

// throughput has cameras producers (a client each) run produce for their
// share of frames while a consumer group reads the frames topic back, read
// giving each record's bytes (-1: not a frame). It times the first produce
// to the last frame read.
func throughput(ctx context.Context, conn *broker.Conn, frames, cameras int,
	produce func(ctx context.Context, cl *kgo.Client, camera, n int) error, read func(*kgo.Record) (int, error)) (Throughput, error) {
	per := (frames + cameras - 1) / cameras
	total := per * cameras
	group := fmt.Sprintf("bench-read-%d", rand.Int64())
	consumer, err := conn.Client(kgo.ConsumerGroup(group), kgo.ConsumeTopics(string(topology.Frames)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return Throughput{}, err
	}
	defer consumer.Close()
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, cameras)
	fail := func(err error) { errs <- err; cancel() }
	for c := 0; c < cameras; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			cl, err := conn.Client(kgo.ProducerLinger(5 * time.Millisecond))
			if err != nil {
				fail(err)
				return
			}
			defer cl.Close()
			if err := produce(rctx, cl, c, per); err != nil {
				fail(err)
			}
		}(c)
	}
	t := Throughput{}
	var derr error
	for t.Frames < total && rctx.Err() == nil {
		fs := consumer.PollFetches(rctx)
		fs.EachRecord(func(r *kgo.Record) {
			n, err := read(r)
			if err != nil {
				derr = err
				return
			}
			if n >= 0 {
				t.Frames++
				t.Bytes += n
			}
		})
	}
	wg.Wait()
	t.Elapsed = time.Since(start)
	close(errs)
	for err := range errs {
		return t, err
	}
	if derr != nil {
		return t, derr
	}
	if t.Frames != total {
		return t, fmt.Errorf("read %d of %d frames", t.Frames, total)
	}
	return t, nil
}

// DetectBatch is the detect stage's batch in DetectStage, and in the bare
// decode and inference it is compared with.
const DetectBatch = 16

// DetectResult is what DetectStage measured.
type DetectResult struct {
	Throughput
	// FramesPerBatch is the mean inference batch; DecodeMs and InferMs are
	// per frame, summed over the workers and lanes that ran at once.
	FramesPerBatch, DecodeMs, InferMs float64
	// GPUDecoded is the share of frames the GPU decoder decoded.
	GPUDecoded float64
}

// DetectStage puts frames JPEGs (cycling over jpgs, 1280x720) of cameras
// cameras into the broker of conn, then times the detect stage with det
// from start until it has emitted detections for all of them (consume,
// header check, decode, letterbox, batched inference in the stage's lanes,
// produce, commit). The frames topic must be empty.
func DetectStage(ctx context.Context, conn *broker.Conn, top *topology.Topology, det detect.Detector, jpgs [][]byte, cameras, frames int) (DetectResult, error) {
	return DetectStageWith(ctx, conn, top, detect.Config{Detector: det, MaxBatch: DetectBatch, Workers: runtime.NumCPU()}, jpgs, cameras, frames)
}

// DetectStageWith is DetectStage with the stage configured by cfg (its
// batch, lanes, JPEG decoder).
func DetectStageWith(ctx context.Context, conn *broker.Conn, top *topology.Topology, cfg detect.Config, jpgs [][]byte, cameras, frames int) (DetectResult, error) {
	per := max(1, frames/cameras)
	var r DetectResult
	for c := 0; c < cameras; c++ {
		cl, err := conn.Client()
		if err != nil {
			return r, err
		}
		in, err := ingest.New(ingest.Config{CameraID: fmt.Sprintf("cam-%d", c), BlockID: "B1"}, cl, top)
		if err != nil {
			cl.Close()
			return r, err
		}
		st, err := in.Run(ctx, &jpegSource{imgs: jpgs, n: per})
		cl.Close()
		if err != nil {
			return r, err
		}
		r.Bytes += int(st.Bytes)
	}
	r.Frames = per * cameras
	p, err := detect.New(cfg, conn, top)
	if err != nil {
		return r, err
	}
	if r.Elapsed, err = timeStage(ctx, "detect", p.Run, p.Stats.Frames.Load, int64(r.Frames)); err != nil {
		return r, err
	}
	r.FramesPerBatch = float64(p.Stats.Frames.Load()) / float64(max(1, p.Stats.Batches.Load()))
	r.DecodeMs = float64(p.Stats.DecodeNanos.Load()) / 1e6 / float64(r.Frames)
	r.InferMs = float64(p.Stats.InferNanos.Load()) / 1e6 / float64(r.Frames)
	r.GPUDecoded = float64(p.Stats.GPUDecoded.Load()) / float64(r.Frames)
	return r, nil
}

// TrackStage puts frames detections records of cameras cameras (TrackFrames:
// about 30 boxes a frame) into the broker of conn, then times the track
// stage from start until it has applied them all (goka: the camera's tracker
// state from the table, one step, objects emitted, the state written back).
// The detections topic must be empty.
func TrackStage(ctx context.Context, conn *broker.Conn, top *topology.Topology, cameras, frames int) (Throughput, error) {
	cl, err := conn.Client(kgo.ProducerLinger(5 * time.Millisecond))
	if err != nil {
		return Throughput{}, err
	}
	fs := TrackFrames(max(frames/cameras, 1), 30)
	var recs []*kgo.Record
	for c := 0; c < cameras; c++ {
		cam := fmt.Sprintf("cam-%d", c)
		for _, f := range fs {
			d := &schema.Detections{FrameId: fmt.Sprintf("%s-%d", cam, f.Seq), CameraId: cam, FieldId: "F1", BlockId: "B1", RowId: f.RowID,
				Sequence: f.Seq, CaptureUnixNs: int64(f.Seq) * 1e8, PositionM: f.PositionM, Width: uint32(f.Width), Height: 720, Model: "bench"}
			for _, x := range f.Dets {
				d.Detections = append(d.Detections, &schema.Detection{ClassId: uint32(x.Class), Score: float32(x.Score),
					Box: &schema.Box{X1: float32(x.X1), Y1: float32(x.Y1), X2: float32(x.X2), Y2: float32(x.Y2)}})
			}
			val, err := schema.Encode(d)
			if err != nil {
				cl.Close()
				return Throughput{}, err
			}
			recs = append(recs, &kgo.Record{Topic: string(topology.Detections), Key: []byte(cam), Value: val})
		}
	}
	err = cl.ProduceSync(ctx, recs...).FirstErr()
	cl.Close()
	if err != nil {
		return Throughput{}, err
	}
	p, err := track.New(track.Config{}, conn)
	if err != nil {
		return Throughput{}, err
	}
	t := Throughput{Frames: len(recs)}
	t.Elapsed, err = timeStage(ctx, "track", p.Run, p.Stats.Frames.Load, int64(len(recs)))
	return t, err
}

// timeStage runs a stage until done() reaches total (its input is already in
// the broker), stops it, and returns the time from start to the last record.
func timeStage(ctx context.Context, name string, run func(context.Context) error, done func() int64, total int64) (time.Duration, error) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	stopped := make(chan error, 1)
	start := time.Now()
	go func() { stopped <- run(rctx) }()
	for done() < total && rctx.Err() == nil {
		select {
		case err := <-stopped:
			return 0, fmt.Errorf("%s stage stopped after %d of %d records: %v", name, done(), total, err)
		case <-time.After(2 * time.Millisecond):
		}
	}
	elapsed := time.Since(start)
	cancel()
	if err := <-stopped; err != nil {
		return elapsed, err
	}
	if got := done(); got < total {
		return elapsed, fmt.Errorf("%s stage did %d of %d records in time", name, got, total)
	}
	return elapsed, nil
}

// TrackFrames makes n frames of a camera moving along a row at 12 px a
// frame past a field of fruit, with about dets detections in view per
// frame (jittered boxes, scores 0.3-1).
func TrackFrames(n, dets int) []track.Frame {
	rng := rand.New(rand.NewPCG(1, 2))
	const width, height, step = 1280, 720, 12.0
	total := int(float64(dets) * (float64(n)*step + width) / width)
	xs, ys := make([]float64, total), make([]float64, total)
	for i := range xs {
		xs[i], ys[i] = rng.Float64()*(float64(n)*step+width), rng.Float64()*(height-40)
	}
	frames := make([]track.Frame, n)
	for f := range frames {
		cam := float64(f) * step
		pos := cam / 100
		fr := track.Frame{Seq: uint64(f + 1), RowID: "R1", Width: width, PositionM: &pos}
		for i := range xs {
			x := xs[i] - cam
			if x < 0 || x > width-30 {
				continue
			}
			j := rng.NormFloat64()
			fr.Dets = append(fr.Dets, track.Det{X1: x + j, Y1: ys[i] + j, X2: x + 30 + j, Y2: ys[i] + 30, Score: 0.3 + 0.7*rng.Float64()})
		}
		frames[f] = fr
	}
	return frames
}

// TrackerFPS runs the tracker over frames n times in a row (one camera,
// one goroutine) and returns frames per second.
func TrackerFPS(frames []track.Frame, n int) float64 {
	start := time.Now()
	var st *track.State
	for i := 0; i < n; i++ {
		if i%len(frames) == 0 {
			st = &track.State{}
		}
		st.Step(track.Params{}, frames[i%len(frames)])
	}
	return float64(n) / time.Since(start).Seconds()
}
