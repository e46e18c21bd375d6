package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/topology"
)

// ReadAll reads every record of topic from the start up to the end offsets
// it finds when called; it fails when max(idle, 15s) pass without a record
// before those are reached. (Reading to the end offsets, not to the first
// quiet moment, is what makes it whole: a first fetch can be slow.)
func ReadAll(ctx context.Context, conn *Conn, topic topology.Topic, idle time.Duration) ([]*kgo.Record, error) {
	adm, acl, err := conn.Admin()
	if err != nil {
		return nil, err
	}
	// A partition's end offset can fail transiently (a broker busy at
	// start-up); ask again rather than read less than there is.
	var want map[int32]int64
	for attempt := 0; ; attempt++ {
		want = map[int32]int64{}
		ends, err := adm.ListEndOffsets(ctx, string(topic))
		if err == nil {
			ends.Each(func(o kadm.ListedOffset) {
				if o.Err != nil {
					err = errors.Join(err, fmt.Errorf("read %s[%d]: end offset: %w", topic, o.Partition, o.Err))
				} else if o.Offset > 0 {
					want[o.Partition] = o.Offset
				}
			})
		}
		if err == nil {
			break
		}
		if attempt == 4 || ctx.Err() != nil {
			acl.Close()
			return nil, fmt.Errorf("read %s: end offsets: %w", topic, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	acl.Close()
	if len(want) == 0 {
		return nil, nil
	}
	cl, err := conn.Client(kgo.ConsumeTopics(string(topic)), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var out []*kgo.Record
	patience := max(idle, 15*time.Second)
	progress := time.Now()
	for len(want) > 0 {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		var ferr error
		fs.EachError(func(_ string, _ int32, e error) {
			if !errors.Is(e, context.DeadlineExceeded) && !errors.Is(e, context.Canceled) {
				ferr = e
			}
		})
		if ferr != nil {
			return nil, ferr
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if fs.NumRecords() == 0 {
			if time.Since(progress) > patience {
				return out, fmt.Errorf("read %s: nothing new for %s with %d partitions short of their end offsets %v (read %d records)", topic, patience, len(want), want, len(out))
			}
			continue
		}
		progress = time.Now()
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, r)
			if end, ok := want[r.Partition]; ok && r.Offset+1 >= end {
				delete(want, r.Partition)
			}
		})
	}
	return out, nil
}
