package fleet

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

// RegisterFlags registers the flags of `cropstream cameras add`: the camera.
func (c *Camera) RegisterFlags(f *pflag.FlagSet) {
	f.StringVar(&c.ID, "id", "", "camera id: the frames' key (required)")
	f.StringVar(&c.URL, "url", "", "rtsp://, http(s):// (MJPEG) or other stream URL, a video file or a folder cameras upload JPEGs into (required)")
	f.StringVar(&c.Kind, "kind", "", "how to read the URL: rtsp, mjpeg, opencv (any URL OpenCV's FFmpeg reads), file (default: from the URL)")
	f.StringVar(&c.Transport, "rtsp-transport", "", "RTSP transport: tcp (default) or udp")
	f.StringVar(&c.Field, "field", "", "field id (required)")
	f.StringVar(&c.Block, "block", "", "block id")
	f.StringVar(&c.Row, "row", "", "row id")
	f.Float64Var(&c.FPS, "fps", 0, "keep at most this many frames per second (0: every frame)")
	f.StringVar(&c.Lane, "lane", "", "live or backfill (default: live for a stream or a growing folder, backfill for a video file)")
}

// Serving is `cropstream ingest --registry`: whether an instance serves the
// registry, where its API listens, and the service's Config.
type Serving struct {
	Registry bool
	HTTPAddr string
	Config   Config
}

// RegisterFlags registers Serving's flags.
func (s *Serving) RegisterFlags(f *pflag.FlagSet) {
	f.BoolVar(&s.Registry, "registry", false, "serve the camera registry: read every camera of cropstream cameras add (shared with other instances), reconnecting, until stopped")
	f.StringVar(&s.HTTPAddr, "http-addr", "127.0.0.1:9470", "with --registry: address of the camera API, /metrics and /healthz (empty: none)")
	f.StringVar(&s.Config.Instance, "instance", "", "with --registry: this instance's name in the camera states (default host-pid)")
	f.DurationVar(&s.Config.SessionTimeout, "session-timeout", 6*time.Second, "with --registry: how soon a dead instance's cameras move to another")
	f.DurationVar(&s.Config.Backoff.Initial, "reconnect-initial", 500*time.Millisecond, "with --registry: first wait before reconnecting a camera")
	f.DurationVar(&s.Config.Backoff.Max, "reconnect-max", 30*time.Second, "with --registry: longest wait between reconnects (doubling, jittered)")
	f.DurationVar(&s.Config.StallTimeout, "stall-timeout", 5*time.Second, "with --registry: an MJPEG camera sending no frame this long is reconnected")
	f.DurationVar(&s.Config.ReportEvery, "report-every", time.Second, "with --registry: how often each camera's state is published")
}

// Check refuses the flags of ingest's single source: with --registry each
// camera's settings come from the registry. changed says which were given.
func (s Serving) Check(changed func(string) bool) error {
	for _, n := range []string{"video", "folder", "scenario", "camera", "field", "block", "row", "fps", "capture-start"} {
		if changed(n) {
			return fmt.Errorf("ingest --registry: --%s is a camera's setting: give it to cropstream cameras add", n)
		}
	}
	return nil
}
