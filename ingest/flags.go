package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/topology"
)

// Flags are `cropstream ingest`'s for one source: the source, the Config its
// frames are produced with, and the two that Open reads into it.
type Flags struct {
	Source SourceConfig
	Config Config
	// CaptureStart is RFC 3339; Progress is a mode of ProgressTo.
	CaptureStart, Progress string
}

// RegisterFlags registers the flags.
func (fl *Flags) RegisterFlags(f *pflag.FlagSet) {
	f.StringVar(&fl.Source.Video, "video", "", "video file or rtsp/http(s) stream URL")
	f.StringVar(&fl.Source.Folder, "folder", "", "folder of images (jpg, png, bmp, tif), in name order")
	f.StringVar(&fl.Source.Scenario, "scenario", "", "simulator scenario: YAML file or builtin name")
	f.StringSliceVar(&fl.Source.Rows, "scenario-rows", nil, "with --scenario: only these rows (ids like B1-R2), e.g. one camera per row")
	f.Float64Var(&fl.Source.FolderFPS, "folder-fps", 10, "capture rate the folder's images are spaced at")
	f.StringVar(&fl.Config.CameraID, "camera", "", "camera id (the Kafka key; required except with --scenario)")
	f.StringVar(&fl.Config.FieldID, "field", "", "field id")
	f.StringVar(&fl.Config.BlockID, "block", "", "block id")
	f.StringVar(&fl.Config.RowID, "row", "", "row id")
	f.Float64Var(&fl.Config.SampleFPS, "fps", 0, "keep at most this many frames per second of source time (0: all)")
	f.IntVar(&fl.Config.JPEGQuality, "jpeg-quality", 90, "JPEG quality of encoded frames (1-100)")
	f.IntVar(&fl.Config.MaxFrameBytes, "max-frame-bytes", 0, "refuse frames larger than this (default and maximum: --topology-max-frame-bytes)")
	f.StringVar(&fl.CaptureStart, "capture-start", "", "capture time of a file's first frame, RFC 3339 (default: now); fix it to re-ingest with the same frame ids")
	f.Var(&fl.Config.Lane, "lane", "live or backfill (default: live for a stream URL, backfill otherwise)")
	f.StringVar(&fl.Progress, "progress", "auto", "progress bar for files: auto (when stderr is a terminal), on, off")
}

// Open checks the flags and opens the source, completing Config as Open
// does; changed says which flags were given.
func (fl *Flags) Open(ctx context.Context, changed func(string) bool) (Source, error) {
	if err := fl.Source.Validate(); err != nil {
		return nil, err
	}
	if err := CheckJPEGQuality(fl.Config.JPEGQuality); err != nil {
		return nil, err
	}
	if fl.CaptureStart != "" {
		t, err := time.Parse(time.RFC3339Nano, fl.CaptureStart)
		if err != nil {
			return nil, fmt.Errorf("--capture-start: %w", err)
		}
		fl.Config.CaptureStart = t
	}
	src, err := Open(ctx, fl.Source, &fl.Config, changed)
	if err != nil {
		return nil, err
	}
	if fl.Config.Progress, err = ProgressTo(fl.Progress); err != nil {
		src.Close()
		return nil, err
	}
	if fl.Config.BlockID == "" {
		// Still worth running (detections, the dashboard), but no yield.
		slog.Warn("ingest: no --block: the frames are detected and tracked, but what is counted belongs to no block, so it goes to the dead letters and into no yield; give --block (and --field, --row)", "camera", fl.Config.CameraID)
	}
	return src, nil
}

// Produce runs an Ingester of cfg over src to conn's cluster, and logs what
// it did; no Stats when it did not start.
func Produce(ctx context.Context, conn *broker.Conn, top *topology.Topology, cfg Config, src Source) (*Stats, error) {
	client, err := conn.Client()
	if err != nil {
		return nil, err
	}
	defer client.Close()
	in, err := New(cfg, client, top)
	if err != nil {
		return nil, err
	}
	st, err := in.Run(ctx, src)
	slog.Info("ingest done", "camera", cfg.CameraID, "frames", st.Frames, "bytes", st.Bytes,
		"sampled_out", st.Sampled, "dead_letters", st.DeadLetters, "elapsed", st.Elapsed.Round(time.Millisecond), "MBps", fmt.Sprintf("%.1f", st.MBps()))
	return &st, err
}
