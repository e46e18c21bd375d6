package sinks

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Where the sink reads from is decided by what the store holds, not by the
// Kafka commit: on assignment (startAt) and after the store lost its
// tables (refill).

// startAt, called with the offsets committed for newly assigned
// partitions, loads the highest offset each table holds per partition and
// reads each partition from just after it (from the earliest offset Kafka
// keeps when the table holds none of it), whatever the commit says: a store
// dropped, or restored from an older backup, is refilled with what Kafka
// still holds. It logs each partition it moves back before its commit, and
// as an error the records retention has already deleted.
func (s *Sink) startAt(ctx context.Context, offs map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	var starts kadm.ListedOffsets
	for topic, parts := range offs {
		b := s.byTopic[topic]
		if b == nil {
			continue
		}
		var have map[int32]int64
		err := s.retry(ctx, "resume "+b.table.Name, func() (err error) {
			have, err = s.cfg.Store.Resume(ctx, b.table)
			if !errors.Is(err, ErrStoreLost) {
				return err
			}
			// Dropped since the sink prepared it: make the tables again,
			// and have the poll loop move every partition back (the other
			// tables may have been resumed before the drop).
			s.cfg.Logger.Warn("sink: the store lost its tables (dropped?): preparing it again", "table", b.table.Name)
			s.mu.Lock()
			s.lost = true
			s.mu.Unlock()
			if err := s.cfg.Store.Prepare(ctx, s.cfg.Tables); err != nil {
				return fmt.Errorf("prepare again: %v", err)
			}
			if have, err = s.cfg.Store.Resume(ctx, b.table); err != nil {
				return fmt.Errorf("after preparing again: %v", err) // not ErrStoreLost: retried
			}
			return nil
		})
		if err != nil {
			// Only when the session ends: the next one tries again.
			return nil, fmt.Errorf("sink: offsets %s holds: %w", b.table.Name, err)
		}
		s.mu.Lock()
		if s.resume[topic] == nil {
			s.resume[topic] = map[int32]int64{}
		}
		for p := range parts {
			if o, ok := have[p]; ok {
				s.resume[topic][p] = o
			} else {
				delete(s.resume[topic], p)
			}
		}
		s.mu.Unlock()
		for p, committed := range parts {
			stored, ok := have[p]
			next := kgo.NewOffset().AtStart()
			from := int64(0)
			if ok {
				next = kgo.NewOffset().At(stored + 1).WithEpoch(-1)
				from = stored + 1
				// Where reading starts is what the next commit says, even
				// when nothing more arrives: a commit left behind the store
				// (a run stopped between its insert and its commit) would
				// otherwise show lag forever.
				s.mu.Lock()
				if s.next[topic] == nil {
					s.next[topic] = map[int32]int64{}
				}
				if s.next[topic][p] < from {
					s.next[topic][p] = from
				}
				s.mu.Unlock()
			}
			parts[p] = next
			if c := committed.EpochOffset().Offset; c > from {
				// Records without rows (frames without boxes) get here too,
				// so this is news, not a fault, unless the gap is large.
				s.cfg.Logger.Info("sink: reading again from after the last record the store holds, before Kafka's commit",
					"table", b.table.Name, "partition", p, "from", from, "committed", c)
				if starts == nil {
					starts = s.startOffsets(ctx)
				}
				if so, ok := starts.Lookup(topic, p); ok && so.Offset > from {
					s.cfg.Logger.Error("sink: retention has deleted records after the last one the store holds; their rows cannot be stored again",
						"table", b.table.Name, "partition", p, "lost_from", from, "lost_to", so.Offset-1, "count", so.Offset-from)
				}
			}
		}
	}
	return offs, nil
}

// startOffsets lists the earliest offset Kafka keeps per partition (nil
// when the brokers do not say: only a log line depends on it).
func (s *Sink) startOffsets(ctx context.Context) kadm.ListedOffsets {
	adm, cl, err := s.conn.Admin()
	if err != nil {
		return nil
	}
	defer cl.Close()
	topics := make([]string, 0, len(s.byTopic))
	for t := range s.byTopic {
		topics = append(topics, t)
	}
	l, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		s.cfg.Logger.Warn("sink: earliest offsets", "err", err)
		return nil
	}
	return l
}

// refill runs after the store reported ErrStoreLost, with the poll loop's
// lock held and rebalances blocked: it drops every row held, prepares the
// store again (recreating its tables) and moves every owned partition back
// to just after the last record the store still holds, as startAt does on
// assignment. Called with s.mu held.
func (s *Sink) refill(ctx context.Context, cl *kgo.Client) error {
	for _, b := range s.byTopic {
		if b.done != nil {
			<-b.done
			b.done = nil
		}
		b.rows.Reset()
		clear(b.pending)
		clear(b.sending)
	}
	s.lost = false
	s.cfg.Logger.Warn("sink: the store lost its tables (dropped?): preparing it again and re-reading what it lacks from Kafka")
	if err := s.retry(ctx, "prepare tables", func() error { return s.cfg.Store.Prepare(ctx, s.cfg.Tables) }); err != nil {
		return err
	}
	offs := map[string]map[int32]kgo.Offset{}
	for topic, parts := range s.owned {
		if len(parts) == 0 {
			continue
		}
		offs[topic] = map[int32]kgo.Offset{}
		for p := range parts {
			next := s.next[topic][p]
			if next == 0 {
				next = -1 // nothing read yet: no commit to compare with
			}
			offs[topic][p] = kgo.NewOffset().At(next)
		}
	}
	s.mu.Unlock()
	offs, err := s.startAt(ctx, offs)
	s.mu.Lock()
	if err != nil {
		return err
	}
	var starts kadm.ListedOffsets
	set := map[string]map[int32]kgo.EpochOffset{}
	for topic, parts := range offs {
		set[topic] = map[int32]kgo.EpochOffset{}
		for p, o := range parts {
			at := o.EpochOffset().Offset
			if at < 0 { // the store holds nothing of it: the earliest Kafka keeps
				if starts == nil {
					starts = s.startOffsets(ctx)
				}
				at = 0
				if so, ok := starts.Lookup(topic, p); ok {
					at = so.Offset
				}
			}
			set[topic][p] = kgo.EpochOffset{Epoch: -1, Offset: at}
			delete(s.next[topic], p)
		}
	}
	cl.SetOffsets(set)
	return nil
}

// assigned records the partitions this instance now owns.
func (s *Sink) assigned(a map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for topic, parts := range a {
		if s.owned[topic] == nil {
			s.owned[topic] = map[int32]bool{}
		}
		for _, p := range parts {
			s.owned[topic][p] = true
		}
	}
}
