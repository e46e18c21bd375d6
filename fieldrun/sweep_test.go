package fieldrun

import (
	"testing"

	"github.com/cropstream/cropstream/simulator"
)

func TestSweepScenario(t *testing.T) {
	base, err := simulator.Load("grape")
	if err != nil {
		t.Fatal(err)
	}
	w, jitter, seed, rows := base.Camera.Width, base.Camera.JitterPx, base.Seed, base.Rows
	sw := Sweep{Base: base, FirstSeed: 2000, Rows: 2, Width: w / 2, Height: base.Camera.Height / 2}
	sc := sw.Scenario(3)
	if sc.Seed != 2003 || sc.Rows != 2 || sc.PlantsPerRow != base.PlantsPerRow {
		t.Errorf("field 3: seed %d, %d rows of %d plants; want seed 2003, 2 rows of the scenario's %d", sc.Seed, sc.Rows, sc.PlantsPerRow, base.PlantsPerRow)
	}
	if sc.Camera.Width != w/2 || sc.Camera.JitterPx != jitter/2 {
		t.Errorf("half-size frame: width %d jitter %v, want %d and %v", sc.Camera.Width, sc.Camera.JitterPx, w/2, jitter/2)
	}
	if base.Seed != seed || base.Rows != rows || base.Camera.Width != w || base.Camera.JitterPx != jitter {
		t.Errorf("the base scenario was changed: %+v", base)
	}
	if name, ok := CropScenario("plum"); ok {
		t.Errorf("CropScenario(plum) = %s", name)
	}
}
