package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/grafana/pyroscope-go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/pipeline"
)

// DefaultAddr is where every process serves /metrics, /healthz and /readyz
// unless told otherwise: loopback, so nothing is exposed to the network
// unless an address is given (containers give ":9464").
const DefaultAddr = "127.0.0.1:9464"

// ObserveConfig says what a process shows its operators.
type ObserveConfig struct {
	// Addr serves /metrics, /healthz and /readyz ("": not served).
	Addr string
	// AddrExplicit says Addr was asked for: then it must be free (a probe or
	// a Prometheus job points at it, and a process without its endpoints
	// would look dead to them). A busy default port (a second process on a
	// laptop) is replaced by a free one on the same host, logged.
	AddrExplicit bool
	// Pyroscope, when set, receives continuous profiles tagged with Stages.
	Pyroscope string
	Stages    []string
}

// Observe serves metrics for pl and starts profiling; both stop with ctx. It
// returns where metrics are served ("" when they are not).
func Observe(ctx context.Context, cfg ObserveConfig, pl *pipeline.Pipeline, conn *broker.Conn) (string, error) {
	var addr string
	if cfg.Addr != "" {
		cols := []prometheus.Collector{NewCollector(pl, conn)}
		if pl.Detect != nil {
			cols = append(cols, NewModelCollector(pl.Detect))
		}
		h := Handler(Registry(cols...), func(rctx context.Context) error {
			if ctx.Err() != nil {
				return errors.New("stopping")
			}
			return ready(rctx, pl, conn)
		})
		var err error
		addr, err = Serve(ctx, cfg.Addr, h)
		if err != nil && !cfg.AddrExplicit {
			host, _, _ := net.SplitHostPort(cfg.Addr)
			busy := err
			if addr, err = Serve(ctx, net.JoinHostPort(host, "0"), h); err == nil {
				slog.Warn("default metrics port taken (another instance on this host?): serving on another; set --metrics-addr to choose",
					"addr", addr, "taken", cfg.Addr, "err", busy)
			}
		}
		if err != nil {
			return "", fmt.Errorf("serve metrics (--metrics-addr \"\" turns them off): %w", err)
		}
		slog.Info("serving metrics", "addr", addr, "paths", "/metrics /healthz /readyz")
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
			return addr, fmt.Errorf("pyroscope %s: %w", cfg.Pyroscope, err)
		}
		context.AfterFunc(ctx, func() { _ = p.Stop() })
		slog.Info("profiling to pyroscope", "url", cfg.Pyroscope)
	}
	return addr, nil
}

// ready is /readyz: the brokers answer (a process whose brokers are away
// cannot make progress, whatever its stages say) and what each stage here
// depends on works (the sink's store: reachable, not refusing inserts).
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
