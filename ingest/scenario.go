package ingest

import (
	"context"
	"errors"
	"io"

	"github.com/cropstream/cropstream/simulator"
)

// Scenario is a simulated camera: it renders a scenario frame by frame with
// the metadata a real camera would carry (row, capture time, sequence with
// gaps for dropped frames, position along the row).
type Scenario struct {
	sim  *simulator.Simulator
	info SourceInfo
	// OnFrame, when set, sees every delivered frame and its truth (evaluation
	// keeps the truth this way).
	OnFrame func(*simulator.Frame)
	// Rows, when set, are the only rows delivered (by row id): one simulated
	// camera per row, as on a farm where two tractors share a block.
	Rows map[string]bool
}

// OpenScenario starts rendering sc.
func OpenScenario(sc *simulator.Scenario) *Scenario {
	s := simulator.New(sc)
	return &Scenario{sim: s, info: SourceInfo{Name: "scenario:" + sc.Name, FPS: sc.Camera.FPS, Frames: s.EstimatedFrames()}}
}

// Simulator gives access to the truth once the source is exhausted.
func (s *Scenario) Simulator() *simulator.Simulator { return s.sim }

// Info describes the source.
func (s *Scenario) Info() SourceInfo { return s.info }

// Next renders the next delivered frame.
func (s *Scenario) Next(ctx context.Context) (Captured, error) {
	if err := ctx.Err(); err != nil {
		return Captured{}, err
	}
	f, err := s.sim.Next()
	for err == nil && s.Rows != nil && !s.Rows[f.RowID] {
		if err = ctx.Err(); err == nil {
			f, err = s.sim.Next()
		}
	}
	if errors.Is(err, io.EOF) {
		return Captured{}, io.EOF
	}
	if err != nil {
		return Captured{}, err
	}
	if s.OnFrame != nil {
		s.OnFrame(f)
	}
	seq, pos := f.Sequence, f.PositionM
	return Captured{Image: f.Image, Width: f.Image.Cols(), Height: f.Image.Rows(), Sequence: &seq,
		CaptureTime: f.CaptureTime, PositionM: &pos, RowID: f.RowID}, nil
}

// Close releases the renderer.
func (s *Scenario) Close() error {
	s.sim.Close()
	return nil
}
