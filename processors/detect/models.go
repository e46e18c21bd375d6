package detect

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/drift"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// Loader loads and probes the model a deployment names. It runs on the
// stage's watch goroutine, never on the batch path, so a slow load delays
// the switch, not frames.
type Loader func(ctx context.Context, d *schema.ModelDeployment) (Detector, error)

// ModelStage is what dead letters of refused deployments carry as stage.
const ModelStage = "detect-model"

// slot is one model in service, with the lanes built for its input.
type slot struct {
	det   Detector
	id    string
	dep   *schema.ModelDeployment // nil: the model the stage was started with
	lanes []*lane
	ref   *drift.Reference
	cost  frameCost
}

// change is a loaded model (or the end of the canary: det nil) waiting to
// be switched to between batches.
type change struct {
	role string
	dep  *schema.ModelDeployment
	det  Detector
	ref  *drift.Reference
}

func (p *Processor) newSlot(det Detector, dep *schema.ModelDeployment, ref *drift.Reference) *slot {
	inf := det.Info()
	s := &slot{det: det, id: ModelID(det), dep: dep, ref: ref}
	s.lanes = make([]*lane, p.cfg.Lanes)
	for i := range s.lanes {
		s.lanes[i] = &lane{
			dec:   newDecoder(p.cfg, inf, max(1, p.cfg.Workers/p.cfg.Lanes), &p.Stats),
			input: inference.NewBatch(inf, p.cfg.MaxBatch),
		}
	}
	return s
}

// close releases the slot's decoders, and its detector when a deployment
// loaded it (the caller owns the one it configured).
func (s *slot) close() {
	for _, l := range s.lanes {
		l.dec.close()
	}
	if c, ok := s.det.(io.Closer); ok && s.dep != nil {
		if err := c.Close(); err != nil {
			slog.Warn("closing a replaced model", "model", s.id, "err", err)
		}
	}
}

// route picks the model of a frame: the canary's cameras, or its share of
// frames by a hash of the frame id (the same frame goes the same way on a
// replay and in every process), else the serving model.
func (p *Processor) route(f *schema.Frame) *slot {
	if c := p.canary; c != nil && inScope(c.dep, f) {
		return c
	}
	return p.serving
}

// inScope says a canary or shadow deployment takes frame f: its cameras,
// else its share of frames.
func inScope(d *schema.ModelDeployment, f *schema.Frame) bool {
	if len(d.Cameras) > 0 {
		return slices.Contains(d.Cameras, f.CameraId)
	}
	return d.Share > 0 && frameShare(f.FrameId) < d.Share
}

// frameShare maps a frame id to [0, 1) uniformly. FNV-1a alone leaves the
// high bits of similar ids (a camera's consecutive frames) clustered, which
// skewed the canary's share (TestRouteCanary); the splitmix64 finaliser
// spreads them.
func frameShare(id string) float64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

// applyChanges switches to the models loaded since the last batch. Only the
// Run loop calls it, between batches: no lane of a replaced slot is running.
func (p *Processor) applyChanges() {
	for {
		select {
		case c := <-p.changes:
			p.apply(c)
		default:
			return
		}
	}
}

func (p *Processor) apply(c change) {
	cur := map[string]**slot{RoleServing: &p.serving, RoleCanary: &p.canary, RoleShadow: &p.shadow}[c.role]
	old := *cur
	var next *slot
	if c.det != nil {
		next = p.newSlot(c.det, c.dep, c.ref)
	}
	from, to := "", ""
	if old != nil {
		from = old.id
	}
	if next != nil {
		to = next.id
	}
	*cur = next
	if c.role == RoleServing && p.cfg.Drift != nil {
		p.cfg.Drift.SetReference(next.ref)
	}
	p.setStatus()
	if old != nil {
		old.close()
	}
	p.Stats.ModelSwitches.Add(1)
	slog.Info("model switched", "stage", Stage, "role", c.role, "from", from, "to", to)
}

// setStatus publishes the ids in service for metrics.
func (p *Processor) setStatus() {
	st := ModelStatus{Serving: p.serving.id}
	if p.canary != nil {
		st.Canary = p.canary.id
		st.CanaryCameras = p.canary.dep.Cameras
		st.CanaryShare = p.canary.dep.Share
	}
	if p.shadow != nil {
		st.Shadow = p.shadow.id
	}
	p.status.Store(&st)
}

// ModelStatus says which models the stage serves.
type ModelStatus struct {
	Serving, Canary, Shadow string
	CanaryCameras           []string
	CanaryShare             float64
}

// Models returns the models in service now.
func (p *Processor) Models() ModelStatus {
	if s := p.status.Load(); s != nil {
		return *s
	}
	return ModelStatus{Serving: ModelID(p.cfg.Detector)}
}

// watchModels follows the models topic. It first reads the topic to the end
// offsets it finds at start and loads only the latest record of each role,
// then signals ready (Run polls no frame before: a restarted process serves
// what was deployed, not its --model); after that it loads each deployment
// as it comes. A deployment that fails to load, or whose file is not the
// one named, is refused: a dead letter with the reason and a counter, and
// the model in service stays.
func (p *Processor) watchModels(ctx context.Context, ready chan<- struct{}) error {
	cl, err := p.conn.Client(kgo.ConsumeTopics(topology.Names(p.Lookups())...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return fmt.Errorf("detect: models: %w", err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, string(topology.Models))
	if err != nil {
		return fmt.Errorf("detect: models: end offsets: %w", err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	current := map[string]string{RoleServing: ModelID(p.cfg.Detector)}
	latest := map[string]*kgo.Record{}
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err := fetchErr(fs); err != nil {
			return err
		}
		fs.EachRecord(func(r *kgo.Record) {
			latest[string(r.Key)] = r
			if r.Offset+1 >= want[r.Partition] {
				delete(want, r.Partition)
			}
		})
	}
	for _, role := range roles {
		r := latest[role]
		if r == nil {
			continue
		}
		// A restart after a refused deployment serves the one before it,
		// as the running processes did, not the process's own --model.
		if d, ok := p.handleDeployment(ctx, cl, r, current); !ok && d.GetPrevious().GetModelId() != "" {
			p.deploy(ctx, cl, r, role, d.Previous, current)
		}
	}
	close(ready)
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err := fetchErr(fs); err != nil {
			return err
		}
		fs.EachRecord(func(r *kgo.Record) { p.handleDeployment(ctx, cl, r, current) })
	}
}

// handleDeployment loads what r deploys and hands it to the Run loop; false
// when it refused it.
func (p *Processor) handleDeployment(ctx context.Context, cl *kgo.Client, r *kgo.Record, current map[string]string) (*schema.ModelDeployment, bool) {
	role := string(r.Key)
	d, err := schema.Decode[schema.ModelDeployment](r.Value)
	if err == nil && !slices.Contains(roles, role) {
		err = fmt.Errorf("role %q, want one of %v", role, roles)
	}
	if err == nil && d.ModelId == "" && role == RoleServing {
		err = errors.New("a serving deployment without a model")
	}
	if err != nil {
		p.refuse(ctx, cl, r, fmt.Errorf("deployment: %w", err))
		return d, false
	}
	return d, p.deploy(ctx, cl, r, role, d, current)
}

// deploy loads d (from record r) for role and hands it to the Run loop.
func (p *Processor) deploy(ctx context.Context, cl *kgo.Client, r *kgo.Record, role string, d *schema.ModelDeployment, current map[string]string) bool {
	if d.ModelId == current[role] {
		return true
	}
	c := change{role: role, dep: d}
	if d.ModelId != "" {
		var err error
		c.det, c.ref, err = p.load(ctx, d)
		if err != nil {
			p.refuse(ctx, cl, r, fmt.Errorf("model %s at %s: %w", d.ModelId, d.Path, err))
			return false
		}
	}
	select {
	case p.changes <- c:
		current[role] = d.ModelId
		return true
	case <-ctx.Done():
		if cl, ok := c.det.(io.Closer); ok {
			cl.Close()
		}
		return false
	}
}

// load loads and checks a deployed model and its drift reference.
func (p *Processor) load(ctx context.Context, d *schema.ModelDeployment) (Detector, *drift.Reference, error) {
	if p.cfg.Loader == nil {
		return nil, nil, errors.New("this detect process was started without a model loader")
	}
	det, err := p.cfg.Loader(ctx, d)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (Detector, *drift.Reference, error) {
		if c, ok := det.(io.Closer); ok {
			c.Close()
		}
		return nil, nil, err
	}
	if id := ModelID(det); id != d.ModelId {
		return fail(fmt.Errorf("loaded as %s, the deployment names %s", id, d.ModelId))
	}
	// A model whose classes differ would make the tracker count another
	// crop under the same class ids.
	if want, got := p.cfg.Detector.Info().Names, det.Info().Names; !slices.Equal(want, got) {
		return fail(fmt.Errorf("classes %v, the stage serves %v", got, want))
	}
	ref, err := drift.Load(drift.SidecarPath(d.Path))
	if err != nil {
		return fail(err)
	}
	if !ref.Matches(d.Sha256) {
		slog.Warn("drift reference recorded with another model file; serving without drift statistics", "model", d.ModelId, "reference", drift.SidecarPath(d.Path))
		ref = nil
	}
	return det, ref, nil
}

// refuse records a deployment the stage did not take.
func (p *Processor) refuse(ctx context.Context, cl *kgo.Client, r *kgo.Record, reason error) {
	p.Stats.ModelRefusals.Add(1)
	slog.Error("model deployment refused; the model in service stays", "stage", Stage, "role", string(r.Key), "offset", r.Offset, "reason", reason)
	if err := cl.ProduceSync(ctx, broker.DeadLetter(p.top, ModelStage, reason.Error(), r)).FirstErr(); err != nil {
		slog.Error("dead letter of a refused model", "err", err)
	}
}
