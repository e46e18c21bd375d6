// Package mjpegtest serves, for tests and benchmarks, an HTTP MJPEG camera on
// loopback that can be stopped and started again on the same port, and says
// exactly which frames it served.
package mjpegtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Boundary separates the parts of the stream.
const Boundary = "cropstreamframe"

// Server is one camera. Frame n is the n-th period since the server was
// made: two clients at once get the same numbers, so a frame read twice is
// visible downstream by its number.
type Server struct {
	// Garbage makes the parts undecodable bytes instead of JPEGs.
	Garbage atomic.Bool
	// Paused skips frames (nothing is sent) and keeps the connections.
	Paused atomic.Bool

	fps   float64
	base  []byte
	epoch time.Time

	mu      sync.Mutex
	addr    string
	srv     *http.Server
	handled sync.WaitGroup
	served  int64
	clients int
}

// New makes a camera of w x h pixels at fps; Start serves it.
func New(fps float64, w, h int) (*Server, error) {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetGray(x, y, color.Gray{Y: uint8((x*7 + y*3) % 251)})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		return nil, fmt.Errorf("mjpegtest: encode: %w", err)
	}
	return &Server{fps: fps, base: buf.Bytes(), epoch: time.Now()}, nil
}

// Serve starts a server of w x h frames at fps for the rest of the test.
func Serve(t testing.TB, fps float64, w, h int) *Server {
	t.Helper()
	s, err := New(fps, w, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Start listens on 127.0.0.1, on the port of the previous Start if any.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return errors.New("mjpegtest: already serving")
	}
	addr := s.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("mjpegtest: listen %s: %w", addr, err)
	}
	s.addr = l.Addr().String()
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 5 * time.Second}
	srv := s.srv
	go srv.Serve(l) //nolint:errcheck // ends with ErrServerClosed at Stop
	return nil
}

// Stop closes the listener and every connection, and returns once no
// handler runs: Served is final until the next Start.
func (s *Server) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
	s.handled.Wait()
}

// URL is where the stream is served.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "http://" + s.addr + "/stream.mjpg"
}

// FrameBytes is the size of a frame's JPEG.
func (s *Server) FrameBytes() int { return len(Frame(s.base, 0)) }

// Served is the number of frames written whole to a client.
func (s *Server) Served() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served
}

// Clients is the number of connections being served.
func (s *Server) Clients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clients
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.handled.Add(1)
	defer s.handled.Done()
	s.mu.Lock()
	s.clients++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.clients--
		s.mu.Unlock()
	}()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary="+Boundary)
	w.WriteHeader(http.StatusOK)
	period := time.Duration(float64(time.Second) / s.fps)
	n := int64(time.Since(s.epoch) / period)
	for {
		n++
		select {
		case <-r.Context().Done():
			return
		case <-time.After(time.Until(s.epoch.Add(time.Duration(n) * period))):
		}
		if s.Paused.Load() {
			continue
		}
		body := Frame(s.base, n)
		if s.Garbage.Load() {
			body = bytes.Repeat([]byte("not a jpeg "), 50)
		}
		if _, err := fmt.Fprintf(w, "--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", Boundary, len(body)); err != nil {
			return
		}
		if _, err := w.Write(append(body, '\r', '\n')); err != nil {
			return
		}
		// A frame counts once it left whole.
		if err := rc.Flush(); err != nil {
			return
		}
		s.mu.Lock()
		s.served++
		s.mu.Unlock()
	}
}

// Frame is base with a JPEG comment "frame N" after its start marker.
func Frame(base []byte, n int64) []byte {
	com := []byte("frame " + strconv.FormatInt(n, 10))
	out := make([]byte, 0, len(base)+len(com)+4)
	out = append(out, base[:2]...)
	out = append(out, 0xFF, 0xFE, byte((len(com)+2)>>8), byte(len(com)+2))
	out = append(out, com...)
	return append(out, base[2:]...)
}

// FrameNumber reads the number Frame wrote, or -1.
func FrameNumber(b []byte) int64 {
	if len(b) < 6 || b[0] != 0xFF || b[1] != 0xD8 || b[2] != 0xFF || b[3] != 0xFE {
		return -1
	}
	end := 4 + (int(b[4])<<8 | int(b[5]))
	if end > len(b) || !bytes.HasPrefix(b[6:end], []byte("frame ")) {
		return -1
	}
	n, err := strconv.ParseInt(string(b[12:end]), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// Wait polls cond every 50 ms until it holds or ctx ends.
func Wait(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}
