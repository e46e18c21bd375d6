package ingest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// GrowingFolder defaults.
const (
	// DefaultSettle is how long a file must go unmodified before it is read:
	// a camera's upload in progress is not a frame yet.
	DefaultSettle = time.Second
	// folderPoll is how often a folder with nothing new is listed again.
	folderPoll = 500 * time.Millisecond
)

// GrowingFolder reads the JPEGs a camera uploads into a directory, in name
// order, forever: files whose names sort after the last one read are picked
// up as they settle. Only the name of the last file is kept, so memory does
// not grow with the folder; a file whose name sorts before it is never read
// (cameras name uploads by time or counter). A frame's capture time is its
// file's modification time.
type GrowingFolder struct {
	dir     string
	settle  time.Duration
	maxSize int64
	after   string   // name of the last file read
	pending []string // settled names after it, in order
	info    SourceInfo
}

// OpenGrowingFolder watches dir, reading files named after `after` (empty:
// from the first). maxBytes refuses larger files (dead-lettered unread).
func OpenGrowingFolder(dir, after string, settle time.Duration, maxBytes int) (*GrowingFolder, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("open growing folder %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("open growing folder %s: not a directory", dir)
	}
	if settle <= 0 {
		settle = DefaultSettle
	}
	return &GrowingFolder{dir: dir, settle: settle, maxSize: int64(maxBytes), after: after,
		info: SourceInfo{Name: dir, Frames: -1, Live: true}}, nil
}

// Info describes the source.
func (g *GrowingFolder) Info() SourceInfo { return g.info }

// Position is the name of the last file read: a reader that takes the camera
// over resumes after it.
func (g *GrowingFolder) Position() string { return g.after }

// Next waits for the next settled JPEG.
func (g *GrowingFolder) Next(ctx context.Context) (Captured, error) {
	for len(g.pending) == 0 {
		if err := g.list(); err != nil {
			return Captured{}, err
		}
		if len(g.pending) > 0 {
			break
		}
		select {
		case <-ctx.Done():
			return Captured{}, ctx.Err()
		case <-time.After(folderPoll):
		}
	}
	name := g.pending[0]
	g.pending = g.pending[1:]
	g.after = name
	return g.read(filepath.Join(g.dir, name))
}

// list collects the settled regular JPEG files after g.after; it stops at
// the first unsettled one, so files are never read out of name order.
func (g *GrowingFolder) list() error {
	entries, err := os.ReadDir(g.dir)
	if err != nil {
		return fmt.Errorf("list growing folder %s: %w", g.dir, err)
	}
	var names []string
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.Name() > g.after && (ext == ".jpg" || ext == ".jpeg") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	now := time.Now()
	for _, n := range names {
		// Lstat: a link or a device is never opened (it could be anything).
		st, err := os.Lstat(filepath.Join(g.dir, n))
		if err != nil {
			continue // removed since the listing
		}
		if !st.Mode().IsRegular() {
			continue
		}
		if now.Sub(st.ModTime()) < g.settle {
			break
		}
		g.pending = append(g.pending, n)
	}
	return nil
}

func (g *GrowingFolder) read(path string) (Captured, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscallNoFollow, 0)
	if err != nil {
		return Captured{}, &BadFrameError{Name: path, Err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return Captured{}, &BadFrameError{Name: path, Err: fmt.Errorf("not a regular file")}
	}
	if g.maxSize > 0 && st.Size() > g.maxSize {
		return Captured{}, &BadFrameError{Name: path, Err: fmt.Errorf("%d bytes, over the %d-byte frame limit", st.Size(), g.maxSize)}
	}
	b, err := io.ReadAll(io.LimitReader(f, st.Size()+1))
	if err != nil {
		return Captured{}, &BadFrameError{Name: path, Err: err}
	}
	cfg, bad := jpegHeader(path, b)
	if bad != nil {
		return Captured{}, bad
	}
	at := st.ModTime()
	return Captured{JPEG: b, Width: cfg.Width, Height: cfg.Height, CaptureTime: at, Offset: time.Duration(at.UnixNano())}, nil
}

// Close does nothing: no file stays open between calls.
func (g *GrowingFolder) Close() error { return nil }
