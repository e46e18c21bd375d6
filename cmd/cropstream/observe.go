package main

import (
	"context"

	"github.com/spf13/pflag"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/metrics"
	"github.com/cropstream/cropstream/pipeline"
)

// observeFlags turn on what operators watch: metrics and profiling.
type observeFlags struct {
	metricsAddr string
	pyroscope   string
	// bound is where metrics are served, once start has run.
	bound string
}

func (o *observeFlags) register(f *pflag.FlagSet) {
	f.StringVar(&o.metricsAddr, "metrics-addr", metrics.DefaultAddr, "serve /metrics, /healthz and /readyz here (\"\" turns it off)")
	f.StringVar(&o.pyroscope, "pyroscope-url", "", "send continuous CPU and memory profiles to this Pyroscope server, labelled by stage")
}

// config is the flags as metrics.Observe takes them (without Stages).
func (o *observeFlags) config(f *pflag.FlagSet) *metrics.ObserveConfig {
	return &metrics.ObserveConfig{Addr: o.metricsAddr, AddrExplicit: f.Changed("metrics-addr"), Pyroscope: o.pyroscope}
}

// start serves metrics for pl and starts profiling; both stop with ctx.
func (o *observeFlags) start(ctx context.Context, f *pflag.FlagSet, pl *pipeline.Pipeline, conn *broker.Conn, stages []string) error {
	cfg := o.config(f)
	cfg.Stages = stages
	addr, err := metrics.Observe(ctx, *cfg, pl, conn)
	o.bound = addr
	return err
}
