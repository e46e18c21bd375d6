package fieldmap

import (
	"context"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// Publish writes the blocks to the fields topic and the hand counts to theirs,
// keyed by block with cropstream's (goka-compatible) partitioner, and waits
// for the broker's acknowledgement.
func Publish(ctx context.Context, conn *broker.Conn, blocks []*schema.FieldBlock, hand []*schema.HandCounts) error {
	recs, err := broker.Records(topology.Fields, blocks, (*schema.FieldBlock).GetBlockId)
	if err != nil {
		return err
	}
	counts, err := broker.Records(topology.HandCounts, hand, (*schema.HandCounts).GetBlockId)
	if err != nil {
		return err
	}
	if err := broker.Produce(ctx, conn, append(recs, counts...)...); err != nil {
		return fmt.Errorf("publish field map: %w", err)
	}
	return nil
}

// WritePublished prints one line per block Publish wrote: its field, crop
// and rows.
func WritePublished(w io.Writer, blocks []*schema.FieldBlock) {
	for _, b := range blocks {
		fmt.Fprintf(w, "block %s (field %s): %s, %d rows\n", b.BlockId, b.FieldId, b.Crop, len(b.Rows))
	}
}

// InForce is what the compacted topics hold now: the latest record per block.
type InForce struct {
	Blocks     map[string]*schema.FieldBlock
	HandCounts map[string]*schema.HandCounts
}

// Read reads both compacted topics whole. Records that do not decode are
// skipped (the stages dead-letter them).
func Read(ctx context.Context, conn *broker.Conn) (*InForce, error) {
	blocks, err := latest(ctx, conn, topology.Fields, schema.DecodeFieldBlock)
	if err != nil {
		return nil, err
	}
	hand, err := latest(ctx, conn, topology.HandCounts, schema.DecodeHandCounts)
	if err != nil {
		return nil, err
	}
	return &InForce{Blocks: blocks, HandCounts: hand}, nil
}

// latest is a compacted topic's latest value per key, read whole; a key
// whose latest record is a tombstone is gone.
func latest[T any](ctx context.Context, conn *broker.Conn, topic topology.Topic, decode func([]byte) (T, error)) (map[string]T, error) {
	recs, err := broker.ReadAll(ctx, conn, topic, time.Second)
	if err != nil {
		return nil, err
	}
	out := map[string]T{}
	for _, r := range recs {
		if v, err := decode(r.Value); err == nil {
			out[string(r.Key)] = v
		} else if r.Value == nil {
			delete(out, string(r.Key))
		}
	}
	return out, nil
}

// Write prints one line per block, in block order: field, crop, rows,
// plants, sample plants hand-counted, and when it was last updated.
func (in *InForce) Write(w io.Writer) error {
	var ids []string
	for id := range in.Blocks {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIELD\tBLOCK\tCROP\tROWS\tPLANTS\tSAMPLE PLANTS\tUPDATED")
	for _, id := range ids {
		b := in.Blocks[id]
		plants := 0
		for _, r := range b.Rows {
			plants += int(r.Plants)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\n", b.FieldId, b.BlockId, b.Crop, len(b.Rows), plants,
			len(in.HandCounts[id].GetPlants()), time.Unix(0, b.UpdatedUnixNs).UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}
