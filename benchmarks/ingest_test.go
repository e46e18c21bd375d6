package benchmarks

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/ingest"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// TargetMBps is 5 TB/day of frames.
const TargetMBps = 5e12 / 86400 / 1e6

// jpegSource yields n pre-encoded "JPEGs" of a fixed size: the benchmark
// measures the path through Kafka, not JPEG encoding (see the decode bench).
type jpegSource struct {
	img  []byte
	n, i int
}

func (s *jpegSource) Next(context.Context) (ingest.Captured, error) {
	if s.i >= s.n {
		return ingest.Captured{}, io.EOF
	}
	c := ingest.Captured{JPEG: s.img, Width: 1280, Height: 720, Offset: time.Duration(s.i) * 100 * time.Millisecond}
	s.i++
	return c, nil
}
func (s *jpegSource) Info() ingest.SourceInfo {
	return ingest.SourceInfo{Name: "bench", FPS: 10, Frames: s.n}
}
func (s *jpegSource) Close() error { return nil }

// BenchmarkIngestThroughBroker: cameras ingest frames into the embedded broker
// (persisted to disk) while a consumer group reads them back and decodes them.
// MB/s counts JPEG bytes from the first produce to the last frame consumed.
func BenchmarkIngestThroughBroker(b *testing.B) {
	for _, size := range []int{100_000, 300_000} {
		b.Run(fmt.Sprintf("frame=%dKB", size/1000), func(b *testing.B) {
			benchIngest(b, size, 4)
		})
	}
}

func benchIngest(b *testing.B, size, cameras int) {
	conn, top := brokertest.Open(b, topology.Config{})
	ctx := context.Background()

	img := make([]byte, size)
	for i := range img {
		img[i] = byte(rand.IntN(256))
	}
	total := b.N
	per := (total + cameras - 1) / cameras
	total = per * cameras

	consumer, err := conn.Client(kgo.ConsumerGroup("bench-read"), kgo.ConsumeTopics(string(topology.Frames)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		b.Fatal(err)
	}
	defer consumer.Close()

	b.SetBytes(int64(size))
	b.ResetTimer()
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
			in, err := ingest.New(ingest.Config{CameraID: fmt.Sprintf("cam-%d", c), BlockID: "B1"}, cl, top)
			if err != nil {
				fail(err)
				return
			}
			if _, err := in.Run(rctx, &jpegSource{img: img, n: per}); err != nil {
				fail(err)
			}
		}(c)
	}
	read, bytes := 0, 0
	for read < total && rctx.Err() == nil {
		fs := consumer.PollFetches(rctx)
		fs.EachRecord(func(r *kgo.Record) {
			f, err := schema.DecodeFrame(r.Value)
			if err != nil {
				b.Fatal(err)
			}
			read++
			bytes += len(f.Image)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	if read != total {
		b.Fatalf("read %d of %d frames", read, total)
	}
	mbps := float64(bytes) / 1e6 / elapsed.Seconds()
	b.ReportMetric(float64(read)/elapsed.Seconds(), "frames/s")
	b.ReportMetric(mbps/TargetMBps, "x_target")
}
