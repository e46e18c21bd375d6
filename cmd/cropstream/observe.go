package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/grafana/pyroscope-go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/metrics"
	"github.com/cropstream/cropstream/pipeline"
)

// observeFlags turn on what operators watch: metrics and profiling.
type observeFlags struct {
	metricsAddr string
	pyroscope   string
	explicit    bool
}

// DefaultMetricsAddr is where every process serves /metrics, /healthz and
// /readyz unless told otherwise.
const DefaultMetricsAddr = ":9464"

func (o *observeFlags) register(f *pflag.FlagSet) {
	f.StringVar(&o.metricsAddr, "metrics-addr", DefaultMetricsAddr, "serve /metrics, /healthz and /readyz here (\"\" turns it off)")
	f.StringVar(&o.pyroscope, "pyroscope-url", "", "send continuous CPU and memory profiles to this Pyroscope server, labelled by stage")
}

// start serves metrics for pl and starts profiling; both stop with ctx. A
// busy default port (several instances on one host) only warns; a port
// asked for explicitly must be free.
func (o *observeFlags) start(ctx context.Context, f *pflag.FlagSet, pl *pipeline.Pipeline, conn *broker.Conn, stages []string) error {
	if o.metricsAddr != "" {
		cols := []prometheus.Collector{metrics.NewCollector(pl, conn)}
		if pl.Detect != nil {
			cols = append(cols, metrics.NewModelCollector(pl.Detect))
		}
		reg := metrics.Registry(cols...)
		ready := func(ctx context.Context) error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			adm, cl, err := conn.Admin()
			if err != nil {
				return err
			}
			defer cl.Close()
			if _, err := adm.ListBrokers(ctx); err != nil {
				return fmt.Errorf("brokers unreachable: %w", err)
			}
			return nil
		}
		addr, err := metrics.Serve(ctx, o.metricsAddr, metrics.Handler(reg, func(rctx context.Context) error {
			if ctx.Err() != nil {
				return fmt.Errorf("stopping")
			}
			return ready(rctx)
		}))
		switch {
		case err != nil && f.Changed("metrics-addr"):
			return err
		case err != nil:
			slog.Warn("metrics not served (another instance on this host has the port? set --metrics-addr)", "err", err)
		default:
			slog.Info("serving metrics", "addr", addr, "paths", "/metrics /healthz /readyz")
		}
	}
	if o.pyroscope != "" {
		p, err := pyroscope.Start(pyroscope.Config{
			ApplicationName: "cropstream",
			ServerAddress:   o.pyroscope,
			Tags:            map[string]string{"stages": strings.Join(stages, "+")},
			ProfileTypes: []pyroscope.ProfileType{pyroscope.ProfileCPU, pyroscope.ProfileAllocSpace,
				pyroscope.ProfileInuseSpace, pyroscope.ProfileGoroutines},
		})
		if err != nil {
			return fmt.Errorf("pyroscope %s: %w", o.pyroscope, err)
		}
		context.AfterFunc(ctx, func() { _ = p.Stop() })
		slog.Info("profiling to pyroscope", "url", o.pyroscope)
	}
	return nil
}
