package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/cropstream/cropstream/topology"
)

// Follow reads topic (a compacted lookup) from its start and follows it
// until ctx ends, calling apply for every record in partition order, and
// caughtUp once every record the topic held when Follow started has been
// applied (at once when it held none). Fetch errors are logged and retried.
func Follow(ctx context.Context, conn *Conn, topic topology.Topic, apply func(*kgo.Record), caughtUp func()) error {
	adm, acl, err := conn.Admin()
	if err != nil {
		return err
	}
	ends, err := adm.ListEndOffsets(ctx, string(topic))
	acl.Close()
	if err != nil {
		return fmt.Errorf("follow %s: end offsets: %w", topic, err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil && o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	if len(want) == 0 {
		caughtUp()
	}
	cl, err := conn.Client(kgo.ConsumeTopics(string(topic)), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return err
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		fs.EachError(func(_ string, p int32, e error) {
			if !errors.Is(e, context.Canceled) {
				slog.Warn("follow: fetch", "topic", topic, "partition", p, "err", e)
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			apply(r)
			if end, ok := want[r.Partition]; ok && r.Offset+1 >= end {
				delete(want, r.Partition)
				if len(want) == 0 {
					caughtUp()
				}
			}
		})
	}
}

// Lookup is a table a stage reads whole from a compacted topic and looks up
// while it processes (the field map, count lines).
type Lookup interface {
	// Run follows the topic until ctx ends.
	Run(ctx context.Context, conn *Conn) error
	// Ready is closed once the table holds what the topic held at start.
	Ready() <-chan struct{}
}

// ServeLookups runs the lookups' readers and, once every one holds what its
// topic held at start, run: a stage's first records are then processed with
// the configuration in force. All stop when one fails or ctx ends.
func ServeLookups(ctx context.Context, conn *Conn, run func(context.Context) error, lookups ...Lookup) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, l := range lookups {
		g.Go(func() error { return l.Run(ctx, conn) })
	}
	g.Go(func() error {
		for _, l := range lookups {
			select {
			case <-l.Ready():
			case <-ctx.Done():
				return nil
			}
		}
		return run(ctx)
	})
	return g.Wait()
}

// Table is a compacted lookup topic held in memory by key and kept up to
// date by Run, for a stage to look entries up while it processes. (A goka
// lookup view would do the same, but goka closes a view while its
// processor's callbacks may still read it: a data race at every shutdown.)
type Table[V any] struct {
	topic  topology.Topic
	decode func(key string, value []byte) (V, error)
	mu     sync.RWMutex
	m      map[string]V
	ready  chan struct{}
	once   sync.Once
}

// NewTable makes an empty table of topic; Run fills it. decode turns a
// record into its key's entry; a record it refuses is skipped with a
// warning (the key keeps its entry), and a tombstone removes the key.
func NewTable[V any](topic topology.Topic, decode func(key string, value []byte) (V, error)) *Table[V] {
	return &Table[V]{topic: topic, decode: decode, m: map[string]V{}, ready: make(chan struct{})}
}

// Get is key's entry, the zero V when it has none.
func (t *Table[V]) Get(key string) V {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.m[key]
}

// Ready is closed once the table holds everything the topic held when Run
// started.
func (t *Table[V]) Ready() <-chan struct{} { return t.ready }

// Run reads the topic from its start and follows it until ctx ends.
func (t *Table[V]) Run(ctx context.Context, conn *Conn) error {
	return Follow(ctx, conn, t.topic, t.apply, func() { t.once.Do(func() { close(t.ready) }) })
}

func (t *Table[V]) apply(r *kgo.Record) {
	key := string(r.Key)
	if r.Value == nil {
		t.mu.Lock()
		delete(t.m, key)
		t.mu.Unlock()
		return
	}
	v, err := t.decode(key, r.Value)
	if err != nil {
		slog.Warn("lookup: record skipped", "topic", t.topic, "key", key, "offset", r.Offset, "err", err)
		return
	}
	t.mu.Lock()
	t.m[key] = v
	t.mu.Unlock()
}
