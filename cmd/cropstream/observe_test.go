package main

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/metrics"
	"github.com/cropstream/cropstream/pipeline"
	"github.com/cropstream/cropstream/sinks"
	"github.com/cropstream/cropstream/sinks/clickhouse/chtest"
	"github.com/cropstream/cropstream/topology"
)

// Metrics listen on loopback by default; an address given explicitly must be
// free (an error otherwise); a second process finding the default port
// taken serves on another loopback port instead of running without health
// endpoints; /readyz fails while the sink's store is down.
func TestMetricsAddressAndReadiness(t *testing.T) {
	if host, _, _ := net.SplitHostPort(metrics.DefaultAddr); host != "127.0.0.1" {
		t.Errorf("default metrics address %s is not loopback", metrics.DefaultAddr)
	}
	srv := chtest.Start(t)
	conn, _ := brokertest.Open(t, topology.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := srv.Open(t, "ready")
	pl, err := pipeline.New(pipeline.Config{Stages: []string{pipeline.StageSink}, Sink: sinks.Config{Store: st, RetryMax: 200 * time.Millisecond}}, conn)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- pl.Run(ctx) }()
	defer func() { cancel(); <-done }()

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	start := func(explicit bool) (string, error) {
		fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
		var o metrics.ObserveConfig
		o.RegisterFlags(fs)
		if explicit {
			if err := fs.Parse([]string{"--metrics-addr", taken.Addr().String()}); err != nil {
				t.Fatal(err)
			}
		} else {
			o.Addr = taken.Addr().String() // as if the default were taken
		}
		o.Stages = []string{pipeline.StageSink}
		return metrics.Observe(ctx, o, pl, conn)
	}
	if _, err := start(true); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("an explicit address in use: %v, want an error", err)
	}
	bound, err := start(false)
	if err != nil {
		t.Fatalf("default address in use: %v", err)
	}
	if host, port, _ := net.SplitHostPort(bound); host != "127.0.0.1" || port == "" || bound == taken.Addr().String() {
		t.Fatalf("served on %q with the default taken", bound)
	}
	base := "http://" + bound
	// ready fails the test unless /readyz answers 200 within 20 s.
	ready := func(notReady string, pause time.Duration) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, body := get(t, base+"/readyz")
			if code == http.StatusOK {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d %s", notReady, code, body)
			}
			time.Sleep(pause)
		}
	}
	ready("not ready with ClickHouse up", 100*time.Millisecond)
	srv.Stop()
	if code, body := get(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "store") {
		t.Errorf("/readyz with ClickHouse down: %d %s", code, body)
	}
	srv.Restart()
	ready("not ready again after ClickHouse restarted", 200*time.Millisecond)
}
