package fleet

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/cropstream/cropstream/ingest"
	"github.com/cropstream/cropstream/topology"
)

// Camera kinds: how a camera's URL is read.
const (
	// KindRTSP is an RTSP stream read by OpenCV's FFmpeg backend.
	KindRTSP = "rtsp"
	// KindMJPEG is an HTTP multipart JPEG stream read by ingest.MJPEG.
	KindMJPEG = "mjpeg"
	// KindOpenCV is any other URL OpenCV's FFmpeg backend reads (rtmp, an
	// HTTP video stream that is not MJPEG).
	KindOpenCV = "opencv"
	// KindFile is a path: a video file read once, or a directory read as a
	// growing image folder (the uploads of a camera).
	KindFile = "file"
)

// ErrInvalidCamera is returned (wrapped) by Validate, Add and DecodeCamera
// for a camera record that breaks a rule.
var ErrInvalidCamera = errors.New("invalid camera")

var cameraID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Camera is one registry record: where a camera's frames come from and where
// on the farm they are taken. It travels as JSON, so an operator can read and
// write the registry with any Kafka tool (kcat) without a schema compiler.
type Camera struct {
	// ID is the camera id: the frames' Kafka key. Letters, digits, '.', '_'
	// and '-', at most 128.
	ID string `json:"id"`
	// URL is an rtsp://, http(s):// or other stream URL, or a path on the
	// ingest hosts (a video file or a folder that cameras upload into).
	URL string `json:"url"`
	// Kind says how URL is read; default from its scheme (KindFor).
	Kind string `json:"kind,omitempty"`
	// Transport is RTSP's: tcp (default) or udp.
	Transport string `json:"transport,omitempty"`
	// Field, Block, Row locate the camera; Field is required.
	Field string `json:"field"`
	Block string `json:"block,omitempty"`
	Row   string `json:"row,omitempty"`
	// FPS keeps at most this many frames per second (0: every frame).
	FPS float64 `json:"fps,omitempty"`
	// Lane is live or backfill; default live for a stream, backfill for a
	// file or folder (ingest.LaneOf).
	Lane string `json:"lane,omitempty"`
	// AddedUnixNs is when the camera was added: a generation, so the state
	// of an earlier registration of the same id is told apart, and the
	// capture start of a video file, so a file read again keeps its times.
	AddedUnixNs int64 `json:"added_unix_ns"`
}

// KindFor is the kind a URL is read as by default.
func KindFor(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" || len(p.Scheme) == 1 { // "C:" is a path
		return KindFile
	}
	switch strings.ToLower(p.Scheme) {
	case "rtsp", "rtsps":
		return KindRTSP
	case "http", "https":
		return KindMJPEG
	case "file":
		return KindFile
	}
	return KindOpenCV
}

// Normalize fills the defaults: the kind, and the time added when zero.
func (c *Camera) Normalize(now time.Time) {
	if c.Kind == "" {
		c.Kind = KindFor(c.URL)
	}
	if c.Kind == KindRTSP && c.Transport == "" {
		c.Transport = ingest.TransportTCP
	}
	if c.AddedUnixNs == 0 {
		c.AddedUnixNs = now.UnixNano()
	}
	if strings.HasPrefix(c.URL, "file://") {
		c.URL = strings.TrimPrefix(c.URL, "file://")
	}
}

// Validate checks a normalized camera.
func (c *Camera) Validate() error {
	var errs []error
	if !cameraID.MatchString(c.ID) {
		errs = append(errs, fmt.Errorf("id %q: want 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", c.ID))
	}
	if c.URL == "" {
		errs = append(errs, errors.New("url is required"))
	}
	if c.Field == "" {
		errs = append(errs, errors.New("field is required"))
	}
	switch c.Kind {
	case KindRTSP, KindMJPEG, KindOpenCV, KindFile:
	default:
		errs = append(errs, fmt.Errorf("kind %q, want rtsp, mjpeg, opencv or file", c.Kind))
	}
	switch {
	case c.Kind == KindRTSP && c.Transport != ingest.TransportTCP && c.Transport != ingest.TransportUDP:
		errs = append(errs, fmt.Errorf("transport %q, want tcp or udp", c.Transport))
	case c.Kind != KindRTSP && c.Transport != "":
		errs = append(errs, fmt.Errorf("transport %q is for rtsp cameras only", c.Transport))
	}
	if c.Lane != "" {
		if _, err := topology.ParseLane(c.Lane); err != nil {
			errs = append(errs, err)
		}
	}
	if c.FPS < 0 || c.FPS > 1000 {
		errs = append(errs, fmt.Errorf("fps %g, want 0 (all frames) to 1000", c.FPS))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("camera %s: %w: %w", c.ID, ErrInvalidCamera, err)
	}
	return nil
}

// Same reports whether c and o read the same thing the same way, so a
// record published again without changes does not restart the reader.
func (c Camera) Same(o Camera) bool { return c == o }

// EncodeCamera is the registry record value.
func EncodeCamera(c Camera) ([]byte, error) { return encode(c, "camera "+c.ID) }

// DecodeCamera reads a registry record value and checks it.
func DecodeCamera(b []byte) (Camera, error) {
	var c Camera
	if err := json.Unmarshal(b, &c); err != nil {
		return Camera{}, fmt.Errorf("decode camera: %w", err)
	}
	c.Normalize(time.Unix(0, 0))
	return c, c.Validate()
}
