package aggregate

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// CloseWindow asks the stage to close the block's window now and emit its
// final estimate (`cropstream yield close`): for a block whose rows will
// not all be passed. The record goes through cropstream's partitioner, to
// the partition that holds the block's state.
func CloseWindow(ctx context.Context, conn *broker.Conn, block, field string) error {
	val, err := schema.Encode(&schema.CountedObject{BlockId: block, FieldId: field, Control: schema.ControlCloseWindow})
	if err != nil {
		return err
	}
	if err := broker.Produce(ctx, conn, &kgo.Record{Topic: string(topology.Objects), Key: []byte(block), Value: val}); err != nil {
		return fmt.Errorf("close window of block %s: %w", block, err)
	}
	return nil
}

// Lookups are the compacted topics the stage reads whole, beside its goka
// graph: the field map (fieldmap.Table).
func (p *Processor) Lookups() []topology.Topic { return []topology.Topic{topology.Fields} }
