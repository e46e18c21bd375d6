package fieldrun

import (
	"context"
	"fmt"

	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/simulator"
	"github.com/cropstream/cropstream/sinks"
)

// samplePlants picks n plants spread evenly over the block and writes what a
// grower would: every unit on the plant and their mean mass.
func samplePlants(l *simulator.Layout, n int) []crops.HandCount {
	var all []simulator.Plant
	for _, row := range l.Plants {
		all = append(all, row...)
	}
	var out []crops.HandCount
	n = min(n, len(all)) // more samples than plants would count a plant twice
	for i := 0; i < n; i++ {
		pl := all[(2*i+1)*len(all)/(2*n)]
		var mass float64
		for _, ui := range pl.Units {
			mass += l.Units[ui].MassG
		}
		h := crops.HandCount{PlantID: pl.ID, Count: len(pl.Units)}
		if len(pl.Units) > 0 {
			h.MeanMassG = mass / float64(len(pl.Units))
		}
		out = append(out, h)
	}
	return out
}

// requireEmpty refuses a store that already holds rows when the run's
// broker is fresh: its offsets start at 0 again, so the sink would take the
// new records for ones it already stored and skip them.
func requireEmpty(ctx context.Context, store sinks.Store) error {
	if err := store.Prepare(ctx, sinks.Tables()); err != nil {
		return err
	}
	for _, t := range sinks.Tables() {
		have, err := store.Resume(ctx, t)
		if err != nil {
			return err
		}
		if len(have) > 0 {
			return fmt.Errorf("table %s already holds rows from another broker, and this run's fresh broker numbers offsets from 0 again: use another --clickhouse-db (or drop the database), or run on a persistent broker (--data-dir)", t.Name)
		}
	}
	return nil
}
