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
