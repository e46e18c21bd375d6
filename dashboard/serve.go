package dashboard

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"

	"github.com/spf13/pflag"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/pipeline"
)

// DefaultAddr is where `cropstream run` serves the page and the query API
// unless told otherwise: loopback, as the page has no authentication.
const DefaultAddr = "127.0.0.1:8080"

// Page is the page as `cropstream run` serves it beside one pipeline: its
// flags, Attach once the stages run, Wait after them.
type Page struct {
	Config
	addr   *pflag.Flag
	cancel context.CancelFunc
	done   chan struct{}
}

// RegisterFlags registers --ui (Addr), --ui-hold (KeepLast) and --ui-fps
// (MaxFPS).
func (p *Page) RegisterFlags(f *pflag.FlagSet) {
	f.StringVar(&p.Addr, "ui", DefaultAddr, "serve the live page and the query API (/api/..., docs/api.md) here (\"\" turns it off)")
	f.BoolVar(&p.KeepLast, "ui-hold", false, "with --scenario: keep serving the page (its last state) after the run, until interrupted")
	f.Float64Var(&p.MaxFPS, "ui-fps", 5, "frames a second each camera's panel shows at most")
	p.addr = f.Lookup("ui")
}

// Attach serves the page (nothing when Addr is "") and attaches the stages
// of pl; stop detaches them and, unless KeepLast, stops the server. A busy
// address is an error only when --ui gave it; otherwise it is logged and
// nothing is served, as for metrics.
func (p *Page) Attach(conn *broker.Conn, pl *pipeline.Pipeline, ingested *atomic.Int64) (stop func(), err error) {
	if p.Addr == "" {
		return func() {}, nil
	}
	srv, err := New(p.Config)
	if err != nil {
		if p.addr != nil && p.addr.Changed {
			return nil, err
		}
		slog.Warn("live page not served (another instance on this host has the port? set --ui)", "err", err)
		return func() {}, nil
	}
	// The server's lifetime is its own: with KeepLast it outlives the run.
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Run(sctx); err != nil {
			slog.Warn("live page", "err", err)
		}
	}()
	detach, err := srv.Attach(sctx, Source{Conn: conn, Pipeline: pl, Ingested: ingested})
	if err != nil {
		cancel()
		<-done
		return nil, err
	}
	p.cancel, p.done = cancel, done
	slog.Info("serving live page", "url", "http://"+srv.Addr()+"/")
	return func() {
		detach()
		if !p.KeepLast {
			cancel()
			<-done
		}
	}, nil
}

// Wait, for a page that outlives the pipeline (KeepLast), serves it until
// ctx ends.
func (p *Page) Wait(ctx context.Context) {
	if p.done == nil || !p.KeepLast {
		return
	}
	fmt.Fprintln(os.Stderr, "serving the live page until interrupted")
	<-ctx.Done()
	p.cancel()
	<-p.done
}
