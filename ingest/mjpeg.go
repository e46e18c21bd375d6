package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"mime"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MJPEG defaults.
const (
	// DefaultStallTimeout is how long an MJPEG stream may send no complete
	// frame before it counts as stalled and Next fails.
	DefaultStallTimeout = 5 * time.Second
	// maxBadParts is how many unusable parts in a row end the connection:
	// a camera that sends only garbage is reconnected with backoff instead
	// of filling the dead-letter topic at its frame rate.
	maxBadParts = 20
	// MaxFramePixels bounds the dimensions a frame's header may declare; a
	// JPEG over it is refused before anything decodes it.
	MaxFramePixels = 100 << 20
)

// MJPEGConfig configures an HTTP MJPEG source.
type MJPEGConfig struct {
	// URL is the http:// or https:// address of a multipart/x-mixed-replace
	// stream of JPEGs (what most IP cameras serve as "MJPEG").
	URL string
	// MaxFrameBytes refuses larger parts (dead-lettered without their bytes,
	// which are skipped, never buffered). Default DefaultMaxFrameBytes of
	// the topology (4 MiB).
	MaxFrameBytes int
	// StallTimeout: default DefaultStallTimeout.
	StallTimeout time.Duration
	// Client, default one that waits a few seconds at most for the
	// response headers and has no overall timeout (the response never ends).
	Client *http.Client
}

// MJPEG reads an HTTP multipart/x-mixed-replace stream of JPEGs: each part
// is passed through unchanged, stamped with the time it arrived.
type MJPEG struct {
	cfg   MJPEGConfig
	resp  *http.Response
	br    *bufio.Reader
	delim []byte // "--" + boundary
	// atPart: the last part's body ended at the next delimiter line (no
	// Content-Length), so the headers of the next part come first.
	atPart bool
	cancel context.CancelFunc
	timer  *time.Timer
	bad    int
	info   SourceInfo

	mu      sync.Mutex
	stalled bool
}

var defaultMJPEGClient = &http.Client{Transport: &http.Transport{
	ResponseHeaderTimeout: streamDialTimeout + 2*time.Second,
	// Frames are JPEG: asking for gzip would only cost CPU on the camera.
	DisableCompression: true,
	// One connection per camera; an idle pool would keep dead ones.
	DisableKeepAlives: true,
}}

// OpenMJPEG connects to the stream and checks that it is multipart. Frames
// are read by Next; the connection lives until Close or ctx's end.
func OpenMJPEG(ctx context.Context, cfg MJPEGConfig) (*MJPEG, error) {
	if cfg.MaxFrameBytes <= 0 {
		cfg.MaxFrameBytes = 4 << 20
	}
	if cfg.StallTimeout <= 0 {
		cfg.StallTimeout = DefaultStallTimeout
	}
	if cfg.Client == nil {
		cfg.Client = defaultMJPEGClient
	}
	if err := checkReachable(ctx, cfg.URL); err != nil {
		return nil, err
	}
	m := &MJPEG{cfg: cfg, info: SourceInfo{Name: cfg.URL, Frames: -1, Live: true}}
	// The request lives as long as the source; the stall timer cancels it
	// when no frame arrives in time, which unblocks a Read stuck in the body.
	rctx, cancel := context.WithCancel(ctx)
	m.cancel = cancel
	m.timer = time.AfterFunc(cfg.StallTimeout, func() {
		m.mu.Lock()
		m.stalled = true
		m.mu.Unlock()
		cancel()
	})
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, cfg.URL, nil)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("mjpeg %s: %w", cfg.URL, err)
	}
	resp, err := cfg.Client.Do(req)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("mjpeg %s: %w", cfg.URL, m.why(err))
	}
	m.resp = resp
	if resp.StatusCode != http.StatusOK {
		m.Close()
		return nil, fmt.Errorf("mjpeg %s: HTTP %s", cfg.URL, resp.Status)
	}
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		m.Close()
		return nil, fmt.Errorf("mjpeg %s: content type %q is not a multipart stream with a boundary", cfg.URL, resp.Header.Get("Content-Type"))
	}
	// Some cameras declare the boundary with the leading dashes that the
	// delimiter line adds again; the delimiter is what the parts really use.
	m.delim = []byte("--" + strings.TrimPrefix(params["boundary"], "--"))
	m.br = bufio.NewReaderSize(resp.Body, 64<<10)
	return m, nil
}

// why explains an error of a cancelled request.
func (m *MJPEG) why(err error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stalled {
		return fmt.Errorf("stalled: no frame for %s", m.cfg.StallTimeout)
	}
	return err
}

// Info describes the source.
func (m *MJPEG) Info() SourceInfo { return m.info }

// Next returns the next part as a JPEG. An unusable part (not a JPEG, too
// large, absurd dimensions) is a *BadFrameError; many in a row, a stall, or
// the stream's end is an error: a live stream never ends by itself.
func (m *MJPEG) Next(ctx context.Context) (Captured, error) {
	if err := ctx.Err(); err != nil {
		return Captured{}, err
	}
	b, err := m.part()
	if err != nil && !errors.Is(err, errTooLarge) {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Captured{}, fmt.Errorf("mjpeg %s: %w", m.cfg.URL, m.why(err))
	}
	if err := ctx.Err(); err != nil {
		return Captured{}, err
	}
	var c Captured
	var bad *BadFrameError
	if errors.Is(err, errTooLarge) {
		bad = &BadFrameError{Name: m.cfg.URL, Err: fmt.Errorf("part over the %d-byte frame limit", m.cfg.MaxFrameBytes)}
	} else {
		c, bad = m.frame(b)
	}
	if bad != nil {
		if m.bad++; m.bad >= maxBadParts {
			return Captured{}, fmt.Errorf("mjpeg %s: %d unusable parts in a row, the last: %w", m.cfg.URL, m.bad, bad.Err)
		}
		return Captured{}, bad
	}
	m.bad = 0
	m.timer.Reset(m.cfg.StallTimeout)
	return c, nil
}

// part reads the next part's body. With a Content-Length (what cameras
// send) exactly that many bytes are read, so a frame is delivered as soon as
// it arrived, not when the next delimiter does; without one, the body runs
// to the next delimiter line. A body over the frame limit is skipped, never
// buffered, and returned as nil with no error... as a too-large marker.
func (m *MJPEG) part() ([]byte, error) {
	limit := m.cfg.MaxFrameBytes
	if !m.atPart {
		// Skip to the delimiter line; a camera may send a preamble or CRLFs.
		skipped := 0
		for {
			line, err := m.br.ReadSlice('\n')
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				return nil, err
			}
			if skipped += len(line); skipped > limit {
				return nil, fmt.Errorf("no part delimiter in %d bytes", skipped)
			}
			if bytes.HasPrefix(line, m.delim) {
				if bytes.HasPrefix(line[len(m.delim):], []byte("--")) {
					return nil, io.EOF // the closing delimiter
				}
				break
			}
		}
	}
	m.atPart = false
	hdr, err := textproto.NewReader(m.br).ReadMIMEHeader()
	if err != nil {
		return nil, fmt.Errorf("part headers: %w", err)
	}
	if cl := hdr.Get("Content-Length"); cl != "" {
		n, err := strconv.Atoi(strings.TrimSpace(cl))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("part Content-Length %q", cl)
		}
		if n > limit {
			if _, err := io.CopyN(io.Discard, m.br, int64(n)); err != nil {
				return nil, err
			}
			return nil, errTooLarge
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(m.br, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	// No length: the body ends at CRLF + delimiter.
	end := append([]byte("\r\n"), m.delim...)
	var b []byte
	over := false
	for {
		c, err := m.br.ReadByte()
		if err != nil {
			return nil, err
		}
		b = append(b, c)
		if bytes.HasSuffix(b, end) {
			b = b[:len(b)-len(end)]
			break
		}
		if len(b) > limit+len(end) {
			// Keep only a tail long enough to find the delimiter in.
			over = true
			b = append(b[:0], b[len(b)-len(end):]...)
		}
	}
	// The rest of the delimiter line ("--" closes the stream).
	rest, err := m.br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(rest, "--") {
		return nil, io.EOF
	}
	m.atPart = true
	if over {
		return nil, errTooLarge
	}
	return b, nil
}

var errTooLarge = errors.New("part over the frame limit")

// frame checks one part and stamps it.
func (m *MJPEG) frame(b []byte) (Captured, *BadFrameError) {
	name := fmt.Sprintf("%s part at %s", m.cfg.URL, time.Now().UTC().Format(time.RFC3339Nano))
	cfg, bad := jpegHeader(name, b)
	if bad != nil {
		return Captured{}, bad
	}
	now := time.Now()
	return Captured{JPEG: b, Width: cfg.Width, Height: cfg.Height, CaptureTime: now, Offset: time.Duration(now.UnixNano())}, nil
}

// jpegHeader reads the size a JPEG frame declares; a frame that is not a
// JPEG, or declares more than MaxFramePixels, is bad.
func jpegHeader(name string, b []byte) (image.Config, *BadFrameError) {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return cfg, &BadFrameError{Name: name, Raw: b, Err: fmt.Errorf("not a readable JPEG: %w", err)}
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > MaxFramePixels {
		return cfg, &BadFrameError{Name: name, Raw: b, Err: fmt.Errorf("JPEG declares %dx%d pixels", cfg.Width, cfg.Height)}
	}
	return cfg, nil
}

// Close ends the connection.
func (m *MJPEG) Close() error {
	m.timer.Stop()
	m.cancel()
	if m.resp != nil {
		return m.resp.Body.Close()
	}
	return nil
}
