package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/cropstream/cropstream/simulator"
)

// SourceConfig names a camera's source: exactly one of Video, Folder and
// Scenario.
type SourceConfig struct {
	// Video is a file, or an rtsp://, http:// or https:// URL.
	Video string
	// Folder holds images in name order, spaced FolderFPS apart.
	Folder    string
	FolderFPS float64
	// Scenario is the field simulator's scenario (YAML file or builtin
	// name); Rows, when set, are the only rows it delivers.
	Scenario string
	Rows     []string
}

// Validate checks that exactly one source is named.
func (c SourceConfig) Validate() error {
	n := 0
	for _, s := range []string{c.Video, c.Folder, c.Scenario} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return errors.New("ingest: give exactly one source: --video, --folder or --scenario")
	}
	return nil
}

// Open opens the source, so that a bad one fails before anything is
// produced. A scenario also fills cfg as ScenarioDefaults does where changed
// says no flag gave a value, with its capture starting at StartOrNow.
func Open(ctx context.Context, src SourceConfig, cfg *Config, changed func(string) bool) (Source, error) {
	if err := src.Validate(); err != nil {
		return nil, err
	}
	switch {
	case src.Video != "":
		return OpenVideo(ctx, src.Video)
	case src.Folder != "":
		return OpenFolder(src.Folder, src.FolderFPS)
	}
	sc, err := simulator.Load(src.Scenario)
	if err != nil {
		return nil, err
	}
	s := OpenScenario(sc)
	if len(src.Rows) > 0 {
		s.Rows = map[string]bool{}
		for _, r := range src.Rows {
			s.Rows[r] = true
		}
	}
	ScenarioDefaults(cfg, sc, changed)
	if !changed("capture-start") {
		cfg.CaptureStart = sc.StartOrNow()
	}
	return s, nil
}

// ScenarioDefaults takes camera, field and block from the scenario where the
// user gave no flag; rows come with each frame. Capture times start at the
// scenario's start_time (a fixed date unless its file gives one); a caller
// that wants the time of the run sets cfg.CaptureStart after.
func ScenarioDefaults(cfg *Config, sc *simulator.Scenario, changed func(string) bool) {
	if !changed("camera") {
		cfg.CameraID = sc.Camera.ID
	}
	if !changed("field") {
		cfg.FieldID = sc.Field
	}
	if !changed("block") {
		cfg.BlockID = sc.Block
	}
	if !changed("capture-start") {
		cfg.CaptureStart = sc.StartTime
	}
}

// ProgressTo is where a file's progress bar goes for mode auto (stderr when
// it is a terminal), on or off (nil).
func ProgressTo(mode string) (io.Writer, error) {
	switch mode {
	case "on":
		return os.Stderr, nil
	case "auto":
		if term.IsTerminal(int(os.Stderr.Fd())) {
			return os.Stderr, nil
		}
		return nil, nil
	case "off":
		return nil, nil
	}
	return nil, fmt.Errorf("--progress %q, want auto, on or off", mode)
}
