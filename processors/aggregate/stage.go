package aggregate

import (
	"fmt"

	"github.com/cropstream/cropstream/stage"
)

// Name is the stage's name.
func (p *Processor) Name() string { return Stage }

// Counters reads the stage's counters.
func (p *Processor) Counters() stage.Counters {
	objects, dead := p.Stats.Objects.Load(), p.Stats.DeadLetters.Load()
	in := objects + p.Stats.Duplicates.Load() + dead
	return stage.Counters{In: in, Out: p.Stats.Estimates.Load(), DeadLetters: dead, Progress: objects}
}

// String names the table's encoding as the topology declares it for the
// aggregate table (a test compares them).
func (stateCodec) String() string {
	return fmt.Sprintf("gob:aggregate.blockState/v%d (marker 0x%02x)", stateVersion, gobMarker)
}
