package benchmarks

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/fieldmap"
	"github.com/cropstream/cropstream/processors/aggregate"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// BenchmarkAggregateStage: counted objects already in the embedded broker
// (4 blocks of 10 rows of 100 plants, 8 cameras, or 5,000 per block) go
// through the aggregate stage (goka: decode, dedup, per block/row/plant
// totals in its table); objects/s from start to the last one applied. The
// objects name their place as the track stage writes them (detections
// partition of their camera, offset, index).
func BenchmarkAggregateStage(b *testing.B) {
	for _, cameras := range []int{8, 5000} {
		b.Run(fmt.Sprintf("cameras-per-block=%d", cameras), func(b *testing.B) { benchAggregate(b, cameras) })
	}
}

func benchAggregate(b *testing.B, camerasPerBlock int) {
	conn, _ := brokertest.Open(b, topology.Config{})
	ctx := context.Background()
	cl, err := conn.Client(kgo.ProducerLinger(5 * time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	n := max(b.N, 8)
	var recs []*kgo.Record
	offsets := map[int32]int64{}
	for i := 0; i < n; i++ {
		block := fmt.Sprintf("B%d", i%4)
		cam := fmt.Sprintf("%s-cam-%d", block, (i/4)%camerasPerBlock)
		part := int32(fnv32a(cam) % 8)
		offsets[part]++
		off := offsets[part]
		pos := float64(i%1000) * 0.15
		o := &schema.CountedObject{ObjectId: fmt.Sprintf("%s-%d", cam, i), CameraId: cam,
			SourcePartition: part, SourceOffset: &off, FieldId: "F1", BlockId: block,
			RowId: fmt.Sprintf("%s-R%d", block, 1+(i/4)%10), ClassId: 0, ClassName: "apple", FirstSequence: uint64(i), LastSequence: uint64(i + 20),
			FirstSeenUnixNs: int64(i) * 1e8, LastSeenUnixNs: int64(i+20) * 1e8, PositionM: &pos, FramesSeen: 20,
			BestBox: &schema.Box{X1: 10, Y1: 10, X2: 50, Y2: 50}, BestScore: 0.9}
		val, err := schema.Encode(o)
		if err != nil {
			b.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: string(topology.Objects), Key: []byte(block), Value: val})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		b.Fatal(err)
	}
	cl.Close()
	var blocks []*schema.FieldBlock
	for k := 0; k < 4; k++ {
		fb := &schema.FieldBlock{FieldId: "F1", BlockId: fmt.Sprintf("B%d", k), Crop: "apple"}
		for r := 1; r <= 10; r++ {
			fb.Rows = append(fb.Rows, &schema.FieldRow{RowId: fmt.Sprintf("%s-R%d", fb.BlockId, r), Plants: 100, PlantSpacingM: 1.5})
		}
		blocks = append(blocks, fb)
	}
	if err := fieldmap.Publish(ctx, conn, blocks, nil); err != nil {
		b.Fatal(err)
	}
	p, err := aggregate.New(aggregate.Config{}, conn)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := processCPU()
	elapsed, err := timeStage(ctx, "aggregate", p.Run, p.Stats.Objects.Load, int64(n))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "objects/s")
	// CPU time (stage and embedded broker) tells the per-object cost apart
	// from other work on a shared machine.
	b.ReportMetric(float64(n)/(processCPU()-cpu0).Seconds(), "objects/cpu-s")
}

func fnv32a(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
