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
	"golang.org/x/sync/errgroup"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/processors/aggregate"
	"github.com/cropstream/cropstream/processors/detect"
	"github.com/cropstream/cropstream/processors/track"
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
			p.Track, err = track.New(cfg.Track, conn)
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

// Stages are the names of the stages this pipeline runs.
func (p *Pipeline) Stages() []string { return p.stages }
