package simulator

import (
	"bufio"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"gocv.io/x/gocv"
)

// OutputConfig says what Render writes.
type OutputConfig struct {
	// Dir receives video, gt.txt, truth.json and frames.csv.
	Dir string
	// Video is the file name in Dir; .avi (MJPG) or .mp4 (mp4v). Default video.avi.
	Video string
	// ExportYOLO also writes yolo/images/*.jpg, yolo/labels/*.txt and
	// yolo/data.yaml for detector training.
	ExportYOLO bool
	// YOLOEvery keeps every n-th frame for the YOLO export (default 1).
	YOLOEvery int
	// JPEGQuality of exported images (default 90).
	JPEGQuality int
	// Snapshot, when > 0, writes snapshot.png: that frame with its ground
	// truth drawn (yellow: visible, blue: mostly hidden).
	Snapshot int
	// Progress is called after each frame with the count so far.
	Progress func(frames int)
}

// ProgressBar draws a bar of sc's frames on w, for OutputConfig.Progress.
func ProgressBar(sc *Scenario, w io.Writer) func(frames int) {
	bar := progressbar.NewOptions(New(sc).EstimatedFrames(), progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("render "+sc.Name), progressbar.OptionClearOnFinish())
	return func(int) { bar.Add(1) }
}

// RenderStats summarises a Render.
type RenderStats struct {
	Frames  int
	Elapsed time.Duration
	Truth   *Truth
}

// Render writes the whole scenario to cfg.Dir.
func Render(sc *Scenario, cfg OutputConfig) (RenderStats, error) {
	if cfg.Video == "" {
		cfg.Video = "video.avi"
	}
	if cfg.YOLOEvery <= 0 {
		cfg.YOLOEvery = 1
	}
	if cfg.JPEGQuality == 0 {
		cfg.JPEGQuality = 90
	}
	codec := map[string]string{".avi": "MJPG", ".mp4": "mp4v"}[strings.ToLower(filepath.Ext(cfg.Video))]
	if codec == "" {
		return RenderStats{}, fmt.Errorf("sim: video %s: want a .avi or .mp4 name", cfg.Video)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return RenderStats{}, fmt.Errorf("sim: %w", err)
	}
	start := time.Now()
	c := sc.Camera
	vw, err := gocv.VideoWriterFile(filepath.Join(cfg.Dir, cfg.Video), codec, c.FPS, c.Width, c.Height, true)
	if err != nil {
		return RenderStats{}, fmt.Errorf("sim: open video writer: %w", err)
	}
	defer vw.Close()
	files := map[string]*bufio.Writer{}
	var closers []*os.File
	defer func() {
		for _, f := range closers {
			f.Close()
		}
	}()
	create := func(name string) (*bufio.Writer, error) {
		f, err := os.Create(filepath.Join(cfg.Dir, name))
		if err != nil {
			return nil, fmt.Errorf("sim: %w", err)
		}
		closers = append(closers, f)
		w := bufio.NewWriter(f)
		files[name] = w
		return w, nil
	}
	gt, err := create("gt.txt")
	if err != nil {
		return RenderStats{}, err
	}
	meta, err := create("frames.csv")
	if err != nil {
		return RenderStats{}, err
	}
	fmt.Fprintln(meta, "frame,sequence,row_id,position_m,capture_time,speed_mps")
	if cfg.ExportYOLO {
		for _, d := range []string{"yolo/images", "yolo/labels"} {
			if err := os.MkdirAll(filepath.Join(cfg.Dir, d), 0o755); err != nil {
				return RenderStats{}, fmt.Errorf("sim: %w", err)
			}
		}
	}

	s := New(sc)
	defer s.Close()
	n := 0
	for f, err := range s.Frames() {
		if err != nil {
			return RenderStats{}, err
		}
		n++
		if err := vw.Write(*f.Image); err != nil {
			return RenderStats{}, fmt.Errorf("sim: write video frame %d: %w", f.Index, err)
		}
		if err := WriteMOT(gt, f); err != nil {
			return RenderStats{}, err
		}
		fmt.Fprintf(meta, "%d,%d,%s,%.4f,%s,%.4f\n", f.Index, f.Sequence, f.RowID, f.PositionM, f.CaptureTime.Format(time.RFC3339Nano), f.SpeedMPS)
		if cfg.ExportYOLO && (f.Index-1)%cfg.YOLOEvery == 0 {
			if err := exportYOLO(cfg, sc, f); err != nil {
				return RenderStats{}, err
			}
		}
		if f.Index == cfg.Snapshot {
			if err := snapshot(filepath.Join(cfg.Dir, "snapshot.png"), f); err != nil {
				return RenderStats{}, err
			}
		}
		if cfg.Progress != nil {
			cfg.Progress(n)
		}
	}
	truth := s.Truth()
	tw, err := create("truth.json")
	if err != nil {
		return RenderStats{}, err
	}
	if err := truth.WriteJSON(tw); err != nil {
		return RenderStats{}, err
	}
	if cfg.ExportYOLO {
		data := fmt.Sprintf("path: .\ntrain: images\nval: images\nnames:\n")
		for i, name := range ClassNames {
			data += fmt.Sprintf("  %d: %s\n", i, name)
		}
		if err := os.WriteFile(filepath.Join(cfg.Dir, "yolo", "data.yaml"), []byte(data), 0o644); err != nil {
			return RenderStats{}, fmt.Errorf("sim: %w", err)
		}
	}
	for name, w := range files {
		if err := w.Flush(); err != nil {
			return RenderStats{}, fmt.Errorf("sim: write %s: %w", name, err)
		}
	}
	return RenderStats{Frames: n, Elapsed: time.Since(start), Truth: truth}, nil
}

func exportYOLO(cfg OutputConfig, sc *Scenario, f *Frame) error {
	name := fmt.Sprintf("s%d-%s-%06d", sc.Seed, sc.Crop, f.Index)
	jpg, err := f.JPEG(cfg.JPEGQuality)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(cfg.Dir, "yolo", "images", name+".jpg"), jpg, 0o644); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	lf, err := os.Create(filepath.Join(cfg.Dir, "yolo", "labels", name+".txt"))
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	defer lf.Close()
	return WriteYOLO(lf, f, sc.Camera.Width, sc.Camera.Height)
}

// snapshot writes the frame with its truth boxes drawn.
func snapshot(path string, f *Frame) error {
	m := f.Image.Clone()
	defer m.Close()
	for _, b := range f.Boxes {
		c := color.RGBA{R: 255, G: 230}
		if b.Visibility < VisibleThreshold {
			c = color.RGBA{R: 40, G: 90, B: 255}
		}
		gocv.Rectangle(&m, b.Rect, c, 1)
	}
	if !gocv.IMWrite(path, m) {
		return fmt.Errorf("sim: write %s", path)
	}
	return nil
}

// RenderScenario is Render of the scenario name loads (Load), a progress bar
// on progress when it is not nil.
func RenderScenario(name string, cfg OutputConfig, progress io.Writer) (RenderStats, error) {
	sc, err := Load(name)
	if err != nil {
		return RenderStats{}, err
	}
	if progress != nil {
		cfg.Progress = ProgressBar(sc, progress)
	}
	return Render(sc, cfg)
}

// Print writes the line `cropstream sim` ends with: frames, rate, and the
// truth's totals.
func (st RenderStats) Print(w io.Writer, dir string) {
	t := st.Truth.Totals
	fmt.Fprintf(w, "rendered %d frames to %s in %s (%.0f frames/s): %d units, %d visible from the camera, true yield %.1f kg\n",
		st.Frames, dir, st.Elapsed.Round(1e6), float64(st.Frames)/st.Elapsed.Seconds(), t.Units, t.VisibleUnits, t.YieldKg)
}
