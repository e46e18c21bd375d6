package track

import (
	"fmt"

	"github.com/cropstream/cropstream/stage"
	"github.com/cropstream/cropstream/topology"
)

// Name is the stage's name.
func (p *Processor) Name() string { return Stage }

// Counters reads the stage's counters.
func (p *Processor) Counters() stage.Counters {
	frames, dead := p.Stats.Frames.Load(), p.Stats.DeadLetters.Load()
	out := p.Stats.Objects.Load() + p.Stats.Crossings.Load() + p.Stats.Reemitted.Load()
	return stage.Counters{In: frames + p.Stats.Replays.Load() + dead, Out: out, DeadLetters: dead, Progress: frames}
}

// String names the table's encoding as the topology declares it for the
// track table (a test compares them).
func (stateCodec) String() string {
	return fmt.Sprintf("gob:track.State and streams + count lines + crossings log + emitted log (marker 0x%02x)", linesMarker)
}

// idleTopic is where the idle watch sends a silent camera's idle record:
// the stage's own input, keyed by camera, so the record is processed in
// that camera's order.
const idleTopic = topology.Detections

// SideOutputs are the topics the stage produces to outside its goka graph:
// the idle watch's records. A test adds them to the graph's outputs before
// comparing those with the topology.
func (p *Processor) SideOutputs() []topology.Topic { return []topology.Topic{idleTopic} }
