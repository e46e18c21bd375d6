package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/grafana/pyroscope-go"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/pipeline"
)

// DefaultAddr is where every process serves /metrics, /healthz and /readyz
// unless told otherwise.
const DefaultAddr = ":9464"

// ObserveConfig says what a process shows its operators.
type ObserveConfig struct {
	// Addr serves /metrics, /healthz and /readyz ("": not served).
	Addr string
	// AddrExplicit says Addr was asked for: then it must be free, while a
	// busy default port (several instances on one host) only warns.
	AddrExplicit bool
	// Pyroscope, when set, receives continuous profiles tagged with Stages.
	Pyroscope string
	Stages    []string
}

// Observe serves metrics for pl and starts profiling; both stop with ctx.
func Observe(ctx context.Context, cfg ObserveConfig, pl *pipeline.Pipeline, conn *broker.Conn) error {
	if cfg.Addr != "" {
		reg := Registry(NewCollector(pl, conn))
		addr, err := Serve(ctx, cfg.Addr, Handler(reg, func(rctx context.Context) error {
			if ctx.Err() != nil {
				return errors.New("stopping")
			}
			return brokersReachable(rctx, conn)
		}))
		switch {
		case err != nil && cfg.AddrExplicit:
			return err
		case err != nil:
			slog.Warn("metrics not served (another instance on this host has the port? set --metrics-addr)", "err", err)
		default:
			slog.Info("serving metrics", "addr", addr, "paths", "/metrics /healthz /readyz")
		}
	}
	if cfg.Pyroscope != "" {
		p, err := pyroscope.Start(pyroscope.Config{
			ApplicationName: "cropstream",
			ServerAddress:   cfg.Pyroscope,
			Tags:            map[string]string{"stages": strings.Join(cfg.Stages, "+")},
			ProfileTypes: []pyroscope.ProfileType{pyroscope.ProfileCPU, pyroscope.ProfileAllocSpace,
				pyroscope.ProfileInuseSpace, pyroscope.ProfileGoroutines},
		})
		if err != nil {
			return fmt.Errorf("pyroscope %s: %w", cfg.Pyroscope, err)
		}
		context.AfterFunc(ctx, func() { _ = p.Stop() })
		slog.Info("profiling to pyroscope", "url", cfg.Pyroscope)
	}
	return nil
}

// brokersReachable is the readiness check: a process whose brokers are away
// cannot make progress, whatever its stages say.
func brokersReachable(ctx context.Context, conn *broker.Conn) error {
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
