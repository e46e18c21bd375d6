package ingest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"gocv.io/x/gocv"

	"github.com/cropstream/cropstream/schema"
)

// Limits on what a folder's file may be, checked before it is read whole or
// decoded: a folder is often filled by hand or by other tools, and one odd
// file must cost a dead letter, not the process.
const (
	// MaxImagePixels is the most pixels a header may declare (detect's
	// default limit too: a larger frame would be refused there).
	MaxImagePixels = 40_000_000
	// MaxImageFileBytes is the largest image file read.
	MaxImageFileBytes = 256 << 20
)

// Folder reads the images of a directory in name order: JPEGs are passed
// through unchanged, other formats OpenCV reads (PNG, BMP, TIFF) are decoded.
// Only regular files are read: a symlink or a special file (a FIFO, a
// device) with an image's name is refused with a dead letter naming it, as
// is a header declaring more than MaxImagePixels or MaxFrameSide per side.
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

// Next returns the next image, or a *BadFrameError naming a file that is
// not a usable image.
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
	b, err := readRegular(path)
	if err != nil {
		return Captured{}, &BadFrameError{Name: path, Err: err}
	}
	w, h, err := imageSize(b, strings.ToLower(filepath.Ext(path)))
	if err != nil {
		return Captured{}, &BadFrameError{Name: path, Raw: b, Err: err}
	}
	if w < 1 || h < 1 || w > schema.MaxFrameSide || h > schema.MaxFrameSide || w*h > MaxImagePixels {
		return Captured{}, &BadFrameError{Name: path, Raw: b, Err: fmt.Errorf("header declares %dx%d, over the limit of %d pixels (%d per side): refused before decoding",
			w, h, MaxImagePixels, schema.MaxFrameSide)}
	}
	if ext := strings.ToLower(filepath.Ext(path)); ext == ".jpg" || ext == ".jpeg" {
		c.JPEG, c.Width, c.Height = b, w, h
		return c, nil
	}
	m, err := gocv.IMDecode(b, gocv.IMReadColor)
	if err != nil || m.Empty() {
		m.Close()
		return Captured{}, &BadFrameError{Name: path, Raw: b, Err: fmt.Errorf("OpenCV cannot decode it")}
	}
	f.mat.Close()
	f.mat = m
	c.Image, c.Width, c.Height = &f.mat, m.Cols(), m.Rows()
	return c, nil
}

// readRegular reads path if it is a regular file of at most
// MaxImageFileBytes. It does not follow a symlink (O_NOFOLLOW) nor wait on a
// FIFO (O_NONBLOCK), and checks the opened file itself, so a name swapped
// after the listing cannot slip through.
func readRegular(path string) ([]byte, error) {
	fd, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, errors.New("a symbolic link, not a regular file: not followed")
	}
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s): not read", st.Mode().Type())
	}
	if st.Size() > MaxImageFileBytes {
		return nil, fmt.Errorf("%d bytes, over the %d-byte limit for an image file", st.Size(), MaxImageFileBytes)
	}
	b, err := io.ReadAll(io.LimitReader(fd, MaxImageFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(b) > MaxImageFileBytes {
		return nil, fmt.Errorf("grew past the %d-byte limit while read", MaxImageFileBytes)
	}
	return b, nil
}

// imageSize reads the width and height an image's header declares, without
// decoding it.
func imageSize(b []byte, ext string) (w, h int, err error) {
	var cfg image.Config
	switch ext {
	case ".jpg", ".jpeg":
		if cfg, err = jpeg.DecodeConfig(bytes.NewReader(b)); err != nil {
			return 0, 0, fmt.Errorf("not a readable JPEG: %w", err)
		}
		return cfg.Width, cfg.Height, nil
	case ".png":
		if cfg, err = png.DecodeConfig(bytes.NewReader(b)); err != nil {
			return 0, 0, fmt.Errorf("not a readable PNG: %w", err)
		}
		return cfg.Width, cfg.Height, nil
	case ".bmp":
		// BITMAPINFOHEADER: width and height (negative: top-down) at 18 and 22.
		if len(b) < 26 || b[0] != 'B' || b[1] != 'M' {
			return 0, 0, errors.New("not a readable BMP")
		}
		w, h := int32(binary.LittleEndian.Uint32(b[18:])), int32(binary.LittleEndian.Uint32(b[22:]))
		return int(abs32(w)), int(abs32(h)), nil
	case ".tif", ".tiff":
		return tiffSize(b)
	}
	return 0, 0, fmt.Errorf("no header reader for %s", ext)
}

func abs32(v int32) int64 {
	if v < 0 {
		return -int64(v)
	}
	return int64(v)
}

// tiffSize reads ImageWidth (256) and ImageLength (257) from the first IFD.
func tiffSize(b []byte) (w, h int, err error) {
	bad := errors.New("not a readable TIFF")
	if len(b) < 8 {
		return 0, 0, bad
	}
	var bo binary.ByteOrder
	switch string(b[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0, 0, bad
	}
	off := int(bo.Uint32(b[4:]))
	if off < 8 || off+2 > len(b) {
		return 0, 0, bad
	}
	n := int(bo.Uint16(b[off:]))
	for i := 0; i < n; i++ {
		e := off + 2 + 12*i
		if e+12 > len(b) {
			return 0, 0, bad
		}
		tag, typ := bo.Uint16(b[e:]), bo.Uint16(b[e+2:])
		var v int
		switch typ {
		case 3: // SHORT
			v = int(bo.Uint16(b[e+8:]))
		case 4: // LONG
			v = int(bo.Uint32(b[e+8:]))
		default:
			continue
		}
		switch tag {
		case 256:
			w = v
		case 257:
			h = v
		}
	}
	if w == 0 || h == 0 {
		return 0, 0, bad
	}
	return w, h, nil
}

// Close releases the decode buffer.
func (f *Folder) Close() error { return f.mat.Close() }
