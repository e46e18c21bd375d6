package annotate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gocv.io/x/gocv"
)

// Summary is what a whole input gave.
type Summary struct {
	Frames        int            `json:"frames"`
	Width, Height int            `json:"-"`
	Counted       map[string]int `json:"counted"`
	// Lines are each line's crossings over the whole input.
	Lines []LineCount `json:"lines,omitempty"`
}

// Options say where the annotated frames go.
type Options struct {
	// Out is a video file (.avi: MJPG, .mp4: mp4v) or, for anything else, a
	// folder of images named as the input's (frame-000001.jpg for a video).
	Out string
	// FPS of a video written from an image folder. Default 10; a video
	// input keeps its own.
	FPS float64
	// Boxes, when set, receives one JSON line per frame (Frame).
	Boxes io.Writer
}

// IsVideo says whether path names a video file by its extension.
func IsVideo(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".avi", ".mp4", ".mkv", ".mov", ".m4v":
		return true
	}
	return false
}

// Run annotates in (a video file or an image folder) into opts.Out.
func Run(ctx context.Context, cfg Config, in string, opts Options) (Summary, error) {
	a, err := New(cfg)
	if err != nil {
		return Summary{}, err
	}
	defer a.Close()
	var src frames
	if st, err := os.Stat(in); err == nil && st.IsDir() {
		src, err = openFolder(in)
		if err != nil {
			return Summary{}, err
		}
	} else {
		src, err = openVideo(in)
		if err != nil {
			return Summary{}, err
		}
	}
	defer src.close()
	fps := src.fps()
	if fps <= 0 {
		fps = opts.FPS
	}
	if fps <= 0 {
		fps = 10
	}
	var sum Summary
	var sink writer
	defer func() {
		if sink != nil {
			sink.close()
		}
	}()
	enc := (*json.Encoder)(nil)
	if opts.Boxes != nil {
		enc = json.NewEncoder(opts.Boxes)
	}
	img := gocv.NewMat()
	defer img.Close()
	for {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		name, ok, err := src.next(&img)
		if err != nil {
			return sum, err
		}
		if !ok {
			break
		}
		if sink == nil {
			sum.Width, sum.Height = img.Cols(), img.Rows()
			if sink, err = newWriter(opts.Out, fps, sum.Width, sum.Height); err != nil {
				return sum, err
			}
		}
		if img.Cols() != sum.Width || img.Rows() != sum.Height {
			return sum, fmt.Errorf("annotate: %s is %dx%d, the input's first frame %dx%d", name, img.Cols(), img.Rows(), sum.Width, sum.Height)
		}
		f, err := a.Frame(&img)
		if err != nil {
			return sum, err
		}
		if err := sink.write(name, img); err != nil {
			return sum, err
		}
		if enc != nil {
			if err := enc.Encode(f); err != nil {
				return sum, fmt.Errorf("annotate: boxes: %w", err)
			}
		}
		sum.Frames++
	}
	if sum.Frames == 0 {
		return sum, fmt.Errorf("annotate: %s has no frames", in)
	}
	sum.Counted = a.Finish()
	for _, l := range cfg.Lines {
		sum.Lines = append(sum.Lines, LineCount{In: a.byName(l.In), Out: a.byName(l.Out)})
	}
	return sum, sink.close()
}

type frames interface {
	// next reads the next frame into img and names it; ok is false at the end.
	next(img *gocv.Mat) (name string, ok bool, err error)
	fps() float64
	close()
}

type video struct {
	cap *gocv.VideoCapture
	n   int
}

func openVideo(path string) (*video, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("annotate: %w", err)
	}
	c, err := gocv.VideoCaptureFile(path)
	if err != nil {
		return nil, fmt.Errorf("annotate: open %s: %w", path, err)
	}
	if !c.IsOpened() {
		c.Close()
		return nil, fmt.Errorf("annotate: %s does not open as a video", path)
	}
	return &video{cap: c}, nil
}

func (v *video) next(img *gocv.Mat) (string, bool, error) {
	if !v.cap.Read(img) || img.Empty() {
		return "", false, nil
	}
	v.n++
	return fmt.Sprintf("frame-%06d.jpg", v.n), true, nil
}

func (v *video) fps() float64 { return v.cap.Get(gocv.VideoCaptureFPS) }
func (v *video) close()       { v.cap.Close() }

type folder struct {
	dir   string
	names []string
	i     int
}

func openFolder(dir string) (*folder, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("annotate: %w", err)
	}
	f := &folder{dir: dir}
	for _, e := range ents {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".jpg", ".jpeg", ".png", ".bmp":
			f.names = append(f.names, e.Name())
		}
	}
	slices.Sort(f.names)
	return f, nil
}

func (f *folder) next(img *gocv.Mat) (string, bool, error) {
	if f.i >= len(f.names) {
		return "", false, nil
	}
	name := f.names[f.i]
	f.i++
	m := gocv.IMRead(filepath.Join(f.dir, name), gocv.IMReadColor)
	if m.Empty() {
		m.Close()
		return "", false, fmt.Errorf("annotate: %s does not read as an image", filepath.Join(f.dir, name))
	}
	m.CopyTo(img)
	m.Close()
	return name, true, nil
}

func (f *folder) fps() float64 { return 0 }
func (f *folder) close()       {}

type writer interface {
	write(name string, img gocv.Mat) error
	close() error
}

func newWriter(out string, fps float64, w, h int) (writer, error) {
	if IsVideo(out) {
		codec := "MJPG"
		if strings.EqualFold(filepath.Ext(out), ".mp4") {
			codec = "mp4v"
		}
		vw, err := gocv.VideoWriterFile(out, codec, fps, w, h, true)
		if err != nil {
			return nil, fmt.Errorf("annotate: write %s: %w", out, err)
		}
		if !vw.IsOpened() {
			vw.Close()
			return nil, fmt.Errorf("annotate: %s does not open for writing (%s)", out, codec)
		}
		return &videoOut{vw: vw}, nil
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("annotate: %w", err)
	}
	return imagesOut(out), nil
}

type videoOut struct{ vw *gocv.VideoWriter }

func (v *videoOut) write(_ string, img gocv.Mat) error {
	if err := v.vw.Write(img); err != nil {
		return fmt.Errorf("annotate: write frame: %w", err)
	}
	return nil
}

func (v *videoOut) close() error {
	if v.vw == nil {
		return nil
	}
	err := v.vw.Close()
	v.vw = nil
	return err
}

type imagesOut string

func (d imagesOut) write(name string, img gocv.Mat) error {
	path := filepath.Join(string(d), name)
	if !gocv.IMWrite(path, img) {
		return fmt.Errorf("annotate: write %s", path)
	}
	return nil
}

func (d imagesOut) close() error { return nil }
