package fieldmap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// Table is the field map in force, kept up to date from the compacted fields
// topic by Run, for stages that look blocks up while they process. (A goka
// lookup view would do the same, but goka closes a view while its processor's
// callbacks may still read it: a data race at every shutdown.)
type Table struct {
	mu     sync.RWMutex
	blocks map[string]*schema.FieldBlock
	ready  chan struct{}
	once   sync.Once
}

// NewTable makes an empty table; Run fills it.
func NewTable() *Table {
	return &Table{blocks: map[string]*schema.FieldBlock{}, ready: make(chan struct{})}
}

// Get is the block's entry, nil when the field map has none (or its record
// does not decode).
func (t *Table) Get(block string) *schema.FieldBlock {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.blocks[block]
}

// Ready is closed once the table holds everything the topic held when Run
// started.
func (t *Table) Ready() <-chan struct{} { return t.ready }

// Run reads the fields topic from its start and follows it until ctx ends.
func (t *Table) Run(ctx context.Context, conn *broker.Conn) error {
	adm, acl, err := conn.Admin()
	if err != nil {
		return err
	}
	ends, err := adm.ListEndOffsets(ctx, string(topology.Fields))
	acl.Close()
	if err != nil {
		return fmt.Errorf("field map: end offsets: %w", err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil && o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	if len(want) == 0 {
		t.once.Do(func() { close(t.ready) })
	}
	cl, err := conn.Client(kgo.ConsumeTopics(string(topology.Fields)), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
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
				slog.Warn("field map: fetch", "partition", p, "err", e)
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			t.mu.Lock()
			if b, err := schema.DecodeFieldBlock(r.Value); err == nil && b.BlockId == string(r.Key) {
				t.blocks[b.BlockId] = b
			} else if r.Value == nil {
				delete(t.blocks, string(r.Key)) // a tombstone: the block is gone
			} else {
				slog.Warn("field map: record skipped", "key", string(r.Key), "offset", r.Offset, "err", err)
			}
			t.mu.Unlock()
			if end, ok := want[r.Partition]; ok && r.Offset+1 >= end {
				delete(want, r.Partition)
				if len(want) == 0 {
					t.once.Do(func() { close(t.ready) })
				}
			}
		})
	}
}

// Serve runs the table's reader and, once the table holds what the topic
// held at start, run: a stage's first records are then placed by the field
// map in force. Both stop when either fails or ctx ends.
func (t *Table) Serve(ctx context.Context, conn *broker.Conn, run func(context.Context) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return t.Run(ctx, conn) })
	g.Go(func() error {
		select {
		case <-t.Ready():
		case <-ctx.Done():
			return nil
		}
		return run(ctx)
	})
	return g.Wait()
}
