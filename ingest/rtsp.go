package ingest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
)

// RTSP transports.
const (
	TransportTCP = "tcp"
	TransportUDP = "udp"
)

// ffmpegOptions guards OPENCV_FFMPEG_CAPTURE_OPTIONS: OpenCV reads its
// FFmpeg options from that variable at every open. Opens that want the
// transport it names share the lock; one that must change it holds it alone,
// so a slow open blocks only opens of the other transport.
var ffmpegOptions sync.RWMutex

// OpenStream opens an RTSP (or other FFmpeg) stream with OpenVideo over the
// given RTSP transport, tcp (default) or udp. The timeouts of the process's
// FFmpeg options are kept.
func OpenStream(ctx context.Context, uri, transport string) (*Video, error) {
	switch transport {
	case "", TransportTCP:
		transport = TransportTCP
	case TransportUDP:
	default:
		return nil, fmt.Errorf("open stream %s: rtsp transport %q, want tcp or udp", uri, transport)
	}
	want := "rtsp_transport;" + transport
	ffmpegOptions.RLock()
	old := os.Getenv("OPENCV_FFMPEG_CAPTURE_OPTIONS")
	if strings.Contains("|"+old+"|", "|"+want+"|") {
		defer ffmpegOptions.RUnlock()
		return OpenVideo(ctx, uri)
	}
	ffmpegOptions.RUnlock()
	ffmpegOptions.Lock()
	defer ffmpegOptions.Unlock()
	old = os.Getenv("OPENCV_FFMPEG_CAPTURE_OPTIONS")
	var opts []string
	for _, kv := range strings.Split(old, "|") {
		if kv != "" && !strings.HasPrefix(kv, "rtsp_transport;") {
			opts = append(opts, kv)
		}
	}
	opts = append([]string{want}, opts...)
	os.Setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", strings.Join(opts, "|"))
	defer os.Setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", old)
	return OpenVideo(ctx, uri)
}
