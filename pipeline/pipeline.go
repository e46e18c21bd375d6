package pipeline

import (
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"slices"
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
	"github.com/cropstream/cropstream/stage"
	"github.com/cropstream/cropstream/topology"
)

// Stage names, as --stages takes them: each stage's own.
const (
	StageDetect    = detect.Stage
	StageTrack     = track.Stage
	StageAggregate = aggregate.Stage
	StageSink      = sinks.Stage
)

// flow is the list of stages, in flow order: each one's name, its consumer
// group in the topology, and how it is built into p. It is the only list;
// New, Run, the drain checks, the metrics and the live view follow it.
var flow = []struct {
	name  string
	group topology.Group
	build func(p *Pipeline, cfg Config, conn *broker.Conn) (stage.Stage, error)
}{
	{StageDetect, topology.Detect, func(p *Pipeline, cfg Config, conn *broker.Conn) (s stage.Stage, err error) {
		p.Detect, err = detect.New(cfg.Detect, conn, conn.Topology())
		return p.Detect, err
	}},
	{StageTrack, topology.Track, func(p *Pipeline, cfg Config, conn *broker.Conn) (s stage.Stage, err error) {
		p.Track, err = track.New(cfg.Track, conn)
		return p.Track, err
	}},
	{StageAggregate, topology.Aggregate, func(p *Pipeline, cfg Config, conn *broker.Conn) (s stage.Stage, err error) {
		p.Aggregate, err = aggregate.New(cfg.Aggregate, conn)
		return p.Aggregate, err
	}},
	{StageSink, topology.SinkClickHouse, func(p *Pipeline, cfg Config, conn *broker.Conn) (s stage.Stage, err error) {
		p.Sink, err = sinks.New(cfg.Sink, conn)
		return p.Sink, err
	}},
}

// AllStages in flow order.
var AllStages = func() []string {
	names := make([]string, len(flow))
	for i, s := range flow {
		names[i] = s.name
	}
	return names
}()

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

// Runs says whether the stage named name is among those to run.
func (c Config) Runs(name string) bool { return len(c.Stages) == 0 || slices.Contains(c.Stages, name) }

// Pipeline is the stages of one process. The typed fields give callers the
// stages' own counters and results; the ones not configured are nil.
type Pipeline struct {
	stages    []stage.Stage
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
	for _, s := range cfg.Stages {
		if !slices.Contains(AllStages, s) {
			return nil, fmt.Errorf("unknown stage %q, want %s", s, strings.Join(AllStages, ", "))
		}
	}
	p := &Pipeline{}
	for _, f := range flow {
		if !cfg.Runs(f.name) {
			continue
		}
		s, err := f.build(p, cfg, conn)
		if err != nil {
			return nil, err
		}
		p.stages = append(p.stages, s)
	}
	return p, nil
}

// StageList is the stages built, in flow order: what metrics and the live
// view loop over.
func (p *Pipeline) StageList() []stage.Stage { return p.stages }

// Run runs every stage until ctx is cancelled or one fails (which stops the
// others). Each stage commits only what it has finished, so stopping at any
// point loses nothing.
func (p *Pipeline) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, s := range p.stages {
		// Each stage runs under a pprof label, so CPU profiles (and
		// Pyroscope) split the process's cost by stage.
		g.Go(func() (err error) {
			pprof.Do(ctx, pprof.Labels("stage", s.Name()), func(ctx context.Context) { err = s.Run(ctx) })
			return err
		})
	}
	return g.Wait()
}

// WaitDrained returns once every processing stage's group has committed its
// inputs (as the topology declares them) up to the end, twice in a row a
// poll apart (goka commits about once a second).
func WaitDrained(ctx context.Context, conn *broker.Conn, poll time.Duration) error {
	var groups []topology.Group
	for _, f := range flow {
		if f.name != StageSink {
			groups = append(groups, f.group)
		}
	}
	return waitDrained(ctx, conn, poll, groups)
}

// WaitSinkDrained returns once the sink group has stored everything in its
// topics.
func WaitSinkDrained(ctx context.Context, conn *broker.Conn, poll time.Duration) error {
	return waitDrained(ctx, conn, poll, []topology.Group{topology.SinkClickHouse})
}

func waitDrained(ctx context.Context, conn *broker.Conn, poll time.Duration, groups []topology.Group) error {
	type groupInput struct {
		group topology.Group
		topic topology.Topic
	}
	var groupInputs []groupInput
	for _, g := range groups {
		for _, t := range conn.Topology().Group(g).Inputs {
			groupInputs = append(groupInputs, groupInput{g, t})
		}
	}
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

// Stages are the names of the stages this pipeline runs, in flow order.
func (p *Pipeline) Stages() []string {
	names := make([]string, len(p.stages))
	for i, s := range p.stages {
		names[i] = s.Name()
	}
	return names
}

// Groups are the consumer groups of the stages this pipeline runs.
func (p *Pipeline) Groups() []topology.Group {
	var gs []topology.Group
	for _, f := range flow {
		for _, s := range p.stages {
			if s.Name() == f.name {
				gs = append(gs, f.group)
			}
		}
	}
	return gs
}
