package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/cropstream/cropstream/topology"
)

// Follow reads topics (compacted lookups) from their start and follows them
// until ctx ends, calling apply for every record in partition order, and
// caughtUp once every record the topics held when Follow started has been
// applied (at once when they held none). Fetch errors are logged and
// retried; it returns nil when ctx ends.
func Follow(ctx context.Context, conn *Conn, apply func(*kgo.Record), caughtUp func(), topics ...topology.Topic) error {
	names := make([]string, len(topics))
	for i, t := range topics {
		names[i] = string(t)
	}
	adm, acl, err := conn.Admin()
	if err != nil {
		return err
	}
	ends, err := adm.ListEndOffsets(ctx, names...)
	acl.Close()
	if err != nil {
		return fmt.Errorf("follow %s: end offsets: %w", strings.Join(names, ","), err)
	}
	type place struct {
		topic     string
		partition int32
	}
	want := map[place]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil && o.Offset > 0 {
			want[place{o.Topic, o.Partition}] = o.Offset
		}
	})
	if len(want) == 0 {
		caughtUp()
	}
	cl, err := conn.Client(kgo.ConsumeTopics(names...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return err
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		fs.EachError(func(t string, p int32, e error) {
			if !errors.Is(e, context.Canceled) {
				slog.Warn("follow: fetch", "topic", t, "partition", p, "err", e)
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			apply(r)
			at := place{r.Topic, r.Partition}
			if end, ok := want[at]; ok && r.Offset+1 >= end {
				delete(want, at)
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
	return Follow(ctx, conn, t.apply, func() { t.once.Do(func() { close(t.ready) }) }, t.topic)
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
