package detect

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/shadow"
	"github.com/cropstream/cropstream/stage/stagetest"
	"github.com/cropstream/cropstream/topology"
)

func TestRouteCanary(t *testing.T) {
	serving := &slot{id: "s"}
	p := &Processor{serving: serving}
	if p.route(&schema.Frame{CameraId: "cam-3"}) != serving {
		t.Fatal("without a canary every frame goes to the serving model")
	}
	byCam := &slot{id: "c", dep: &schema.ModelDeployment{Cameras: []string{"cam-3"}}}
	p.canary = byCam
	if p.route(&schema.Frame{CameraId: "cam-3", FrameId: "x"}) != byCam || p.route(&schema.Frame{CameraId: "cam-4", FrameId: "x"}) != serving {
		t.Fatal("a camera canary takes its cameras' frames and only those")
	}
	byShare := &slot{id: "c", dep: &schema.ModelDeployment{Share: 0.1}}
	p.canary = byShare
	n, canary := 20000, 0
	for i := range n {
		f := &schema.Frame{CameraId: "cam-1", FrameId: fmt.Sprintf("frame-%d", i)}
		s := p.route(f)
		if s == byShare {
			canary++
		}
		if p.route(f) != s {
			t.Fatalf("frame %s routed two ways", f.FrameId)
		}
	}
	if share := float64(canary) / float64(n); math.Abs(share-0.1) > 0.01 {
		t.Fatalf("canary took %.3f of frames, want 0.1", share)
	}
}

func TestDeployAndRollback(t *testing.T) {
	conn, _ := brokertest.Open(t, topology.Config{CameraPartitions: 2, BlockPartitions: 1, DLQPartitions: 1})
	ctx := context.Background()
	dep := func(id, role string, cams ...string) *schema.ModelDeployment {
		return &schema.ModelDeployment{ModelId: id, Name: "m", Path: "/models/" + id, Role: role, Cameras: cams}
	}
	state := func() (string, string) {
		t.Helper()
		ds, err := Deployments(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		return ds[RoleServing].GetModelId(), ds[RoleCanary].GetModelId()
	}
	if _, err := Rollback(ctx, conn); !errors.Is(err, ErrNothingToRollBack) {
		t.Fatalf("rollback of nothing: %v", err)
	}
	for _, d := range []*schema.ModelDeployment{dep("a", RoleServing), dep("b", RoleServing), dep("c", RoleCanary, "cam-3")} {
		if err := Deploy(ctx, conn, d); err != nil {
			t.Fatal(err)
		}
	}
	if s, c := state(); s != "b" || c != "c" {
		t.Fatalf("after deploying a, b and canary c: serving %q, canary %q", s, c)
	}
	// Rollback ends the canary first, then returns serving to the model
	// before it.
	if _, err := Rollback(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if s, c := state(); s != "b" || c != "" {
		t.Fatalf("after the first rollback: serving %q, canary %q", s, c)
	}
	if d, err := Rollback(ctx, conn); err != nil || d.ModelId != "a" {
		t.Fatalf("second rollback: %v, %v", d, err)
	}
	if s, _ := state(); s != "a" {
		t.Fatalf("after the second rollback: serving %q", s)
	}
	// A serving deployment ends a canary.
	if err := Deploy(ctx, conn, dep("d", RoleCanary, "cam-1")); err != nil {
		t.Fatal(err)
	}
	if err := Deploy(ctx, conn, dep("e", RoleServing)); err != nil {
		t.Fatal(err)
	}
	if s, c := state(); s != "e" || c != "" {
		t.Fatalf("after serving e over canary d: serving %q, canary %q", s, c)
	}
}

// A canary by camera on a running stage: the canary's camera gets the
// canary's id, the others the serving model's, and the canary is deployed
// before the stage starts (a restarted process picks it up).
func TestCanaryByCamera(t *testing.T) {
	conn, top := brokertest.Open(t, topology.Config{CameraPartitions: 4, BlockPartitions: 1, DLQPartitions: 1})
	ctx := context.Background()
	serving := engine(t, nil, 1)
	id, err := inference.Identify(modelPath(t), "cropnet", "canary")
	if err != nil {
		t.Fatal(err)
	}
	canary := &schema.ModelDeployment{ModelId: id.String(), Name: id.Name, Version: id.Version, Sha256: id.SHA256, Path: modelPath(t),
		Role: RoleCanary, Cameras: []string{"cam-3"}}
	if err := Deploy(ctx, conn, canary); err != nil {
		t.Fatal(err)
	}
	jpg := plainJPEG()
	cl, _ := conn.Client()
	defer cl.Close()
	for seq := range 5 {
		for _, cam := range []string{"cam-1", "cam-2", "cam-3"} {
			v, _ := schema.Encode(&schema.Frame{FrameId: fmt.Sprintf("%s-%d", cam, seq), CameraId: cam, Sequence: uint64(seq),
				Width: 160, Height: 120, Encoding: schema.Encoding_ENCODING_JPEG, Image: jpg})
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "frames", Key: []byte(cam), Value: v}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	p, run := startDeployable(t, conn, top, serving, 15, 60*time.Second)
	if st := p.Models(); st.Canary != canary.ModelId || st.Serving != serving.ID().String() {
		t.Errorf("models in service %+v", st)
	}
	if err := run.Stop(); err != nil {
		t.Fatal(err)
	}
	recs, err := broker.ReadAll(ctx, conn, topology.Detections, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		d, _ := schema.DecodeDetections(r.Value)
		want := serving.ID().String()
		if d.CameraId == "cam-3" {
			want = canary.ModelId
		}
		if d.ModelId != want {
			t.Errorf("camera %s frame %d: model %s, want %s", d.CameraId, d.Sequence, d.ModelId, want)
		}
	}
	if len(recs) != 15 {
		t.Errorf("%d detections records, want 15", len(recs))
	}
}

// A shadow that is the serving model under another version, on every frame
// of a simulated row: the shadow topic gets a record per frame, the
// comparison reports full agreement, and the serving records are untouched.
func TestShadowIdenticalModelAgrees(t *testing.T) {
	conn, top := brokertest.Open(t, topology.Config{CameraPartitions: 4, BlockPartitions: 1, DLQPartitions: 1})
	ctx := context.Background()
	frames := ingestScenario(t, conn, top, "shadow")
	serving := engine(t, nil, 1)
	id, err := inference.Identify(modelPath(t), "cropnet", "shadow")
	if err != nil {
		t.Fatal(err)
	}
	if err := Deploy(ctx, conn, &schema.ModelDeployment{ModelId: id.String(), Name: id.Name, Version: id.Version, Sha256: id.SHA256,
		Path: modelPath(t), Role: RoleShadow, Share: 1}); err != nil {
		t.Fatal(err)
	}
	_, run := startDeployable(t, conn, top, serving, frames, 90*time.Second)
	if err := run.Stop(); err != nil {
		t.Fatal(err)
	}
	read := func(topic topology.Topic) []*schema.Detections {
		recs, err := broker.ReadAll(ctx, conn, topic, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var out []*schema.Detections
		for _, r := range recs {
			d, err := schema.DecodeDetections(r.Value)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, d)
		}
		return out
	}
	sv, sh := read(topology.Detections), read(topology.ShadowDetections)
	for _, d := range sv {
		if d.Shadow || d.ModelId != serving.ID().String() {
			t.Fatalf("a serving record from the shadow: %s shadow=%v", d.ModelId, d.Shadow)
		}
	}
	rep := shadow.Compare(sv, sh, 0.5)
	tot := rep.Total
	t.Logf("shadow report: %+v", tot)
	if len(sh) != frames || tot.Frames != frames || tot.ServingBoxes == 0 || tot.ShadowBoxes != tot.ServingBoxes ||
		tot.Matched != tot.ServingBoxes || tot.Precision != 1 || tot.Recall != 1 || tot.ShadowMs <= 0 || tot.ServingMs <= 0 {
		t.Fatalf("%d shadow records for %d frames; report %+v", len(sh), frames, tot)
	}
	if !tot.Tracked || tot.ServingObjects == 0 || tot.ShadowObjects != tot.ServingObjects {
		t.Fatalf("objects the tracker counts: serving %d, shadow %d (tracked %v)", tot.ServingObjects, tot.ShadowObjects, tot.Tracked)
	}
	if len(rep.ShadowModels) != 1 || rep.ShadowModels[0] != id.String() {
		t.Fatalf("shadow models %v, want %s", rep.ShadowModels, id)
	}
}

// startDeployable runs a detect stage serving serving that loads what is
// deployed from its file, and returns once it has detected n frames; the
// test fails if that takes longer than limit.
func startDeployable(t *testing.T, conn *broker.Conn, top *topology.Topology, serving Detector, n int, limit time.Duration) (*Processor, *stagetest.Running) {
	t.Helper()
	loader := func(_ context.Context, d *schema.ModelDeployment) (Detector, error) {
		return inference.New(inference.Config{ModelPath: d.Path, Threads: 1, ModelName: d.Name, ModelVersion: d.Version, SHA256: d.Sha256})
	}
	p, err := New(Config{Detector: serving, MaxBatch: 8, Workers: 2, Loader: loader}, conn, top)
	if err != nil {
		t.Fatal(err)
	}
	run := stagetest.Start(context.Background(), p)
	if !stagetest.Until(limit, func() bool { return p.Stats.Frames.Load() >= int64(n) }) {
		run.Stop()
		t.Fatalf("%d of %d frames detected", p.Stats.Frames.Load(), n)
	}
	return p, run
}
