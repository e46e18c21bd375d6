package detect

import (
	"cmp"
	"fmt"
	"io"

	"github.com/cropstream/cropstream/drift"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/schema"
)

// RecordedReference is a drift reference RecordReference saved: of which
// model, and where.
type RecordedReference struct {
	Model inference.ModelID
	Path  string
	*drift.Reference
}

// Print says what was recorded.
func (r RecordedReference) Print(w io.Writer) {
	fmt.Fprintf(w, "reference of %s from %d frames (%d score samples) written to %s\n",
		r.Model, r.Frames, len(r.Samples[drift.Score]), r.Path)
}

// RecordReference runs m's model over frames as Calibrate does and saves the
// reference at path, beside the model (drift.SidecarPath) when empty.
func (m ModelConfig) RecordReference(frames []*schema.Frame, path string) (RecordedReference, error) {
	eng, err := m.NewEngine(0.1, nil)
	if err != nil {
		return RecordedReference{}, err
	}
	defer eng.Close()
	ref, err := Calibrate(eng, frames)
	if err != nil {
		return RecordedReference{}, err
	}
	r := RecordedReference{Model: eng.ID(), Path: cmp.Or(path, drift.SidecarPath(m.ModelPath)), Reference: ref}
	return r, ref.Save(r.Path)
}
