package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"gocv.io/x/gocv"
)

// streamDialTimeout bounds the reachability check of a stream URL. OpenCV's
// FFmpeg backend can block for half a minute on a dead address, and the call
// cannot be cancelled, so the address is checked first.
const streamDialTimeout = 3 * time.Second

func init() {
	// Without a timeout FFmpeg waits forever on a stalled stream; these apply
	// to every capture this process opens unless the user set their own.
	if os.Getenv("OPENCV_LOG_LEVEL") == "" {
		os.Setenv("OPENCV_LOG_LEVEL", "ERROR")
	}
	if os.Getenv("OPENCV_FFMPEG_CAPTURE_OPTIONS") == "" {
		os.Setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp|timeout;5000000|rw_timeout;5000000")
	}
}

// Video reads a video file or an RTSP/HTTP stream with OpenCV.
type Video struct {
	cap   *gocv.VideoCapture
	mat   gocv.Mat
	info  SourceInfo
	first bool // mat holds the first frame, read by OpenVideo to check the source
	start time.Time
}

// IsStreamURL reports whether s names a network stream rather than a file.
func IsStreamURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "rtsp", "rtsps", "rtmp", "http", "https":
		return true
	}
	return false
}

// OpenVideo opens a video file or stream URL and reads its first frame, so a
// source that cannot deliver frames fails here, before anything is produced.
func OpenVideo(ctx context.Context, uri string) (*Video, error) {
	live := IsStreamURL(uri)
	if live {
		if err := checkReachable(ctx, uri); err != nil {
			return nil, err
		}
	} else {
		st, err := os.Stat(uri)
		if err != nil {
			return nil, fmt.Errorf("open video %s: %w", uri, err)
		}
		if st.IsDir() {
			return nil, fmt.Errorf("open video %s: is a directory (use --folder for image folders)", uri)
		}
	}
	// FFmpeg reads files and network streams alike; GStreamer, OpenCV's
	// other backend here, only adds noisy warnings for the same formats.
	cap, err := gocv.VideoCaptureFileWithAPI(uri, gocv.VideoCaptureFFmpeg)
	if err != nil || !cap.IsOpened() {
		if cap != nil {
			cap.Close()
		}
		return nil, fmt.Errorf("open video %s: OpenCV cannot read it as video", uri)
	}
	v := &Video{cap: cap, mat: gocv.NewMat(), start: time.Now()}
	if !cap.Read(&v.mat) || v.mat.Empty() {
		v.Close()
		return nil, fmt.Errorf("open video %s: no decodable frames", uri)
	}
	v.first = true
	frames := int(cap.Get(gocv.VideoCaptureFrameCount))
	if live || frames <= 0 {
		frames = -1
	}
	v.info = SourceInfo{Name: uri, FPS: cap.Get(gocv.VideoCaptureFPS), Frames: frames, Live: live}
	return v, nil
}

func checkReachable(ctx context.Context, uri string) error {
	u, err := url.Parse(uri)
	if err != nil {
		return fmt.Errorf("stream %s: %w", uri, err)
	}
	host := u.Host
	if u.Port() == "" {
		port := map[string]string{"rtsp": "554", "rtsps": "322", "rtmp": "1935", "http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
		host = net.JoinHostPort(u.Hostname(), port)
	}
	d := net.Dialer{Timeout: streamDialTimeout}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return fmt.Errorf("stream %s unreachable: %w", uri, err)
	}
	conn.Close()
	return nil
}

// Info describes the source.
func (v *Video) Info() SourceInfo { return v.info }

// Next returns the next frame; the Mat is reused by the following call.
func (v *Video) Next(ctx context.Context) (Captured, error) {
	if err := ctx.Err(); err != nil {
		return Captured{}, err
	}
	if !v.first {
		if !v.cap.Read(&v.mat) || v.mat.Empty() {
			if v.info.Live {
				return Captured{}, fmt.Errorf("stream %s: ended or stalled", v.info.Name)
			}
			return Captured{}, io.EOF
		}
	}
	v.first = false
	c := Captured{Image: &v.mat, Width: v.mat.Cols(), Height: v.mat.Rows()}
	if v.info.Live {
		now := time.Now()
		c.CaptureTime = now
		c.Offset = time.Duration(now.UnixNano())
	} else {
		c.Offset = time.Duration(v.cap.Get(gocv.VideoCapturePosMsec) * float64(time.Millisecond))
	}
	return c, nil
}

// Close releases the capture.
func (v *Video) Close() error {
	err := v.mat.Close()
	return errors.Join(err, v.cap.Close())
}
