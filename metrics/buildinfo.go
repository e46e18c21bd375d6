package metrics

import (
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// Build says which build this is: the module version (or "devel"), the VCS
// revision and whether the tree was modified, and the Go version.
type Build struct {
	Version, Revision, GoVersion string
	Modified                     bool
}

// BuildInfo reads the build from the binary.
func BuildInfo() Build {
	b := Build{Version: "devel", GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		b.Version = v
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

func (b Build) String() string {
	s := b.Version
	if b.Revision != "" {
		s += " (" + b.Revision
		if b.Modified {
			s += ", modified"
		}
		s += ")"
	}
	return s + " " + b.GoVersion
}

// buildInfoCollector exports cropstream_build_info, 1 with the build as labels,
// so dashboards can tell which build each process runs.
func buildInfoCollector() prometheus.Collector {
	b := BuildInfo()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: ns + "_build_info", Help: "The running build: version, VCS revision, Go version (always 1).",
		ConstLabels: prometheus.Labels{"version": b.Version, "revision": b.Revision, "goversion": b.GoVersion}})
	g.Set(1)
	return g
}
