package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cropstream/cropstream/ingest/mjpegtest"
)

func tinyJPEG(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 16, 8)), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Parts with and without Content-Length, a preamble, a part that is not a
// JPEG and one over the limit are each read as the contract says; the stream
// ending is an error (a live source never ends by itself).
func TestMJPEGParts(t *testing.T) {
	img := tinyJPEG(t)
	big := bytes.Repeat([]byte{0xAB}, 5000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "multipart/x-mixed-replace;boundary=--frame")
		fmt.Fprint(w, "preamble to skip\r\n")
		fmt.Fprintf(w, "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n%s\r\n", len(img), img)
		fmt.Fprintf(w, "--frame\r\nContent-Type: image/jpeg\r\n\r\n%s\r\n", img) // no length
		fmt.Fprintf(w, "--frame\r\nContent-Type: image/jpeg\r\n\r\nnot a jpeg\r\n")
		fmt.Fprintf(w, "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n%s\r\n", len(big), big)
		fmt.Fprintf(w, "--frame\r\nContent-Type: image/jpeg\r\n\r\n%s\r\n", big) // too big, no length
		fmt.Fprintf(w, "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n%s\r\n", len(img), img)
		fmt.Fprint(w, "--frame--\r\n")
	}))
	defer srv.Close()
	ctx := context.Background()
	m, err := OpenMJPEG(ctx, MJPEGConfig{URL: srv.URL, MaxFrameBytes: 4000})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	want := []string{"ok", "ok", "bad: not a readable JPEG", "bad: over the 4000-byte", "bad: over the 4000-byte", "ok", "end"}
	for i, w := range want {
		c, err := m.Next(ctx)
		var bad *BadFrameError
		switch {
		case err == nil:
			if w != "ok" || !bytes.Equal(c.JPEG, img) || c.Width != 16 || c.Height != 8 || c.CaptureTime.IsZero() {
				t.Fatalf("part %d: a frame of %d bytes %dx%d, want %s", i, len(c.JPEG), c.Width, c.Height, w)
			}
		case errors.As(err, &bad):
			if !strings.HasPrefix(w, "bad: ") || !strings.Contains(err.Error(), strings.TrimPrefix(w, "bad: ")) {
				t.Fatalf("part %d: %v, want %s", i, err, w)
			}
		default:
			if w != "end" {
				t.Fatalf("part %d: %v, want %s", i, err, w)
			}
		}
	}
}

// A stream that stops sending is an error after the stall timeout, not a
// reader blocked for good; so are many unusable parts in a row.
func TestMJPEGStallAndGarbage(t *testing.T) {
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary=b")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer stall.Close()
	ctx := context.Background()
	m, err := OpenMJPEG(ctx, MJPEGConfig{URL: stall.URL, StallTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = m.Next(ctx)
	m.Close()
	if err == nil || !strings.Contains(err.Error(), "stalled") || time.Since(start) > 2*time.Second {
		t.Fatalf("stalled stream: %v after %s", err, time.Since(start))
	}

	junk, err := mjpegtest.New(50, 16, 16)
	if err != nil {
		t.Fatal(err)
	}
	junk.Garbage.Store(true)
	if err := junk.Start(); err != nil {
		t.Fatal(err)
	}
	defer junk.Stop()
	if m, err = OpenMJPEG(ctx, MJPEGConfig{URL: junk.URL()}); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	bad := 0
	for {
		_, err := m.Next(ctx)
		var b *BadFrameError
		if errors.As(err, &b) {
			bad++
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "unusable parts in a row") || bad != maxBadParts-1 {
			t.Fatalf("after %d bad parts: %v", bad, err)
		}
		break
	}
}

func TestMJPEGRefusesOtherContent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html>login</html>")
	}))
	defer srv.Close()
	if _, err := OpenMJPEG(context.Background(), MJPEGConfig{URL: srv.URL}); err == nil || !strings.Contains(err.Error(), "not a multipart stream") {
		t.Fatalf("text/html: %v", err)
	}
}
