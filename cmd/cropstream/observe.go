package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
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
	// bound is where metrics are served, once start has run.
	bound string
}

// DefaultMetricsAddr is where every process serves /metrics, /healthz and
// /readyz unless told otherwise: loopback, so nothing is exposed to the
// network unless an address is given (containers give ":9464").
const DefaultMetricsAddr = "127.0.0.1:9464"

func (o *observeFlags) register(f *pflag.FlagSet) {
	f.StringVar(&o.metricsAddr, "metrics-addr", DefaultMetricsAddr, "serve /metrics, /healthz and /readyz here (\"\" turns it off)")
	f.StringVar(&o.pyroscope, "pyroscope-url", "", "send continuous CPU and memory profiles to this Pyroscope server, labelled by stage")
}

// start serves metrics for pl and starts profiling; both stop with ctx. An
// address given with --metrics-addr must be free: a probe or a Prometheus
// job points at it, and a process that runs without its endpoints would look
// dead to them. When the default port is taken (a second process on a
// laptop), the process serves on a free loopback port and logs it.
func (o *observeFlags) start(ctx context.Context, f *pflag.FlagSet, pl *pipeline.Pipeline, conn *broker.Conn, stages []string) error {
	if o.metricsAddr != "" {
		cols := []prometheus.Collector{metrics.NewCollector(pl, conn)}
		if pl.Detect != nil {
			cols = append(cols, metrics.NewModelCollector(pl.Detect))
		}
		reg := metrics.Registry(cols...)
		h := metrics.Handler(reg, func(rctx context.Context) error {
			if ctx.Err() != nil {
				return fmt.Errorf("stopping")
			}
			return ready(rctx, pl, conn)
		})
		addr, err := metrics.Serve(ctx, o.metricsAddr, h)
		if err != nil && !f.Changed("metrics-addr") {
			host, _, _ := net.SplitHostPort(o.metricsAddr)
			busy := err
			if addr, err = metrics.Serve(ctx, net.JoinHostPort(host, "0"), h); err == nil {
				slog.Warn("default metrics port taken (another instance on this host?): serving on another; set --metrics-addr to choose",
					"addr", addr, "taken", o.metricsAddr, "err", busy)
			}
		}
		if err != nil {
			return fmt.Errorf("serve metrics (--metrics-addr \"\" turns them off): %w", err)
		}
		o.bound = addr
		slog.Info("serving metrics", "addr", addr, "paths", "/metrics /healthz /readyz")
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

// ready is /readyz: the brokers answer and what each stage here depends on
// works (the sink's store: reachable, not refusing inserts).
func ready(ctx context.Context, pl *pipeline.Pipeline, conn *broker.Conn) error {
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
	if pl.Sink != nil {
		if err := pl.Sink.Ready(ctx); err != nil {
			return err
		}
	}
	return nil
}
