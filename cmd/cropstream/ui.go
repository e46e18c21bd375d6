package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"

	"github.com/spf13/pflag"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/dashboard"
	"github.com/cropstream/cropstream/pipeline"
	"github.com/cropstream/cropstream/processors/track"
)

// DefaultUIAddr is where run serves the live page and the query API unless
// told otherwise: loopback, as the page has no authentication.
const DefaultUIAddr = "127.0.0.1:8080"

// uiFlags serve the live page (package dashboard).
type uiFlags struct {
	addr   string
	hold   bool
	maxFPS float64

	cancel context.CancelFunc
	done   chan struct{}
}

func (u *uiFlags) register(f *pflag.FlagSet) {
	f.StringVar(&u.addr, "ui", DefaultUIAddr, "serve the live page and the query API (/api/..., docs/api.md) here (\"\" turns it off)")
	f.BoolVar(&u.hold, "ui-hold", false, "with --scenario: keep serving the page (its last state) after the run, until interrupted")
	f.Float64Var(&u.maxFPS, "ui-fps", 5, "frames a second each camera's panel shows at most")
}

// start serves the page for pl. It reads the pipeline until stop is called;
// the page itself is served until then too, or with --ui-hold until wait
// sees ctx end. A busy default port only warns, as for metrics.
func (u *uiFlags) start(f *pflag.FlagSet, conn *broker.Conn, pl *pipeline.Pipeline, ingested *atomic.Int64, params track.Params) (stop func(), err error) {
	if u.addr == "" {
		return func() {}, nil
	}
	srv, err := dashboard.New(dashboard.Config{Addr: u.addr, MaxFPS: u.maxFPS, Track: params, KeepLast: u.hold})
	if err != nil {
		if f.Changed("ui") {
			return nil, err
		}
		slog.Warn("live page not served (another instance on this host has the port? set --ui)", "err", err)
		return func() {}, nil
	}
	// The server's lifetime is its own: with --ui-hold it outlives the run.
	sctx, cancel := context.WithCancel(context.Background())
	u.cancel, u.done = cancel, make(chan struct{})
	go func() {
		defer close(u.done)
		if err := srv.Run(sctx); err != nil {
			slog.Warn("live page", "err", err)
		}
	}()
	detach, err := srv.Attach(sctx, dashboard.Source{Conn: conn, Pipeline: pl, Ingested: ingested})
	if err != nil {
		cancel()
		<-u.done
		return nil, err
	}
	slog.Info("serving live page", "url", "http://"+srv.Addr()+"/")
	return func() {
		detach()
		if !u.hold {
			cancel()
			<-u.done
		}
	}, nil
}

// wait, with --ui-hold, serves the page until ctx ends.
func (u *uiFlags) wait(ctx context.Context) {
	if u.done == nil || !u.hold {
		return
	}
	fmt.Fprintln(os.Stderr, "serving the live page until interrupted")
	<-ctx.Done()
	u.cancel()
	<-u.done
}
