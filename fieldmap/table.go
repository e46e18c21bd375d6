package fieldmap

import (
	"context"
	"log/slog"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

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
	return broker.Follow(ctx, conn, topology.Fields, t.apply, func() { t.once.Do(func() { close(t.ready) }) })
}

func (t *Table) apply(r *kgo.Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if b, err := schema.DecodeFieldBlock(r.Value); err == nil && b.BlockId == string(r.Key) {
		t.blocks[b.BlockId] = b
	} else if r.Value == nil {
		delete(t.blocks, string(r.Key)) // a tombstone: the block is gone
	} else {
		slog.Warn("field map: record skipped", "key", string(r.Key), "offset", r.Offset, "err", err)
	}
}

// Serve runs the table's reader and, once the table holds what the topic
// held at start, run (broker.ServeLookups).
func (t *Table) Serve(ctx context.Context, conn *broker.Conn, run func(context.Context) error) error {
	return broker.ServeLookups(ctx, conn, run, t)
}
