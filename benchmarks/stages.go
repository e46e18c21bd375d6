package benchmarks

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"runtime"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/sinks/clickhouse"
	"github.com/cropstream/cropstream/topology"
)

// IngestRate measures ingest into an embedded broker and one consumer group
// reading it back: frames of 100 KB from 4 cameras; and, on a broker of its
// own, its raw limit (KafkaThroughput).
func IngestRate(ctx context.Context, frames int) (StageRate, error) {
	var it, raw Throughput
	err := OnFreshBroker(ctx, func(conn *broker.Conn, top *topology.Topology) (err error) {
		it, err = IngestThroughput(ctx, conn, top, FrameBytes, frames, 4)
		return err
	})
	if err == nil {
		err = OnFreshBroker(ctx, func(conn *broker.Conn, _ *topology.Topology) (err error) {
			raw, err = KafkaThroughput(ctx, conn, FrameBytes, frames, 4)
			return err
		})
	}
	if err != nil {
		return StageRate{}, fmt.Errorf("bench ingest: %w", err)
	}
	return StageRate{Name: "ingest + broker", FPS: it.FPS(), MBps: it.MBps(), Detail: "4 cameras, embedded broker on disk, one consumer group", Per: cores(),
		Raw: raw.FPS(), RawHow: fmt.Sprintf("franz-go producing the same %d records of 100 KB (a client per camera, same linger) and a consumer group reading them, no encoding or decoding: %.0f MB/s", raw.Frames, raw.MBps())}, nil
}

// DetectStageRate runs the detect stage as `run` does (eng is the stage's
// engine, with its lanes and batches) on frames of the default scenario in a
// fresh embedded broker, then its raw limit: bare decode and inference of
// the same frames, pipelined, at the same batch, workers and sessions
// (MeasureDetect). provider names eng's provider in the report.
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
	raw, err := MeasureDetect(eng, "default", DetectBatch, frames, runtime.NumCPU())
	if err != nil {
		return StageRate{}, fmt.Errorf("bench detect, bare decode and inference: %w", err)
	}
	info := eng.Info()
	return StageRate{Name: "detect", FPS: r.FPS(), MBps: r.MBps(),
		Detail: fmt.Sprintf("%s %dx%d, %s provider, %d session(s), %.1f frames a batch; %.1f ms decode and %.1f ms inference per frame (wall time in its lane)",
			eng.Name(), info.Width, info.Height, provider, eng.Sessions(), r.FramesPerBatch, r.DecodeMs, r.InferMs),
		Per: cores(), Raw: raw.PipelineFPS,
		RawHow: fmt.Sprintf("decode + letterbox on %d workers and inference in %d session(s) at batch %d, pipelined, on the same frames held in memory (no Kafka): decode alone %.0f, inference alone %.0f frames/s",
			raw.Workers, raw.Sessions, raw.Batch, raw.DecodeFPS, raw.InferFPS)}, nil
}

// TrackStageRate runs the track stage on a fresh embedded broker (8 cameras,
// about 30 detections a frame), and the tracker alone on one core for
// trackerFrames frames: its raw limit.
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
	return StageRate{Name: "track", FPS: t.FPS(), Detail: "8 cameras, ~30 detections a frame", Per: cores(),
		Raw: alone, RawHow: fmt.Sprintf("the tracker alone on the same kind of frames, one camera, one core, %d frames, no Kafka or goka table", trackerFrames)}, nil
}

// SinkBoxes is the boxes per frame of the sink's measurement.
const SinkBoxes = 30

// SinkStageRate runs SinkStage on a fresh embedded broker against the
// ClickHouse server at addr (process serverPID, 0: not known): frames in
// frames/s of SinkBoxes rows each.
func SinkStageRate(ctx context.Context, addr string, serverPID, frames int) (StageRate, error) {
	var r SinkResult
	err := OnFreshBroker(ctx, func(conn *broker.Conn, _ *topology.Topology) (err error) {
		r, err = SinkStage(ctx, conn, addr, serverPID, frames, SinkBoxes, SinkBatch{})
		return err
	})
	if err != nil {
		return StageRate{}, fmt.Errorf("bench sink: %w", err)
	}
	cpu := ""
	if sink, raw := r.CPUMicrosPerRow(); serverPID > 0 {
		cpu = fmt.Sprintf("; CPU, sink and server together: %.1f core-µs a row, against %.1f for the raw insert", sink, raw)
	}
	return StageRate{Name: "sink", FPS: r.RowsPerSec() / SinkBoxes,
		Detail: fmt.Sprintf("detections into ClickHouse (same machine), %d boxes a frame: %.0f rows/s, %d inserts of %.0f ms%s", SinkBoxes, r.RowsPerSec(), r.Inserts, r.InsertMs, cpu),
		Per:    cores(), Raw: r.RawRowsPerSec() / SinkBoxes,
		RawHow: fmt.Sprintf("the same %d rows, decoded beforehand, sent column by column in one Native INSERT of %d-row blocks (the sink's): %.0f rows/s", r.Rows, clickhouse.DefaultBlockRows, r.RawRowsPerSec())}, nil
}

// PipelineRate is the whole pipeline's rate from a scenario run of frames in
// elapsedS seconds.
func PipelineRate(scenario string, frames int, elapsedS float64) StageRate {
	return StageRate{Name: "whole pipeline", FPS: float64(frames) / elapsedS,
		Detail: fmt.Sprintf("scenario %s, %d frames in %.1f s, simulator + ingest + all stages in one process", scenario, frames, elapsedS), Per: cores()}
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
