// Package brokertest starts, for tests and benchmarks, an embedded broker in
// a temporary directory with every topic of a topology created.
package brokertest

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/topology"
)

// Open serves a fresh embedded broker for the life of the test, with the
// topology of cfg created on it.
func Open(tb testing.TB, cfg topology.Config) (*broker.Conn, *topology.Topology) {
	tb.Helper()
	top, err := topology.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	conn, err := broker.Open(ctx, broker.Config{DataDir: tb.TempDir()}, top)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(conn.Close)
	adm, cl, err := conn.Admin()
	if err != nil {
		tb.Fatal(err)
	}
	defer cl.Close()
	if _, err := broker.EnsureTopics(ctx, adm, top, false); err != nil {
		tb.Fatal(err)
	}
	return conn, top
}

// ReadAll is every record of topic, as broker.ReadAll reads it, failing the
// test when it cannot be read whole.
func ReadAll(tb testing.TB, conn *broker.Conn, topic topology.Topic) []*kgo.Record {
	tb.Helper()
	recs, err := broker.ReadAll(context.Background(), conn, topic, time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	return recs
}

// ReadAs is every record of topic decoded by decode, failing the test on
// one that does not decode.
func ReadAs[T any](tb testing.TB, conn *broker.Conn, topic topology.Topic, decode func([]byte) (T, error)) []T {
	tb.Helper()
	var out []T
	for _, r := range ReadAll(tb, conn, topic) {
		v, err := decode(r.Value)
		if err != nil {
			tb.Fatalf("%s[%d] offset %d: %v", topic, r.Partition, r.Offset, err)
		}
		out = append(out, v)
	}
	return out
}

// Produce writes recs and waits for the broker's acknowledgement, failing
// the test on an error.
func Produce(tb testing.TB, conn *broker.Conn, recs ...*kgo.Record) {
	tb.Helper()
	if err := broker.Produce(context.Background(), conn, recs...); err != nil {
		tb.Fatal(err)
	}
}
