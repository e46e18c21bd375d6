package fieldmap

import (
	"context"
	"fmt"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// Table is the field map in force, kept up to date from the compacted fields
// topic by Run, for stages that look blocks up while they process. Get is
// nil for a block the field map does not have (or whose record does not
// decode).
type Table struct {
	*broker.Table[*schema.FieldBlock]
}

// NewTable makes an empty table; Run fills it.
func NewTable() *Table {
	return &Table{broker.NewTable(topology.Fields, func(key string, value []byte) (*schema.FieldBlock, error) {
		b, err := schema.DecodeFieldBlock(value)
		if err == nil && b.BlockId != key {
			err = fmt.Errorf("field map: block %q keyed %q", b.BlockId, key)
		}
		return b, err
	})}
}

// Serve runs the table's reader and, once the table holds what the topic
// held at start, run (broker.ServeLookups).
func (t *Table) Serve(ctx context.Context, conn *broker.Conn, run func(context.Context) error) error {
	return broker.ServeLookups(ctx, conn, run, t)
}
