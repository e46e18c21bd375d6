package sinks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/latency"
	"github.com/cropstream/cropstream/topology"
)

// Store is where rows land: ClickHouse, or files when none is configured.
type Store interface {
	// Prepare creates or updates the tables (idempotent).
	Prepare(ctx context.Context, tables []*Table) error
	// Resume returns the highest kafka_offset stored per kafka_partition.
	Resume(ctx context.Context, t *Table) (map[int32]int64, error)
	// Insert writes the block's rows. Every row of one call has the same
	// Day. One that fails may have stored some of them, but only whole
	// records and a prefix of each partition's (Block.Parts): before it
	// retries, the sink drops the rows of records Resume says are stored.
	// The block is the store's only while Insert runs.
	Insert(ctx context.Context, t *Table, rows *Block) error
	Close() error
}

// ErrStoreLost is wrapped by a Store's Insert when what it writes to is
// gone (a dropped database or table, a removed directory): retrying the same
// rows cannot help, and rows stored before may be gone too. The sink then
// prepares the store again and re-reads every partition it owns from just
// after what the store still holds.
var ErrStoreLost = errors.New("the store lost its tables")

// Pinger is a Store that can say whether it is reachable now.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Config configures a Sink.
type Config struct {
	Store Store
	// Tables to feed; default all of Tables().
	Tables []*Table
	// MaxRows flushes a table's batch at this many rows, unless its
	// previous insert is still in flight (see MaxRowsBehind); a record's
	// rows are never split, so a batch may pass it by one record's. Default
	// 100,000, chosen by BenchmarkSinkBatch (benchmarks/results.md): fewer
	// parts for the server to write and merge than 50,000.
	MaxRows int
	// MaxRowsBehind bounds a batch that grows past MaxRows while the
	// table's previous insert is in flight: the loop goes on reading into
	// it rather than wait, so a store that falls behind gets fewer, larger
	// inserts. Default 4 x MaxRows.
	MaxRowsBehind int
	// MaxAge flushes a batch this long after its first row. Default 1s.
	MaxAge time.Duration
	// RetryMin and RetryMax bound the backoff while the store refuses
	// inserts. Defaults 200ms and 10s.
	RetryMin, RetryMax time.Duration
	// ShutdownFlush is how long a stopping sink keeps trying to flush what it
	// holds; what it cannot flush is read again on restart. Default 30s.
	ShutdownFlush time.Duration
	Logger        *slog.Logger
}

func (c Config) withDefaults() Config {
	if len(c.Tables) == 0 {
		c.Tables = Tables()
	}
	if c.MaxRows == 0 {
		c.MaxRows = 100_000
	}
	if c.MaxRowsBehind == 0 {
		c.MaxRowsBehind = 4 * c.MaxRows
	}
	c.MaxRowsBehind = max(c.MaxRowsBehind, c.MaxRows)
	if c.MaxAge == 0 {
		c.MaxAge = time.Second
	}
	if c.RetryMin == 0 {
		c.RetryMin = 200 * time.Millisecond
	}
	if c.RetryMax == 0 {
		c.RetryMax = 10 * time.Second
	}
	if c.ShutdownFlush == 0 {
		c.ShutdownFlush = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Stats are the sink's counters, read while it runs.
type Stats struct {
	Records, Rows, Inserts, Retries, Skipped, DeadLetters atomic.Int64
	// InsertNanos is the total time spent in successful inserts.
	InsertNanos atomic.Int64
	// WaitNanos is the total time the loop stood waiting for an insert in
	// flight instead of decoding: how far the store, not the decode, holds
	// the sink back.
	WaitNanos atomic.Int64
	// Insert is the latency of each successful insert.
	Insert latency.Histogram
}

// Sink is a consumer group that feeds the tables.
type Sink struct {
	cfg   Config
	conn  *broker.Conn
	Stats Stats

	byTopic map[string]*batch
	mu      sync.Mutex // guards batches and resume against the rebalance callbacks
	// resume is the highest offset the store holds per topic and partition;
	// records at or below it are skipped (they are in already).
	resume map[string]map[int32]int64
	// next is the next offset to read per topic and partition: what is
	// committed once no row of it is pending.
	next map[string]map[int32]int64
	// tableRows counts rows stored per table by this instance.
	tableRows map[string]int64
	// owned are the partitions assigned to this instance, per topic.
	owned map[string]map[int32]bool
	// ends is each partition's last stable offset as of its latest fetch:
	// where next has reached every end of a topic, the sink has read all
	// there is of it.
	ends map[string]map[int32]int64
	// lost is set when an insert reported ErrStoreLost; the poll loop then
	// refills the store.
	lost bool
	// refused holds, per operation the sink is retrying, the store's last
	// error (until it succeeds): readiness reports it.
	refusedMu sync.Mutex
	refused   map[string]error
}

// Ready reports whether the sink can store rows: the store answers (when it
// can be asked) and is not refusing the inserts or reads the sink retries.
func (s *Sink) Ready(ctx context.Context) error {
	s.refusedMu.Lock()
	var errs []error
	for what, err := range s.refused {
		errs = append(errs, fmt.Errorf("%s: %w", what, err))
	}
	s.refusedMu.Unlock()
	if len(errs) > 0 {
		return fmt.Errorf("sink: store refuses: %w", errors.Join(errs...))
	}
	if p, ok := s.cfg.Store.(Pinger); ok {
		if err := p.Ping(ctx); err != nil {
			return fmt.Errorf("sink: store unreachable: %w", err)
		}
	}
	return nil
}

// TableRows returns how many rows this instance stored per table.
func (s *Sink) TableRows() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.tableRows))
	for k, v := range s.tableRows {
		out[k] = v
	}
	return out
}

type batch struct {
	table *Table
	rows  *Block
	// rec holds the rows of a record whose rows span days (addByDay).
	rec   *Block
	day   uint32
	since time.Time
	// pending is the first offset per partition with rows in the batch.
	pending map[int32]int64
	// One insert per table runs in the background while the loop decodes
	// the next batch; done reports its outcome, sending holds the first
	// offset per partition of its rows (uncommittable until it is in).
	done    chan error
	sending map[int32]int64
	sent    int
	// spare is the block of the last insert, reused once it is in.
	spare *Block
	// partial is when the table's last batch that was not full went.
	partial time.Time
}

// New makes a sink; Run starts it.
func New(cfg Config, conn *broker.Conn) (*Sink, error) {
	cfg = cfg.withDefaults()
	if cfg.Store == nil {
		return nil, errors.New("sink: a store is required")
	}
	s := &Sink{cfg: cfg, conn: conn, byTopic: map[string]*batch{},
		resume: map[string]map[int32]int64{}, next: map[string]map[int32]int64{}, tableRows: map[string]int64{},
		refused: map[string]error{}, owned: map[string]map[int32]bool{}, ends: map[string]map[int32]int64{}}
	for _, t := range cfg.Tables {
		s.byTopic[string(t.Topic)] = &batch{table: t, rows: NewBlock(t), rec: NewBlock(t), pending: map[int32]int64{}, sending: map[int32]int64{}}
	}
	return s, nil
}

// Run prepares the tables and feeds them until ctx ends. On the way out it
// flushes what it holds and commits; whatever it could not flush is read
// again by the next run and stored exactly once.
func (s *Sink) Run(ctx context.Context) error {
	if err := s.retry(ctx, "prepare tables", func() error { return s.cfg.Store.Prepare(ctx, s.cfg.Tables) }); err != nil {
		return err
	}
	// ictx outlives ctx by up to ShutdownFlush, so a stopping sink finishes
	// the inserts it started; it is passed to what inserts, never kept.
	ictx, icancel := context.WithCancel(context.WithoutCancel(ctx))
	defer icancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(s.cfg.ShutdownFlush, icancel) })
	defer stop()
	topics := topology.Names(s.Inputs())
	cl, err := s.conn.Client(
		kgo.ConsumerGroup(string(topology.SinkClickHouse)),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		// A killed instance holds its partitions until its session expires:
		// keep that short so a restart resumes within seconds.
		kgo.SessionTimeout(10*time.Second),
		kgo.RebalanceTimeout(20*time.Second),
		kgo.BlockRebalanceOnPoll(),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Where to read is the store's business, not the commit's: a store
		// restored from a backup, or dropped, is refilled from Kafka.
		kgo.AdjustFetchOffsetsFn(s.startAt),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) { s.assigned(a) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, r map[string][]int32) { s.revoked(r) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, r map[string][]int32) { s.revoked(r) }),
	)
	if err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	defer cl.Close()
	for {
		pctx, cancel := context.WithTimeout(ctx, s.cfg.MaxAge/4)
		fs := cl.PollRecords(pctx, 10_000)
		cancel()
		if ctx.Err() != nil {
			cl.AllowRebalance()
			return s.shutdown(ictx, cl)
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				ferr = errors.Join(ferr, fmt.Errorf("sink: fetch %s[%d]: %w", t, p, err))
			}
		})
		if ferr != nil {
			s.cfg.Logger.Warn("sink fetch", "err", ferr)
		}
		var dead []*kgo.Record
		s.mu.Lock()
		if s.lost {
			// Found by an assignment: refill before any row lands in the
			// tables made again, or the gap below it would go unseen. This
			// poll's records come again from the new positions.
			err := s.refill(ctx, cl)
			s.mu.Unlock()
			cl.AllowRebalance()
			if err != nil {
				if ctx.Err() != nil {
					return s.shutdown(ictx, cl)
				}
				return err
			}
			continue
		}
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			if p.Err == nil {
				if s.ends[p.Topic] == nil {
					s.ends[p.Topic] = map[int32]int64{}
				}
				s.ends[p.Topic][p.Partition] = p.LastStableOffset
			}
		})
		var err error
		for _, r := range fs.Records() {
			var d *kgo.Record
			if d, err = s.add(ictx, r); err != nil {
				break // a batch the store did not take: go no further
			}
			if d != nil {
				dead = append(dead, d)
			}
		}
		if err == nil {
			err = s.flushDue(ictx, false)
		}
		if s.lost || errors.Is(err, ErrStoreLost) {
			// This poll's dead letters come again with the records re-read.
			dead, err = nil, s.refill(ctx, cl)
		}
		s.mu.Unlock()
		if err == nil && len(dead) > 0 {
			err = cl.ProduceSync(ctx, dead...).FirstErr()
		}
		if err == nil {
			if cerr := s.commit(ctx, cl); cerr != nil {
				// Only lag reporting and restart position suffer; the store's
				// offsets keep the tables exact.
				s.cfg.Logger.Warn("sink: commit", "err", cerr)
			}
		}
		cl.AllowRebalance()
		if err != nil {
			if ctx.Err() != nil {
				return s.shutdown(ictx, cl)
			}
			return err
		}
	}
}

// add turns a record into rows of its table's batch, flushing first when
// the record's day differs from the batch's. A record that does not decode,
// or has a row the store cannot hold (a time out of DateTime's range),
// becomes a dead letter (except on the dead-letter topic itself, and a
// topic whose own stage dead-letters it). The error is a flush's: a batch
// the store did not take, which Run must not go past (a later insert would
// move the stored offsets beyond its rows).
func (s *Sink) add(ictx context.Context, r *kgo.Record) (*kgo.Record, error) {
	b := s.byTopic[r.Topic]
	if b == nil {
		return nil, nil
	}
	s.Stats.Records.Add(1)
	nx := s.next[r.Topic]
	if nx == nil {
		nx = map[int32]int64{}
		s.next[r.Topic] = nx
	}
	nx[r.Partition] = r.Offset + 1
	if have, ok := s.resume[r.Topic][r.Partition]; ok && r.Offset <= have {
		s.Stats.Skipped.Add(1)
		return nil, nil
	}
	// Decoded straight into the batch, and cut back if refused.
	n0 := b.rows.Len()
	if err := b.table.Decode(b.rows, r.Value, r.Partition, r.Offset); err != nil {
		if g, ok := s.conn.Topology().DeadLetteredBy(topology.Topic(r.Topic), topology.SinkClickHouse); ok {
			// That stage dead-letters the same record with its own reason:
			// one dead letter per bad record.
			s.cfg.Logger.Debug("sink: undecodable record left to the stage that dead-letters it", "topic", r.Topic, "stage", g)
			return nil, nil
		}
		return s.refuse(r, fmt.Sprintf("decode %s record: %v", r.Topic, err)), nil
	}
	n1 := b.rows.Len()
	if n1 == n0 {
		return nil, nil
	}
	for i := n0; i < n1; i++ {
		// The store would refuse the whole insert, and every retry of it,
		// for one such row: the record goes to the dead letters instead.
		if err := b.table.Check(b.rows, i); err != nil {
			b.rows.Truncate(n0)
			return s.refuse(r, fmt.Sprintf("store %s record: %v", r.Topic, err)), nil
		}
	}
	// A record's rows all go in one insert (never split at MaxRows): the
	// store's highest offset must mean the whole record is in. Only rows of
	// different days (ClickHouse partitions) go in different inserts.
	day := b.day
	if n0 == 0 {
		day = b.table.Day(b.rows, n0)
	}
	same := true
	for i := n0; i < n1 && same; i++ {
		same = b.table.Day(b.rows, i) == day
	}
	if same {
		if n0 == 0 {
			b.day, b.since = day, time.Now()
		}
		if _, ok := b.pending[r.Partition]; !ok {
			b.pending[r.Partition] = r.Offset
		}
	} else if err := s.addByDay(ictx, b, r, n0); err != nil {
		return nil, err
	}
	if n := b.rows.Len(); n >= s.cfg.MaxRows && !s.behind(b, n) {
		if err := s.flush(ictx, b); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// behind says the table's previous insert is still in flight and its
// batch of n rows may grow rather than wait for it.
func (s *Sink) behind(b *batch, n int) bool {
	return b.done != nil && len(b.done) == 0 && n < s.cfg.MaxRowsBehind
}

// addByDay moves the rows of record r, from row n0 of the batch on, into
// batches of one day each, flushing the batch where the day changes.
func (s *Sink) addByDay(ictx context.Context, b *batch, r *kgo.Record, n0 int) error {
	rec := b.rec
	rec.Reset()
	rec.AppendFrom(b.rows, n0, b.rows.Len())
	b.rows.Truncate(n0)
	for i := 0; i < rec.Len(); {
		day := b.table.Day(rec, i)
		if b.rows.Len() > 0 && day != b.day {
			if err := s.flush(ictx, b); err != nil {
				return err
			}
		}
		if b.rows.Len() == 0 {
			b.day, b.since = day, time.Now()
		}
		if _, ok := b.pending[r.Partition]; !ok {
			b.pending[r.Partition] = r.Offset
		}
		j := i + 1
		for j < rec.Len() && b.table.Day(rec, j) == day {
			j++
		}
		b.rows.AppendFrom(rec, i, j)
		i = j
	}
	return nil
}

// refuse makes the dead letter of a record the sink cannot store. Dead
// letters themselves are only logged: refusing one would loop.
func (s *Sink) refuse(r *kgo.Record, reason string) *kgo.Record {
	s.cfg.Logger.Error("sink: record refused", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "reason", reason)
	if r.Topic == string(topology.DLQ) {
		return nil
	}
	s.Stats.DeadLetters.Add(1)
	return broker.DeadLetter(s.conn.Topology(), Stage, reason, r)
}

// flushDue flushes batches that are full or old (all of them when force);
// their inserts run under ictx. A batch that is not full goes at most once
// per MaxAge: when it is MaxAge old, or as soon as the sink has read all
// there is of its topic, so the end of a backlog is not held for MaxAge
// while a trickle still makes one insert a MaxAge.
func (s *Sink) flushDue(ictx context.Context, force bool) error {
	for topic, b := range s.byTopic {
		if b.done != nil && (force || len(b.done) > 0) {
			if err := s.wait(b); err != nil {
				return err
			}
		}
		n := b.rows.Len()
		if n == 0 {
			continue
		}
		full := n >= s.cfg.MaxRows
		due := time.Since(b.since) >= s.cfg.MaxAge || (time.Since(b.partial) >= s.cfg.MaxAge && s.readAll(topic))
		if full && !force && !due && s.behind(b, n) && !s.readAll(topic) {
			continue // more to read into it while the previous insert is in flight
		}
		if force || full || due {
			if !full {
				b.partial = time.Now()
			}
			if err := s.flush(ictx, b); err != nil {
				return err
			}
		}
	}
	return nil
}

// readAll says the sink has read every owned partition of topic up to its
// end as of the partition's latest fetch.
func (s *Sink) readAll(topic string) bool {
	for p, end := range s.ends[topic] {
		if s.owned[topic][p] && s.next[topic][p] < end {
			return false
		}
	}
	return true
}

// flush hands a batch to the table's background insert, once the previous
// one is in. The insert retries with backoff while the store refuses, so the
// loop blocks at the next flush (back-pressure: it stops fetching) and never
// holds more than two batches per table.
func (s *Sink) flush(ictx context.Context, b *batch) error {
	if err := s.wait(b); err != nil {
		return err
	}
	if b.rows.Len() == 0 {
		return nil
	}
	rows := b.rows
	if b.rows = b.spare; b.rows == nil {
		b.rows = NewBlock(b.table)
	}
	b.rows.Reset()
	b.spare = rows
	b.pending, b.sending = b.sending, b.pending
	b.sent = rows.Len()
	b.done = make(chan error, 1)
	go func(done chan<- error) {
		start := time.Now()
		n, tries := rows.Len(), 0
		err := s.retry(ictx, "insert into "+b.table.Name, func() error {
			if tries++; tries > 1 {
				if err := s.dropStored(ictx, b.table, rows); err != nil || rows.Len() == 0 {
					return err
				}
			}
			return s.cfg.Store.Insert(ictx, b.table, rows)
		})
		if err == nil {
			// Counted here, not when the loop next looks: the rows are
			// stored now, and a loop waiting in a poll may look much later.
			s.Stats.InsertNanos.Add(int64(time.Since(start)))
			s.Stats.Insert.Observe(time.Since(start))
			s.Stats.Inserts.Add(1)
			s.Stats.Rows.Add(int64(n))
		}
		done <- err
	}(b.done)
	return nil
}

// dropStored drops the rows of records the store holds already: an insert
// that failed may have stored some of its records (Store.Insert), and one
// whose answer was lost may have stored them all.
func (s *Sink) dropStored(ctx context.Context, t *Table, rows *Block) error {
	have, err := s.cfg.Store.Resume(ctx, t)
	if err != nil {
		return err
	}
	n := rows.Len()
	rows.DeleteRows(func(i int) bool {
		o, ok := have[rows.Partition(i)]
		return ok && rows.Offset(i) <= o
	})
	if k := n - rows.Len(); k > 0 {
		s.cfg.Logger.Info("sink: a failed insert stored some rows; retrying with the rest", "table", t.Name, "stored", k, "left", rows.Len())
	}
	return nil
}

// wait waits for the table's background insert, if any, and accounts for it.
func (s *Sink) wait(b *batch) error {
	if b.done == nil {
		return nil
	}
	start := time.Now()
	err := <-b.done
	s.Stats.WaitNanos.Add(int64(time.Since(start)))
	b.done = nil
	if err != nil {
		// Not stored: these rows are read again by the next run, or at
		// once when the store lost its tables.
		s.lost = s.lost || errors.Is(err, ErrStoreLost)
		return err
	}
	s.tableRows[b.table.Name] += int64(b.sent)
	clear(b.sending)
	return nil
}

func (s *Sink) retry(ctx context.Context, what string, f func() error) error {
	wait := s.cfg.RetryMin
	for {
		err := f()
		s.refusedMu.Lock()
		if err == nil {
			delete(s.refused, what)
		} else {
			s.refused[what] = err
		}
		s.refusedMu.Unlock()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("sink: %s: %w", what, errors.Join(err, ctx.Err()))
		}
		if errors.Is(err, ErrStoreLost) {
			return fmt.Errorf("sink: %s: %w", what, err)
		}
		s.Stats.Retries.Add(1)
		s.cfg.Logger.Warn("sink: store refused, retrying", "op", what, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("sink: %s: %w", what, errors.Join(err, ctx.Err()))
		case <-time.After(wait):
		}
		wait = min(2*wait, s.cfg.RetryMax)
	}
}

// commit records progress in Kafka: for lag and for where a restart starts
// reading. Correctness does not depend on it (the store's offsets do), so a
// partition with rows still pending commits only up to them.
func (s *Sink) commit(ctx context.Context, cl *kgo.Client) error {
	s.mu.Lock()
	offs := map[string]map[int32]kgo.EpochOffset{}
	for topic, parts := range s.next {
		b := s.byTopic[topic]
		for p, next := range parts {
			at := next
			if first, ok := b.pending[p]; ok {
				at = first
			}
			if first, ok := b.sending[p]; ok {
				at = min(at, first)
			}
			if offs[topic] == nil {
				offs[topic] = map[int32]kgo.EpochOffset{}
			}
			offs[topic][p] = kgo.EpochOffset{Epoch: -1, Offset: at}
		}
	}
	s.mu.Unlock()
	if len(offs) == 0 {
		return nil
	}
	var cerr error
	cl.CommitOffsetsSync(ctx, offs, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			cerr = fmt.Errorf("sink: commit: %w", err)
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if e := kerr.ErrorForCode(p.ErrorCode); e != nil {
					cerr = errors.Join(cerr, fmt.Errorf("sink: commit %s[%d]: %w", t.Topic, p.Partition, e))
				}
			}
		}
	})
	return cerr
}

// revoked drops the rows held for partitions this instance no longer owns:
// their next owner reads them again from the last commit and skips what the
// store has, so nothing is lost and nothing is stored twice.
func (s *Sink) revoked(r map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for topic, parts := range r {
		b := s.byTopic[topic]
		if b == nil {
			continue
		}
		// An insert under way finishes first: none may land after the next
		// owner has read the store's offsets.
		if err := s.wait(b); err != nil {
			clear(b.sending)
		}
		b.rows.DeleteRows(func(i int) bool { return slices.Contains(parts, b.rows.Partition(i)) })
		for _, p := range parts {
			delete(b.pending, p)
			delete(s.next[topic], p)
			delete(s.resume[topic], p)
			delete(s.owned[topic], p)
			delete(s.ends[topic], p)
		}
	}
}

// shutdown flushes what the sink holds under ictx and commits.
func (s *Sink) shutdown(ictx context.Context, cl *kgo.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownFlush)
	defer cancel()
	s.mu.Lock()
	err := s.flushDue(ictx, true)
	s.mu.Unlock()
	if err != nil {
		s.cfg.Logger.Warn("sink: stopping with rows not stored; the next run reads them again", "err", err)
		return nil
	}
	if err := s.commit(ctx, cl); err != nil {
		s.cfg.Logger.Warn("sink: final commit", "err", err)
	}
	return nil
}

// Latencies are the sink's latency histograms, by what they time.
func (s *Sink) Latencies() map[latency.Key]*latency.Histogram {
	return map[latency.Key]*latency.Histogram{{What: "insert"}: &s.Stats.Insert}
}
