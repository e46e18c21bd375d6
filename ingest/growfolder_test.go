package ingest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Files are read in name order as they settle, new ones are picked up, links
// and non-JPEGs are not read, and a reader resumes after a given name.
func TestGrowingFolder(t *testing.T) {
	dir := t.TempDir()
	img := tinyJPEG(t)
	old := time.Now().Add(-time.Minute)
	write := func(name string, b []byte, mtime time.Time) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	write("0001.jpg", img, old)
	write("0002.jpg", []byte("broken"), old)
	write("notes.txt", []byte("x"), old)
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "0003.jpg")); err != nil {
		t.Fatal(err)
	}
	g, err := OpenGrowingFolder(dir, "", 200*time.Millisecond, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := g.Next(ctx)
	if err != nil || c.Width != 16 || !c.CaptureTime.Equal(old) {
		t.Fatalf("first: %v %dx%d at %s", err, c.Width, c.Height, c.CaptureTime)
	}
	var bad *BadFrameError
	if _, err := g.Next(ctx); !errors.As(err, &bad) {
		t.Fatalf("broken file: %v, want a bad frame", err)
	}
	// An upload in progress (just written) waits for the settle time.
	write("0004.jpg", img, time.Now())
	start := time.Now()
	if _, err := g.Next(ctx); err != nil || time.Since(start) < 100*time.Millisecond {
		t.Fatalf("new file: %v after %s", err, time.Since(start))
	}
	if g.Position() != "0004.jpg" {
		t.Fatalf("position %q", g.Position())
	}
	// Nothing new: Next waits until the context ends.
	short, cancelShort := context.WithTimeout(ctx, 700*time.Millisecond)
	defer cancelShort()
	if _, err := g.Next(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("idle folder: %v", err)
	}
	// Another reader resumes after the position.
	write("0005.jpg", img, old)
	g2, _ := OpenGrowingFolder(dir, g.Position(), 200*time.Millisecond, 1<<20)
	if _, err := g2.Next(ctx); err != nil || g2.Position() != "0005.jpg" {
		t.Fatalf("resumed: %v at %q", err, g2.Position())
	}
}
