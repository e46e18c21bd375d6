package detect

import (
	"strings"
	"testing"

	"github.com/cropstream/cropstream/inference"
)

func TestNewDeploymentRoles(t *testing.T) {
	id := inference.ModelID{Name: "cropnet", Version: "2", SHA256: "ab12"}
	for _, c := range []struct {
		p     Placement
		role  string
		share float64
	}{
		{Placement{}, RoleServing, 0},
		{Placement{Share: 0.1}, RoleCanary, 0.1},
		{Placement{Cameras: []string{"cam-3"}}, RoleCanary, 0},
		{Placement{Shadow: true}, RoleShadow, 1},
		{Placement{Shadow: true, Share: 0.2}, RoleShadow, 0.2},
		{Placement{Shadow: true, Cameras: []string{"cam-3"}}, RoleShadow, 0},
	} {
		d := NewDeployment("/m/cropnet.onnx", id, c.p)
		if d.Role != c.role || d.Share != c.share || len(d.Cameras) != len(c.p.Cameras) {
			t.Errorf("%+v: role %s share %v cameras %v, want %s %v", c.p, d.Role, d.Share, d.Cameras, c.role, c.share)
		}
		if d.ModelId != id.String() || d.Path != "/m/cropnet.onnx" || d.Sha256 != "ab12" {
			t.Errorf("%+v: deployment %v does not name the model", c.p, d)
		}
	}
}

func TestParseShare(t *testing.T) {
	for in, want := range map[string]float64{"": 0, "10%": 0.1, "0.25": 0.25, "1": 1, "100%": 1} {
		if got, err := ParseShare(in); err != nil || got != want {
			t.Errorf("ParseShare(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "150%", "2", "-0.1", "ten"} {
		if _, err := ParseShare(in); err == nil || !strings.Contains(err.Error(), "want a share in (0, 1]") {
			t.Errorf("ParseShare(%q): %v, want a refusal", in, err)
		}
	}
}
