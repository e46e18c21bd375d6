package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/cropstream/cropstream/pipeline"
)

// Every container of deploy/k8s runs a command this CLI parses, and the run
// Deployments together run every stage (deploy/k8s's own test checks them
// against the topology and the Kubernetes API types).
func TestK8sManifestsMatchCLI(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repo, "deploy", "k8s", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/k8s: %v", err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range bytes.Split(b, []byte("\n---\n")) {
			var d appsv1.Deployment
			if err := yaml.Unmarshal(doc, &d); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if d.Kind != "Deployment" {
				continue
			}
			for _, c := range d.Spec.Template.Spec.Containers {
				root := newRoot()
				cmd, _, err := root.Find(c.Args)
				if err != nil || cmd == root {
					t.Errorf("%s: args %v are not a cropstream command: %v", d.Name, c.Args, err)
					continue
				}
				if err := cmd.ParseFlags(c.Args); err != nil {
					t.Errorf("%s: %v: %v", d.Name, c.Args, err)
					continue
				}
				if cmd.Name() == "run" {
					st, _ := cmd.Flags().GetString("stages")
					for _, x := range strings.Split(st, ",") {
						if !slices.Contains(pipeline.AllStages, x) {
							t.Errorf("%s: unknown stage %q", d.Name, x)
						}
						seen[x] = true
					}
				} else if reg, _ := cmd.Flags().GetBool("registry"); cmd.Name() != "ingest" || !reg {
					t.Errorf("%s: runs %s, want run or ingest --registry", d.Name, cmd.Name())
				}
			}
		}
	}
	for _, st := range pipeline.AllStages {
		if !seen[st] {
			t.Errorf("no Deployment runs stage %s", st)
		}
	}
}
