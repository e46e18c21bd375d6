package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cropstream/cropstream/processors/detect"
)

var (
	modelInfo = prometheus.NewDesc(ns+"_detect_model_info", "1 for each model the detect stage serves, by role (serving, canary).",
		[]string{"role", "model_id"}, nil)
	modelSwitches = prometheus.NewDesc(ns+"_detect_model_switches_total", "Models put in service (or canaries ended) without a restart.", nil, nil)
	modelRefusals = prometheus.NewDesc(ns+"_detect_model_refusals_total", "Model deployments the detect stage refused (the model in service stayed).", nil, nil)
	driftKS       = prometheus.NewDesc(ns+"_drift_ks", "Kolmogorov-Smirnov statistic of a camera's recent frames against the serving model's reference, per feature.",
		[]string{"camera", "feature"}, nil)
	cameraFrames = prometheus.NewDesc(ns+"_detect_camera_frames_total", "Frames the detect stage emitted, per camera.", []string{"camera"}, nil)
	cameraLast   = prometheus.NewDesc(ns+"_detect_camera_last_frame_seconds", "Unix time the detect stage last emitted a frame of the camera.", []string{"camera"}, nil)
	driftPSI     = prometheus.NewDesc(ns+"_drift_psi", "Population stability index of a camera's recent frames against the serving model's reference, per feature.",
		[]string{"camera", "feature"}, nil)
)

// ModelCollector exposes the detect stage's models and drift. It is apart
// from Collector so the stage's model and drift series stay in one place.
type ModelCollector struct {
	d *detect.Processor
}

// NewModelCollector collects d's models and drift.
func NewModelCollector(d *detect.Processor) *ModelCollector { return &ModelCollector{d: d} }

// Describe implements prometheus.Collector.
func (c *ModelCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{modelInfo, modelSwitches, modelRefusals, cameraFrames, cameraLast, driftKS, driftPSI} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *ModelCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.d.Models()
	ch <- prometheus.MustNewConstMetric(modelInfo, prometheus.GaugeValue, 1, detect.RoleServing, st.Serving)
	if st.Canary != "" {
		ch <- prometheus.MustNewConstMetric(modelInfo, prometheus.GaugeValue, 1, detect.RoleCanary, st.Canary)
	}
	counter(ch, modelSwitches, c.d.Stats.ModelSwitches.Load())
	counter(ch, modelRefusals, c.d.Stats.ModelRefusals.Load())
	mon := c.d.Drift()
	if mon == nil {
		return
	}
	for cam, l := range mon.Live() {
		counter(ch, cameraFrames, l.Frames, cam)
		ch <- prometheus.MustNewConstMetric(cameraLast, prometheus.GaugeValue, float64(l.LastNs)/1e9, cam)
	}
	for cam, stats := range mon.Stats() {
		for _, s := range stats {
			ch <- prometheus.MustNewConstMetric(driftKS, prometheus.GaugeValue, s.KS, cam, s.Feature)
			ch <- prometheus.MustNewConstMetric(driftPSI, prometheus.GaugeValue, s.PSI, cam, s.Feature)
		}
	}
}
