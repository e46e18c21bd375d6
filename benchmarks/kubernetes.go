package benchmarks

import (
	"fmt"
	"math"
	"strings"

	"github.com/cropstream/cropstream/topology"
)

// Plan sizes one stage's Deployment and KEDA ScaledObject in deploy/k8s for
// 5 and 50 TB/day of 100 KB frames.
type Plan struct {
	// Stage is the Deployment's name; Group and Input are the consumer
	// group its ScaledObject watches and the topic whose lag it scales on.
	Stage string
	Group topology.Group
	Input topology.Topic
	// FPS is one pod's frames/s as measured (a StageRate of this run); 0:
	// not measured by bench.
	FPS float64
	// Replicas are the pods the two rates need, rounded up (0: not measured).
	Replicas [2]int
	// Partitions are the input topic's partitions for the two rates: the
	// ScaledObject's maxReplicaCount can be no more than this.
	Partitions [2]int32
}

// planStages maps the Deployments of deploy/k8s to the rates bench measures
// ("" where bench has none).
var planStages = []struct {
	stage, rate string
	group       topology.Group
	input       topology.Topic
}{
	{"ingest", "ingest + broker", topology.Ingest, topology.Cameras},
	{"detect", "detect", topology.Detect, topology.Frames},
	{"track", "track", topology.Track, topology.Detections},
	{"aggregate", "", topology.Aggregate, topology.Objects},
	{"sink", "sink", topology.SinkClickHouse, topology.Frames},
}

// Plans computes each stage's replicas from the measured rates and the
// partitions of its input topic: the topology's count, doubled until there
// are two per pod of the widest stage sharing that key (camera-keyed topics
// are co-partitioned, so frames and detections move together), so KEDA can
// double any stage's pods. The camera registry's 12 partitions are fixed.
func Plans(rates []StageRate, top *topology.Topology) []Plan {
	targets := [2]float64{TargetFPS, 10 * TargetFPS}
	fps := map[string]float64{}
	for _, r := range rates {
		fps[r.Name] = r.FPS
	}
	plans := make([]Plan, len(planStages))
	widest := map[string][2]int{} // by key scheme
	for i, s := range planStages {
		p := Plan{Stage: s.stage, Group: s.group, Input: s.input, FPS: fps[s.rate]}
		key := top.Topic(s.input).Key
		w := widest[key]
		for j, t := range targets {
			if p.FPS > 0 {
				p.Replicas[j] = int(math.Ceil(t / p.FPS))
			}
			w[j] = max(w[j], p.Replicas[j])
		}
		widest[key] = w
		plans[i] = p
	}
	for i := range plans {
		spec := top.Topic(plans[i].Input)
		for j := range targets {
			n := spec.Partitions
			if plans[i].Input != topology.Cameras {
				for n < int32(2*widest[spec.Key][j]) {
					n *= 2
				}
			}
			plans[i].Partitions[j] = n
		}
	}
	return plans
}

// planMarkdown is the table of Plans for the report.
func planMarkdown(rates []StageRate) string {
	top, err := topology.New(topology.Config{})
	if err != nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n## Replicas and partitions for 5 and 50 TB/day (deploy/k8s)\n\n" +
		"Pods of each stage's Deployment as measured here, and the partitions of the topic its\n" +
		"ScaledObject scales on (maxReplicaCount at most that; --camera-partitions sizes frames and\n" +
		"detections together, --block-partitions objects):\n\n")
	b.WriteString("| stage (group) | scales on | one pod, frames/s | 5 TB/day replicas | partitions | 50 TB/day replicas | partitions |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, p := range Plans(rates, top) {
		one, r0, r1 := "not measured by bench", "—", "—"
		if p.FPS > 0 {
			one, r0, r1 = fmt.Sprintf("%.0f", p.FPS), fmt.Sprint(p.Replicas[0]), fmt.Sprint(p.Replicas[1])
		}
		fmt.Fprintf(&b, "| %s (%s) | %s | %s | %s | %d | %s | %d |\n", p.Stage, p.Group, p.Input, one, r0, p.Partitions[0], r1, p.Partitions[1])
	}
	return b.String()
}
