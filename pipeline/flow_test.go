package pipeline

import (
	"fmt"
	"slices"
	"testing"

	"github.com/lovoo/goka"

	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/processors/aggregate"
	"github.com/cropstream/cropstream/processors/detect"
	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/sinks"
	"github.com/cropstream/cropstream/topology"
)

// declared is what a stage's code reads, writes and keeps, in the
// topology's terms.
type declared struct {
	group           topology.Group
	inputs, outputs []topology.Topic
	lookups         []topology.Topic
	table           *topology.Topic
	codec           string // of the table
}

// withSide adds the outputs a stage produces outside its goka graph.
func withSide(d declared, side []topology.Topic) declared {
	d.outputs = append(d.outputs, side...)
	return d
}

// withLookups adds the compacted topics a stage reads whole outside its goka graph.
func withLookups(d declared, l []topology.Topic) declared {
	d.lookups = append(d.lookups, l...)
	return d
}

// noStore stands in for a store the test never calls.
type noStore struct{ sinks.Store }

func fromGraph(g *goka.GroupGraph) declared {
	d := declared{group: topology.Group(g.Group())}
	for _, e := range g.InputStreams() {
		d.inputs = append(d.inputs, topology.Topic(e.Topic()))
	}
	for _, e := range g.LookupTables() {
		d.lookups = append(d.lookups, topology.Topic(e.Topic()))
	}
	for _, e := range g.OutputStreams() {
		d.outputs = append(d.outputs, topology.Topic(e.Topic()))
	}
	if t := g.GroupTable(); t != nil {
		name := topology.Topic(t.Topic())
		d.table, d.codec = &name, fmt.Sprint(t.Codec())
	}
	return d
}

// TestStagesMatchTopology holds every stage of the flow to its group in the
// topology: the goka graphs of track and aggregate (inputs, outputs, lookup
// tables, table and its codec's name), the topics detect and the sink consume and produce.
// The topology is what the drain checks, topic admin and the printed graph
// read, so a stage that drifts from it must fail here.
func TestStagesMatchTopology(t *testing.T) {
	top, err := topology.New(topology.Config{})
	if err != nil {
		t.Fatal(err)
	}
	apple, err := crops.Load("apple")
	if err != nil {
		t.Fatal(err)
	}
	agg, err := aggregate.New(aggregate.Config{Default: apple}, nil)
	if err != nil {
		t.Fatal(err)
	}
	trk, err := track.New(track.Config{Default: apple}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sink, err := sinks.New(sinks.Config{Store: noStore{}}, nil) // all tables
	if err != nil {
		t.Fatal(err)
	}
	det := &detect.Processor{} // its topics depend on no config
	got := map[topology.Group]declared{
		topology.Detect:         {group: topology.Detect, inputs: det.Inputs(), outputs: det.Outputs(), lookups: det.Lookups()},
		topology.Track:          withLookups(withSide(fromGraph(trk.Graph()), trk.SideOutputs()), trk.Lookups()),
		topology.Aggregate:      withLookups(fromGraph(agg.Graph()), agg.Lookups()),
		topology.SinkClickHouse: {group: topology.SinkClickHouse, inputs: sink.Inputs(), outputs: sink.Outputs()},
	}
	for _, f := range flow {
		if _, ok := got[f.group]; !ok {
			t.Errorf("stage %s (group %s) is not checked here", f.name, f.group)
		}
	}
	for _, spec := range top.Groups {
		d, ok := got[spec.Name]
		if !ok {
			t.Errorf("group %s of the topology has no stage", spec.Name)
			continue
		}
		if d.group != spec.Name {
			t.Errorf("stage of group %s runs as group %s", spec.Name, d.group)
		}
		sameSet := func(what string, code, decl []topology.Topic) {
			a, b := slices.Clone(code), slices.Clone(decl)
			slices.Sort(a)
			slices.Sort(b)
			if !slices.Equal(a, b) {
				t.Errorf("group %s: the stage's %s are %v, the topology declares %v", spec.Name, what, code, decl)
			}
		}
		sameSet("inputs", d.inputs, spec.Inputs)
		sameSet("outputs", d.outputs, spec.Outputs)
		sameSet("lookup tables", d.lookups, spec.Lookups)
		switch {
		case (d.table == nil) != (spec.Table == nil):
			t.Errorf("group %s: the stage's table is %v, the topology declares %v", spec.Name, d.table, spec.Table)
		case d.table != nil && *d.table != *spec.Table:
			t.Errorf("group %s: the stage's table is %s, the topology declares %s", spec.Name, *d.table, *spec.Table)
		case d.table != nil && d.codec != top.Topic(*spec.Table).Codec:
			t.Errorf("group %s: the table's codec is %q, the topology declares %q", spec.Name, d.codec, top.Topic(*spec.Table).Codec)
		}
	}
}
