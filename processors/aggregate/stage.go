package aggregate

import (
	"fmt"

	"github.com/cropstream/cropstream/stage"
)

// Name is the stage's name.
func (p *Processor) Name() string { return Stage }

// Counters reads the stage's counters.
func (p *Processor) Counters() stage.Counters {
	st := &p.Stats
	return stage.Counters{
		In:          st.Objects.Load() + st.Duplicates.Load() + st.DeadLetters.Load(),
		Out:         st.Estimates.Load(),
		DeadLetters: st.DeadLetters.Load(),
		Progress:    st.Objects.Load(),
	}
}

// String names the table's encoding as the topology declares it for the
// aggregate table (a test compares them).
func (stateCodec) String() string {
	return fmt.Sprintf("gob:aggregate.blockState/v%d (marker 0x%02x)", stateVersion, gobMarker)
}
