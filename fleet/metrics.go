package fleet

import (
	"github.com/prometheus/client_golang/prometheus"
)

var (
	camConnected  = prometheus.NewDesc("cropstream_camera_connected", "1 while the camera's reader receives frames, 0 while it reconnects.", []string{"camera"}, nil)
	camFrames     = prometheus.NewDesc("cropstream_camera_frames_total", "Frames read from the camera by this instance.", []string{"camera"}, nil)
	camDead       = prometheus.NewDesc("cropstream_camera_dead_letters_total", "Unusable frames of the camera sent to the dead-letter topic.", []string{"camera"}, nil)
	camReconnects = prometheus.NewDesc("cropstream_camera_reconnects_total", "Times the camera's source failed and was opened again.", []string{"camera"}, nil)
	camLastFrame  = prometheus.NewDesc("cropstream_camera_last_frame_timestamp_seconds", "Capture time of the camera's last frame.", []string{"camera"}, nil)
	camsHeld      = prometheus.NewDesc("cropstream_cameras_held", "Cameras this ingest instance reads.", nil, nil)
)

// Collector exposes the readers of this instance to Prometheus.
type Collector struct{ s *Service }

// Collector is the service's Prometheus collector.
func (s *Service) Collector() *Collector { return &Collector{s} }

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{camConnected, camFrames, camDead, camReconnects, camLastFrame, camsHeld} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.s.mu.Lock()
	rds := make([]*reader, 0, len(c.s.readers))
	for _, rd := range c.s.readers {
		rds = append(rds, rd)
	}
	c.s.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(camsHeld, prometheus.GaugeValue, float64(len(rds)))
	for _, rd := range rds {
		st := rd.peek()
		up := 0.0
		if st.Status == StatusConnected {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(camConnected, prometheus.GaugeValue, up, st.Camera)
		ch <- prometheus.MustNewConstMetric(camFrames, prometheus.CounterValue, float64(st.Frames), st.Camera)
		ch <- prometheus.MustNewConstMetric(camDead, prometheus.CounterValue, float64(st.DeadLetters), st.Camera)
		ch <- prometheus.MustNewConstMetric(camReconnects, prometheus.CounterValue, float64(st.Reconnects), st.Camera)
		if !st.LastFrame.IsZero() {
			ch <- prometheus.MustNewConstMetric(camLastFrame, prometheus.GaugeValue, float64(st.LastFrame.UnixNano())/1e9, st.Camera)
		}
	}
}
