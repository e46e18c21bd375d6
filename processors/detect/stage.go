package detect

import (
	"github.com/cropstream/cropstream/stage"
	"github.com/cropstream/cropstream/topology"
)

// Name is the stage's name.
func (p *Processor) Name() string { return Stage }

// Counters reads the stage's counters.
func (p *Processor) Counters() stage.Counters {
	frames, dead := p.Stats.Frames.Load(), p.Stats.DeadLetters.Load()
	return stage.Counters{In: frames + dead, Out: frames, DeadLetters: dead, Progress: frames}
}

// Inputs are the topics the stage consumes and Outputs those it produces to;
// a test holds them to the topology's detect group.
func (p *Processor) Inputs() []topology.Topic {
	return []topology.Topic{topology.Frames, topology.FramesLive}
}

// Outputs: see Inputs.
func (p *Processor) Outputs() []topology.Topic {
	return []topology.Topic{topology.Detections, topology.ModelQuality, topology.ShadowDetections, topology.DLQ}
}

// Lookups are the compacted topics the stage reads whole: the deployments.
func (p *Processor) Lookups() []topology.Topic { return []topology.Topic{topology.Models} }
