package benchmarks

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cropstream/cropstream/processors/detect"
	"github.com/cropstream/cropstream/sinks/clickhouse/chtest"
)

// AllConfig configures All: what `cropstream bench` measures.
type AllConfig struct {
	// Out is the directory for bench.md and bench.png.
	Out string
	// Quick makes small runs: a smoke test, not figures to quote.
	Quick bool
	// GPUFPS is one GPU's detect frames/s for the capacity model.
	GPUFPS float64
	// Model is the detect stage's detector, opened as `run` opens it.
	Model detect.ModelConfig
	// Pipeline runs the whole pipeline on a scenario (file or builtin name)
	// on a fresh broker and returns its rate (PipelineRate).
	Pipeline func(ctx context.Context, scenario string) (StageRate, error)
	// ClickHouse is the native address of the server the sink is measured
	// on; empty: a clickhouse-server of its own in a temporary directory.
	ClickHouse string
	// Log receives a line as each measurement starts.
	Log io.Writer
}

// All measures each stage on this machine and the whole pipeline, writes
// bench.md and bench.png with a capacity model (Write) and returns the
// Markdown.
func All(ctx context.Context, cfg AllConfig) (string, error) {
	say := func(f string, a ...any) { fmt.Fprintf(cfg.Log, f+"\n", a...) }
	n := func(full, small int) int {
		if cfg.Quick {
			return small
		}
		return full
	}
	var rates []StageRate

	say("bench: ingest -> broker -> consumer group, 100 KB frames")
	r, err := IngestRate(ctx, n(6000, 800))
	if err != nil {
		return "", err
	}
	rates = append(rates, r)

	say("bench: detect stage (frames from the broker: decode, letterbox, inference in lanes, produce, commit)")
	eng, err := cfg.Model.StageEngine(0.1)
	if err != nil {
		return "", fmt.Errorf("bench detect: %w", err)
	}
	r, err = DetectStageRate(ctx, eng, eng.Provider(), n(640, 96))
	eng.Close()
	if err != nil {
		return "", err
	}
	rates = append(rates, r)

	say("bench: track stage (detections from the broker, tracker state in the goka table)")
	if r, err = TrackStageRate(ctx, n(8000, 800), n(20000, 4000)); err != nil {
		return "", err
	}
	rates = append(rates, r)

	say("bench: sink (detections from the broker into ClickHouse), and the same rows in one Native insert")
	// 1.53M rows: at 510,000 the first batch's fill and the last insert,
	// which nothing overlaps, were a third of the run (benchmarks/results.md).
	if r, err = sinkRate(ctx, cfg.ClickHouse, n(51000, 1000)); err != nil {
		return "", err
	}
	rates = append(rates, r)

	say("bench: whole pipeline on a simulated field")
	scenario := "default"
	if cfg.Quick {
		dir, err := os.MkdirTemp("", "cropstream-bench-")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(dir)
		scenario = filepath.Join(dir, "quick.yaml")
		if err := os.WriteFile(scenario, []byte(QuickScenario), 0o644); err != nil {
			return "", err
		}
	}
	if r, err = cfg.Pipeline(ctx, scenario); err != nil {
		return "", fmt.Errorf("bench pipeline: %w", err)
	}
	rates = append(rates, r)

	md, err := Write(cfg.Out, rates, cfg.GPUFPS)
	if err != nil {
		return "", err
	}
	say("bench: wrote %s and %s", filepath.Join(cfg.Out, "bench.md"), filepath.Join(cfg.Out, "bench.png"))
	return md, nil
}

// sinkRate measures the sink on the server at addr, or on one started in a
// temporary directory when addr is empty.
func sinkRate(ctx context.Context, addr string, frames int) (StageRate, error) {
	pid := 0
	if addr == "" {
		dir, err := os.MkdirTemp("", "cropstream-bench-clickhouse-")
		if err != nil {
			return StageRate{}, err
		}
		defer os.RemoveAll(dir)
		srv, err := chtest.Launch(dir)
		if err != nil {
			return StageRate{}, fmt.Errorf("bench sink: %w (or give a server with --clickhouse)", err)
		}
		defer srv.Stop()
		addr, pid = srv.Addr(), srv.PID()
	}
	return SinkStageRate(ctx, addr, pid, frames)
}
