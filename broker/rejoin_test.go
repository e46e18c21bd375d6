package broker

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/topology"
)

// countCodec is a table value: a count.
type countCodec struct{}

func (countCodec) Encode(v any) ([]byte, error) { return binary.AppendUvarint(nil, v.(uint64)), nil }
func (countCodec) Decode(b []byte) (any, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, fmt.Errorf("count: %d bytes", len(b))
	}
	return n, nil
}

// A goka stage outlives broker restarts: the broker is stopped and started
// again twice while records flow, and every record reaches the stage.
func TestRunProcessorRejoinsAfterBrokerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("broker restarts: about 30 s")
	}
	dir := t.TempDir()
	top := testTopology(t)
	e, err := startEmbedded(dir, 0, top.MaxRecordBytes()+(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { e.Close() }()
	ctx := context.Background()
	conn, err := Open(ctx, Config{Brokers: []string{e.Addr()}}, top)
	if err != nil {
		t.Fatal(err)
	}
	adm, acl, err := conn.Admin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureTopics(ctx, adm, top, false); err != nil {
		t.Fatal(err)
	}
	acl.Close()

	var applied atomic.Int64
	seen := map[string]bool{}
	var mu = make(chan struct{}, 1)
	g := goka.DefineGroup("rejoin-test",
		goka.Input(goka.Stream(topology.Objects), new(codec.Bytes), func(gc goka.Context, msg any) {
			n, _ := gc.Value().(uint64)
			gc.SetValue(n + 1)
			mu <- struct{}{}
			if !seen[string(msg.([]byte))] {
				seen[string(msg.([]byte))] = true
				applied.Add(1)
			}
			<-mu
		}),
		goka.Persist(countCodec{}),
	)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- conn.RunProcessor(rctx, "rejoin-test", g) }()

	cl, err := conn.Client(kgo.RecordRetries(1000), kgo.RetryTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	sent := 0
	produce := func(n int) {
		for i := 0; i < n; i++ {
			r := &kgo.Record{Topic: string(topology.Objects), Key: []byte("B" + strconv.Itoa(sent%4)), Value: []byte(strconv.Itoa(sent))}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
			sent++
		}
	}
	waitApplied := func(n int64, within time.Duration) {
		deadline := time.Now().Add(within)
		for applied.Load() < n && time.Now().Before(deadline) {
			select {
			case err := <-done:
				t.Fatalf("stage stopped: %v", err)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	produce(200)
	waitApplied(200, 30*time.Second)
	for restart := 1; restart <= 2; restart++ {
		e.Close()
		time.Sleep(500 * time.Millisecond)
		e, err = startEmbedded(dir, 0, top.MaxRecordBytes()+(1<<20))
		if err != nil {
			t.Fatalf("restart %d: %v", restart, err)
		}
		produce(200)
		waitApplied(int64(sent), 60*time.Second)
	}
	select {
	case err := <-done:
		t.Fatalf("stage stopped after the restarts: %v", err)
	default:
	}
	// Every record reached the stage (replays are the stages' business: the
	// process tests check exact counts through aggregate's dedup).
	if n := applied.Load(); n != int64(sent) {
		t.Fatalf("%d of %d records applied", n, sent)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
}

func TestRetriable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("track: %w", &sarama.ProducerError{Err: sarama.ErrOutOfBrokers}), true},
		{fmt.Errorf("commit: %w", sarama.ErrIllegalGeneration), true},
		{fmt.Errorf("detect: commit: %w", kerr.IllegalGeneration), true},
		{fmt.Errorf("poll: %w", kerr.UnknownMemberID), true},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		// As goka reports a partition it could not set up after a broker
		// restart: the client's error kept as text only.
		{fmt.Errorf("track: Setup failed. Cannot start processor for partition 2: Error getting oldest offset for topic/partition track-table/2: %v",
			fmt.Errorf("%w: kafka: broker not connected; EOF", sarama.ErrOutOfBrokers)), true},
		{fmt.Errorf("auth: %w", sarama.ErrSASLAuthenticationFailed), false},
		{fmt.Errorf("auth: %w", kerr.TopicAuthorizationFailed), false},
		{errors.New("track state version 9, this build reads 1"), false},
		{nil, false},
	} {
		if got := Retriable(c.err); got != c.want {
			t.Errorf("Retriable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
