package main

import (
	"context"
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
	served *dashboard.Served
}

func (u *uiFlags) register(f *pflag.FlagSet) {
	f.StringVar(&u.addr, "ui", DefaultUIAddr, "serve the live page and the query API (/api/..., docs/api.md) here (\"\" turns it off)")
	f.BoolVar(&u.hold, "ui-hold", false, "with --scenario: keep serving the page (its last state) after the run, until interrupted")
	f.Float64Var(&u.maxFPS, "ui-fps", 5, "frames a second each camera's panel shows at most")
}

// start serves the page for pl until stop is called, or with --ui-hold
// until wait sees ctx end.
func (u *uiFlags) start(f *pflag.FlagSet, conn *broker.Conn, pl *pipeline.Pipeline, ingested *atomic.Int64, params track.Params) (stop func(), err error) {
	if u.addr == "" {
		return func() {}, nil
	}
	cfg := dashboard.Config{Addr: u.addr, MaxFPS: u.maxFPS, Track: params, KeepLast: u.hold}
	u.served, stop, err = dashboard.Serve(cfg, f.Changed("ui"), dashboard.Source{Conn: conn, Pipeline: pl, Ingested: ingested})
	return stop, err
}

// wait, with --ui-hold, serves the page until ctx ends.
func (u *uiFlags) wait(ctx context.Context) { u.served.Wait(ctx) }
