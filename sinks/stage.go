package sinks

import (
	"github.com/cropstream/cropstream/stage"
	"github.com/cropstream/cropstream/topology"
)

// Stage is the sink's name: as --stages takes it and dead letters carry it.
const Stage = "sink"

// Name is the stage's name.
func (s *Sink) Name() string { return Stage }

// Counters reads the sink's counters.
func (s *Sink) Counters() stage.Counters {
	rows := s.Stats.Rows.Load()
	return stage.Counters{In: s.Stats.Records.Load(), Out: rows, DeadLetters: s.Stats.DeadLetters.Load(), Progress: rows}
}

// Inputs are the topics of the tables the sink feeds, and Outputs the topic
// it produces to (dead letters); a test holds them to the topology.
func (s *Sink) Inputs() []topology.Topic {
	ts := make([]topology.Topic, len(s.cfg.Tables))
	for i, t := range s.cfg.Tables {
		ts[i] = t.Topic
	}
	return ts
}

// Outputs: see Inputs.
func (s *Sink) Outputs() []topology.Topic { return []topology.Topic{topology.DLQ} }
