package benchmarks

import (
	"context"
	"fmt"
	"testing"

	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/topology"
)

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
	b.SetBytes(int64(size))
	b.ResetTimer()
	t, err := IngestThroughput(context.Background(), conn, top, size, b.N, cameras)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(t.FPS(), "frames/s")
	b.ReportMetric(t.MBps()/TargetMBps, "x_target")
}
