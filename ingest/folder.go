package ingest

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gocv.io/x/gocv"
)

// Folder reads the images of a directory in name order: JPEGs are passed
// through unchanged, other formats OpenCV reads (PNG, BMP, TIFF) are decoded.
type Folder struct {
	files []string
	next  int
	fps   float64
	mat   gocv.Mat
	info  SourceInfo
}

var imageExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".bmp": true, ".tif": true, ".tiff": true}

// OpenFolder lists the images of dir; fps spaces them on the timeline.
func OpenFolder(dir string, fps float64) (*Folder, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open image folder %s: %w", dir, err)
	}
	if fps <= 0 {
		return nil, fmt.Errorf("open image folder %s: fps must be > 0, got %g", dir, fps)
	}
	f := &Folder{fps: fps, mat: gocv.NewMat()}
	for _, e := range entries {
		if !e.IsDir() && imageExts[strings.ToLower(filepath.Ext(e.Name()))] {
			f.files = append(f.files, filepath.Join(dir, e.Name()))
		}
	}
	if len(f.files) == 0 {
		f.mat.Close()
		return nil, fmt.Errorf("open image folder %s: no images (.jpg, .jpeg, .png, .bmp, .tif)", dir)
	}
	sort.Strings(f.files)
	f.info = SourceInfo{Name: dir, FPS: fps, Frames: len(f.files)}
	return f, nil
}

// Info describes the source.
func (f *Folder) Info() SourceInfo { return f.info }

// Next returns the next image.
func (f *Folder) Next(ctx context.Context) (Captured, error) {
	if err := ctx.Err(); err != nil {
		return Captured{}, err
	}
	if f.next >= len(f.files) {
		return Captured{}, io.EOF
	}
	path := f.files[f.next]
	c := Captured{Offset: time.Duration(float64(f.next) / f.fps * float64(time.Second))}
	f.next++
	ext := strings.ToLower(filepath.Ext(path))
	if ext == ".jpg" || ext == ".jpeg" {
		b, err := os.ReadFile(path)
		if err != nil {
			return Captured{}, fmt.Errorf("read image %s: %w", path, err)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			return Captured{}, &BadFrameError{Name: path, Raw: b, Err: fmt.Errorf("not a readable JPEG: %w", err)}
		}
		c.JPEG, c.Width, c.Height = b, cfg.Width, cfg.Height
		return c, nil
	}
	m := gocv.IMRead(path, gocv.IMReadColor)
	if m.Empty() {
		m.Close()
		raw, _ := os.ReadFile(path)
		return Captured{}, &BadFrameError{Name: path, Raw: raw, Err: fmt.Errorf("OpenCV cannot decode it")}
	}
	f.mat.Close()
	f.mat = m
	c.Image, c.Width, c.Height = &f.mat, m.Cols(), m.Rows()
	return c, nil
}

// Close releases the decode buffer.
func (f *Folder) Close() error { return f.mat.Close() }
