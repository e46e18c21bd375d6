package detect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cropstream/cropstream/inference"
)

func TestRequestDeployment(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	data := []byte("not a model: deploy publishes, detect processes refuse")
	if err := os.WriteFile("cand.onnx", data, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Request{Version: "2", Share: "10%"}.Deployment("cand.onnx")
	if err != nil {
		t.Fatal(err)
	}
	// The path every detect process reads is absolute, whatever was given.
	if want := filepath.Join(dir, "cand.onnx"); d.Path != want {
		t.Errorf("path %q, want %q", d.Path, want)
	}
	if d.Role != RoleCanary || d.Share != 0.1 || d.Version != "2" || d.Sha256 != inference.HashFile(data) {
		t.Errorf("deployment %v, want a canary on 0.1 of version 2 with the file's hash", d)
	}
	for _, c := range []struct {
		r    Request
		file string
		want string
	}{
		{Request{Version: "2", Share: "10%", Cameras: []string{"cam-3"}}, "cand.onnx", "--cameras and --share: give one of them"},
		{Request{Version: "2", Share: "ten"}, "cand.onnx", "--share \"ten\""},
		{Request{Version: "2"}, "missing.onnx", "identify model"},
	} {
		if _, err := c.r.Deployment(c.file); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v of %s: %v, want an error containing %q", c.r, c.file, err, c.want)
		}
	}
}
