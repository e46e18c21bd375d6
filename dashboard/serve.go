package dashboard

import (
	"context"
	"fmt"
	"log/slog"
	"os"
)

// Served is a page served beside one pipeline by `cropstream run`.
type Served struct {
	hold   bool
	cancel context.CancelFunc
	done   chan struct{}
}

// Serve serves the page with cfg and attaches src; stop detaches it and,
// unless cfg.KeepLast, stops the server. A busy address is an error only
// when explicit (the address was asked for); otherwise it is logged and
// nothing is served, as for metrics.
func Serve(cfg Config, explicit bool, src Source) (sv *Served, stop func(), err error) {
	sv = &Served{hold: cfg.KeepLast}
	srv, err := New(cfg)
	if err != nil {
		if explicit {
			return nil, nil, err
		}
		slog.Warn("live page not served (another instance on this host has the port? set --ui)", "err", err)
		return sv, func() {}, nil
	}
	// The server's lifetime is its own: with KeepLast it outlives the run.
	sctx, cancel := context.WithCancel(context.Background())
	sv.cancel, sv.done = cancel, make(chan struct{})
	go func() {
		defer close(sv.done)
		if err := srv.Run(sctx); err != nil {
			slog.Warn("live page", "err", err)
		}
	}()
	detach, err := srv.Attach(sctx, src)
	if err != nil {
		cancel()
		<-sv.done
		return nil, nil, err
	}
	slog.Info("serving live page", "url", "http://"+srv.Addr()+"/")
	return sv, func() {
		detach()
		if !sv.hold {
			cancel()
			<-sv.done
		}
	}, nil
}

// Wait, for a page that outlives the pipeline, serves it until ctx ends.
func (sv *Served) Wait(ctx context.Context) {
	if sv == nil || sv.done == nil || !sv.hold {
		return
	}
	fmt.Fprintln(os.Stderr, "serving the live page until interrupted")
	<-ctx.Done()
	sv.cancel()
	<-sv.done
}
