package detect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// The roles a deployment takes: the key of its record in the models topic.
const (
	RoleServing = "serving"
	RoleCanary  = "canary"
	// RoleShadow runs beside the serving model on its share of frames; its
	// boxes go to the shadow-detections topic only.
	RoleShadow = "shadow"
)

// roles lists them in the order a starting process loads them.
var roles = []string{RoleServing, RoleCanary, RoleShadow}

// Deployments reads the deployments in force, by role (absent: none; a
// canary ended by rollback is absent too).
func Deployments(ctx context.Context, conn *broker.Conn) (map[string]*schema.ModelDeployment, error) {
	recs, err := broker.ReadAll(ctx, conn, topology.Models, time.Second)
	if err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	out := map[string]*schema.ModelDeployment{}
	for _, r := range recs {
		d, err := schema.Decode[schema.ModelDeployment](r.Value)
		if err != nil {
			continue // refused by detect too; the newer valid record wins anyway
		}
		if d.ModelId == "" {
			delete(out, string(r.Key))
			continue
		}
		out[string(r.Key)] = d
	}
	return out, nil
}

// Deploy publishes d under its role, recording the deployment it replaces
// so a rollback can return to it. A serving deployment also ends a canary:
// the model tried on it is either the one now served or one dropped.
func Deploy(ctx context.Context, conn *broker.Conn, d *schema.ModelDeployment) error {
	if !slices.Contains(roles, d.Role) {
		return fmt.Errorf("deploy: role %q, want one of %v", d.Role, roles)
	}
	cur, err := Deployments(ctx, conn)
	if err != nil {
		return err
	}
	if prev := cur[d.Role]; prev != nil {
		prev.Previous = nil // one step of history per record, not a chain
		d.Previous = prev
	}
	d.Action, d.DeployedUnixNs = "deploy", time.Now().UnixNano()
	recs := []*schema.ModelDeployment{d}
	if d.Role == RoleServing && cur[RoleCanary] != nil {
		recs = append(recs, &schema.ModelDeployment{Role: RoleCanary, Action: "deploy", DeployedUnixNs: d.DeployedUnixNs})
	}
	return publish(ctx, conn, recs...)
}

// ErrNothingToRollBack is returned by Rollback when the role has no earlier
// deployment to return to.
var ErrNothingToRollBack = errors.New("nothing to roll back to")

// Rollback ends the canary when there is one, else returns serving to the
// deployment before the current one. It returns what is in force after.
// The rollback record keeps the model it replaced as its previous, so a
// second rollback undoes the first. A shadow is ended with Stop.
func Rollback(ctx context.Context, conn *broker.Conn) (*schema.ModelDeployment, error) {
	cur, err := Deployments(ctx, conn)
	if err != nil {
		return nil, err
	}
	now := time.Now().UnixNano()
	if c := cur[RoleCanary]; c != nil {
		end := &schema.ModelDeployment{Role: RoleCanary, Action: "rollback", DeployedUnixNs: now}
		return cur[RoleServing], publish(ctx, conn, end)
	}
	s := cur[RoleServing]
	if s == nil || s.Previous == nil {
		return nil, fmt.Errorf("rollback: %w (serving: %v)", ErrNothingToRollBack, s.GetModelId())
	}
	back := s.Previous
	back.Previous = &schema.ModelDeployment{ModelId: s.ModelId, Name: s.Name, Version: s.Version, Sha256: s.Sha256, Path: s.Path, Role: s.Role}
	back.Action, back.DeployedUnixNs = "rollback", now
	return back, publish(ctx, conn, back)
}

// Stop ends the canary or the shadow.
func Stop(ctx context.Context, conn *broker.Conn, role string) error {
	if role != RoleCanary && role != RoleShadow {
		return fmt.Errorf("stop: role %q, want %s or %s (the serving model is replaced, not stopped)", role, RoleCanary, RoleShadow)
	}
	return publish(ctx, conn, &schema.ModelDeployment{Role: role, Action: "stop", DeployedUnixNs: time.Now().UnixNano()})
}

func publish(ctx context.Context, conn *broker.Conn, ds ...*schema.ModelDeployment) error {
	recs, err := broker.Records(topology.Models, ds, (*schema.ModelDeployment).GetRole)
	if err != nil {
		return fmt.Errorf("models: %w", err)
	}
	if err := broker.Produce(ctx, conn, recs...); err != nil {
		return fmt.Errorf("models: publish: %w", err)
	}
	return nil
}

// Placement says where a deployed model serves: on Cameras, on a Share of
// frames (chosen by a hash of the frame id), or, with neither, every frame.
// Shadow runs it beside the serving model (every frame when neither is
// given) instead of serving.
type Placement struct {
	Cameras []string
	Share   float64
	Shadow  bool
}

// NewDeployment is the deployment of the model file at path (absolute, as
// every detect process reads it), identified by id: serving, canary when
// placed on cameras or a share, or shadow.
func NewDeployment(path string, id inference.ModelID, p Placement) *schema.ModelDeployment {
	d := &schema.ModelDeployment{ModelId: id.String(), Name: id.Name, Version: id.Version, Sha256: id.SHA256,
		Path: path, Role: RoleServing}
	switch {
	case p.Shadow:
		if p.Share == 0 && len(p.Cameras) == 0 {
			p.Share = 1
		}
		d.Role, d.Cameras, d.Share = RoleShadow, p.Cameras, p.Share
	case p.Share > 0 || len(p.Cameras) > 0:
		d.Role, d.Cameras, d.Share = RoleCanary, p.Cameras, p.Share
	}
	return d
}

// ParseShare reads "10%" or "0.1" as a share in (0, 1]; "" is 0.
func ParseShare(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if pct {
		v /= 100
	}
	if err != nil || v <= 0 || v > 1 {
		return 0, fmt.Errorf("%q: want a share in (0, 1] such as 10%% or 0.1", s)
	}
	return v, nil
}
