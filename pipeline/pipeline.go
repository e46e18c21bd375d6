package pipeline

import (
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/processors/aggregate"
	"github.com/cropstream/cropstream/processors/detect"
	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/sinks"
	"github.com/cropstream/cropstream/topology"
)

// Stage names, as --stages takes them.
const (
	StageDetect    = "detect"
	StageTrack     = "track"
	StageAggregate = "aggregate"
	StageSink      = "sink"
)

// AllStages in flow order.
var AllStages = []string{StageDetect, StageTrack, StageAggregate, StageSink}

// Config says which stages run and how each is configured.
type Config struct {
	// Stages to run; default all.
	Stages    []string
	Detect    detect.Config
	Track     track.Config
	Aggregate aggregate.Config
	// Sink needs a Store when the sink stage runs.
	Sink sinks.Config
}

// Pipeline is the stages of one process.
type Pipeline struct {
	conn      *broker.Conn
	stages    []string
	Detect    *detect.Processor
	Track     *track.Processor
	Aggregate *aggregate.Processor
	Sink      *sinks.Sink
}

// New builds the configured stages.
func New(cfg Config, conn *broker.Conn) (*Pipeline, error) {
	if len(cfg.Stages) == 0 {
		cfg.Stages = AllStages
	}
	p := &Pipeline{conn: conn, stages: cfg.Stages}
	for _, s := range cfg.Stages {
		var err error
		switch s {
		case StageDetect:
			p.Detect, err = detect.New(cfg.Detect, conn, conn.Topology())
		case StageTrack:
			p.Track = track.New(cfg.Track, conn)
		case StageAggregate:
			p.Aggregate, err = aggregate.New(cfg.Aggregate, conn)
		case StageSink:
			p.Sink, err = sinks.New(cfg.Sink, conn)
		default:
			err = fmt.Errorf("unknown stage %q, want %s", s, strings.Join(AllStages, ", "))
		}
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Run runs every stage until ctx is cancelled or one fails (which stops the
// others). Each stage commits only what it has finished, so stopping at any
// point loses nothing.
func (p *Pipeline) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	// Each stage runs under a pprof label, so CPU profiles (and Pyroscope)
	// split the process's cost by stage.
	stage := func(name string, run func(context.Context) error) {
		g.Go(func() (err error) {
			pprof.Do(ctx, pprof.Labels("stage", name), func(ctx context.Context) { err = run(ctx) })
			return err
		})
	}
	if p.Detect != nil {
		stage(StageDetect, p.Detect.Run)
	}
	if p.Track != nil {
		stage(StageTrack, p.Track.Run)
	}
	if p.Aggregate != nil {
		stage(StageAggregate, p.Aggregate.Run)
	}
	if p.Sink != nil {
		stage(StageSink, p.Sink.Run)
	}
	return g.Wait()
}

// inputs of each stage's group, in flow order.
type groupInput struct {
	group topology.Group
	topic topology.Topic
}

var groupInputs = []groupInput{
	{topology.Detect, topology.Frames},
	{topology.Track, topology.Detections},
	{topology.Aggregate, topology.Objects},
}

// SinkInputs are the topics the sink group reads.
func SinkInputs() []topology.Topic {
	var ts []topology.Topic
	for _, t := range sinks.Tables() {
		ts = append(ts, t.Topic)
	}
	return ts
}

// WaitDrained returns once every processing stage group has committed its
// input up to the end, twice in a row a poll apart (goka commits about once
// a second).
func WaitDrained(ctx context.Context, conn *broker.Conn, poll time.Duration) error {
	return waitDrained(ctx, conn, poll, groupInputs)
}

// WaitSinkDrained returns once the sink group has stored everything in its
// topics.
func WaitSinkDrained(ctx context.Context, conn *broker.Conn, poll time.Duration) error {
	var gi []groupInput
	for _, t := range SinkInputs() {
		gi = append(gi, groupInput{topology.SinkClickHouse, t})
	}
	return waitDrained(ctx, conn, poll, gi)
}

func waitDrained(ctx context.Context, conn *broker.Conn, poll time.Duration, groupInputs []groupInput) error {
	adm, cl, err := conn.Admin()
	if err != nil {
		return err
	}
	defer cl.Close()
	clean := 0
	for clean < 2 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
		ok := true
		for _, gi := range groupInputs {
			ends, err := adm.ListEndOffsets(ctx, string(gi.topic))
			if err != nil {
				return fmt.Errorf("drain: end offsets of %s: %w", gi.topic, err)
			}
			commits, err := adm.FetchOffsets(ctx, string(gi.group))
			if errors.Is(err, kerr.GroupIDNotFound) {
				commits, err = nil, nil // no commits yet: fine while its input is empty
			}
			if err != nil {
				return fmt.Errorf("drain: offsets of %s: %w", gi.group, err)
			}
			ends.Each(func(o kadm.ListedOffset) {
				if o.Offset == 0 {
					return
				}
				c, found := commits.Lookup(o.Topic, o.Partition)
				if !found || c.At < o.Offset {
					ok = false
				}
			})
		}
		if ok {
			clean++
		} else {
			clean = 0
		}
	}
	return nil
}

// CloseWindows asks the aggregate stage to close each block's window and emit
// its final yield estimate.
func CloseWindows(ctx context.Context, conn *broker.Conn, blocks map[string]string) error {
	cl, err := conn.Client()
	if err != nil {
		return err
	}
	defer cl.Close()
	for block, field := range blocks {
		val, err := schema.Encode(&schema.CountedObject{BlockId: block, FieldId: field, Control: schema.ControlCloseWindow})
		if err != nil {
			return err
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: string(topology.Objects), Key: []byte(block), Value: val}).FirstErr(); err != nil {
			return fmt.Errorf("close window of block %s: %w", block, err)
		}
	}
	return nil
}

// ReadAll reads every record of topic from the start up to the end offsets
// it finds when called; it fails when max(idle, 15s) pass without a record
// before those are reached. (Reading to the end offsets, not to the first
// quiet moment, is what makes it whole: a first fetch can be slow.)
func ReadAll(ctx context.Context, conn *broker.Conn, topic topology.Topic, idle time.Duration) ([]*kgo.Record, error) {
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
