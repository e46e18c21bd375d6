package benchmarks

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"runtime"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/topology"
)

// IngestRate measures ingest into an embedded broker and one consumer group
// reading it back: frames of 100 KB from 4 cameras.
func IngestRate(ctx context.Context, frames int) (StageRate, error) {
	var it Throughput
	err := OnFreshBroker(ctx, func(conn *broker.Conn, top *topology.Topology) (err error) {
		it, err = IngestThroughput(ctx, conn, top, 100_000, frames, 4)
		return err
	})
	if err != nil {
		return StageRate{}, fmt.Errorf("bench ingest: %w", err)
	}
	return StageRate{"ingest + broker", it.FPS(), it.MBps(), "4 cameras, embedded broker on disk, one consumer group", cores()}, nil
}

// DetectStageRate runs the detect stage as `run` does (eng is the stage's
// engine, with its lanes and batches) on frames of the default scenario in a
// fresh embedded broker. provider names eng's provider in the report.
func DetectStageRate(ctx context.Context, eng *inference.Engine, provider string, frames int) (StageRate, error) {
	jpgs, err := RenderJPEGs("default", 48)
	if err != nil {
		return StageRate{}, fmt.Errorf("bench detect: %w", err)
	}
	var r DetectResult
	err = OnFreshBroker(ctx, func(conn *broker.Conn, top *topology.Topology) (err error) {
		r, err = DetectStage(ctx, conn, top, eng, jpgs, 4, frames)
		return err
	})
	if err != nil {
		return StageRate{}, fmt.Errorf("bench detect: %w", err)
	}
	info := eng.Info()
	return StageRate{"detect", r.FPS(), r.MBps(),
		fmt.Sprintf("%s %dx%d, %s provider, %d session(s), %.1f frames a batch; %.1f ms decode and %.1f ms inference per frame (wall time in its lane)",
			eng.Name(), info.Width, info.Height, provider, eng.Sessions(), r.FramesPerBatch, r.DecodeMs, r.InferMs),
		cores()}, nil
}

// TrackStageRate runs the track stage on a fresh embedded broker (8 cameras,
// about 30 detections a frame), and the tracker alone on one core for
// trackerFrames frames.
func TrackStageRate(ctx context.Context, frames, trackerFrames int) (StageRate, error) {
	var t Throughput
	err := OnFreshBroker(ctx, func(conn *broker.Conn, top *topology.Topology) (err error) {
		t, err = TrackStage(ctx, conn, top, 8, frames)
		return err
	})
	if err != nil {
		return StageRate{}, fmt.Errorf("bench track: %w", err)
	}
	alone := TrackerFPS(TrackFrames(2000, 30), trackerFrames)
	return StageRate{"track", t.FPS(), 0, fmt.Sprintf("8 cameras, ~30 detections a frame; the tracker alone %.0f frames/s on one core", alone), cores()}, nil
}

// PipelineRate is the whole pipeline's rate from a scenario run of frames in
// elapsedS seconds.
func PipelineRate(scenario string, frames int, elapsedS float64) StageRate {
	return StageRate{"whole pipeline", float64(frames) / elapsedS, 0,
		fmt.Sprintf("scenario %s, %d frames in %.1f s, simulator + ingest + all stages in one process", scenario, frames, elapsedS), cores()}
}

func cores() string { return fmt.Sprintf("%d cores", runtime.NumCPU()) }

// OnFreshBroker runs f on an embedded broker of its own, on disk in a
// temporary directory, with the topology's topics: each measurement starts
// from empty topics.
func OnFreshBroker(ctx context.Context, f func(*broker.Conn, *topology.Topology) error) error {
	dir, err := os.MkdirTemp("", "cropstream-bench-broker-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	top, err := topology.New(topology.Config{})
	if err != nil {
		return err
	}
	conn, err := broker.Open(ctx, broker.Config{DataDir: dir}, top)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := broker.EnsureTopicsExist(ctx, conn, top); err != nil {
		return err
	}
	return f(conn, top)
}

// QuickScenario is a field small enough for a smoke test of the whole
// pipeline (bench --quick), not for figures.
//
//go:embed quick.yaml
var QuickScenario string
