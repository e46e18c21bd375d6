package sinks_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/sinks"
	"github.com/cropstream/cropstream/sinks/jsonfile"
	"github.com/cropstream/cropstream/topology"
)

// An undecodable record of a topic a stage reads (frames: detect) is that
// stage's to dead-letter, once; the sink dead-letters only those of topics
// no stage reads (yield).
func TestSinkLeavesDeadLettersToTheStage(t *testing.T) {
	conn, cl := openBroker(t, 1)
	ctx := context.Background()
	garbage := []byte{0xff, 0xff, 0xff}
	if err := cl.ProduceSync(ctx,
		&kgo.Record{Topic: string(topology.Frames), Key: []byte("cam"), Value: garbage},
		&kgo.Record{Topic: string(topology.Yield), Key: []byte("B1"), Value: garbage},
	).FirstErr(); err != nil {
		t.Fatal(err)
	}
	st, err := jsonfile.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := sinks.New(sinks.Config{Store: st, MaxAge: 100 * time.Millisecond}, conn)
	if err != nil {
		t.Fatal(err)
	}
	stop := runSink(t, s)
	deadline := time.Now().Add(20 * time.Second)
	for s.Stats.Records.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	stop()
	var topics []string
	for _, r := range brokertest.ReadAll(t, conn, topology.DLQ) {
		if d, err := schema.DecodeDeadLetter(r.Value); err == nil {
			topics = append(topics, d.SourceTopic)
		}
	}
	if len(topics) != 1 || topics[0] != string(topology.Yield) {
		t.Fatalf("the sink dead-lettered records of %q, want only the yield record's", topics)
	}
}
