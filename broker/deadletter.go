package broker

import (
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// DeadLetter is the record that sends src, which stage could not process, to
// the dead-letter topic with the reason and src's topic, partition and offset
// (an ingest dead letter has no source: topic "", partition and offset -1).
// src's value is kept when it is at most the topology's MaxFrameBytes, the
// largest value any topic carries, so the dead letter fits every topic's
// record limit; its size is always recorded.
func DeadLetter(top *topology.Topology, stage, reason string, src *kgo.Record) *kgo.Record {
	// A reason quoting a corrupt record may hold bytes that are not UTF-8,
	// which a protobuf string field refuses to encode.
	reason = strings.ToValidUTF8(reason, "\uFFFD")
	d := schema.NewDeadLetter(stage, reason, src.Topic, src.Partition, src.Offset, src.Key, src.Value, top.Config.MaxFrameBytes)
	val, err := schema.Encode(d)
	if err != nil { // not seen: keep the reason rather than lose the record's trace
		val = []byte(reason)
	}
	return &kgo.Record{Topic: string(topology.DLQ), Key: src.Key, Value: val}
}
