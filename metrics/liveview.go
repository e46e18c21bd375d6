package metrics

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/pipeline"
)

// LiveView rewrites one status line on a terminal every second: frames
// ingested, records per stage with their rate, lag per group. The returned
// func stops it and ends the line.
func LiveView(ctx context.Context, w io.Writer, conn *broker.Conn, pl *pipeline.Pipeline, ingested *atomic.Int64) func() {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		prev := map[string]int64{}
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			now := time.Now()
			dt := now.Sub(last).Seconds()
			last = now
			cur := map[string]int64{"ingest": ingested.Load()}
			parts := []string{progress("ingest", cur["ingest"], prev, dt)}
			for _, s := range pl.StageList() {
				cur[s.Name()] = s.Counters().Progress
				parts = append(parts, progress(s.Name(), cur[s.Name()], prev, dt))
			}
			prev = cur
			fmt.Fprintf(w, "\r\033[K%s%s", strings.Join(parts, "  "), lagLine(ctx, conn))
		}
	}()
	return func() {
		cancel()
		wg.Wait()
		fmt.Fprintln(w)
	}
}

// lagLine is "  | lag group=n ...", or "" when the brokers do not answer
// within half a second: a slow lag query must not stall the line.
func lagLine(ctx context.Context, conn *broker.Conn) string {
	adm, cl, err := conn.Admin()
	if err != nil {
		return ""
	}
	defer cl.Close()
	lctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	rows, err := broker.GroupLag(lctx, adm)
	if err != nil {
		return ""
	}
	var gs []string
	for g, v := range broker.TotalLag(rows) {
		gs = append(gs, fmt.Sprintf("%s=%d", g, v))
	}
	sort.Strings(gs)
	return "  | lag " + strings.Join(gs, " ")
}

// progress is one stage's figure and its rate since the last tick.
func progress(name string, v int64, prev map[string]int64, dt float64) string {
	return fmt.Sprintf("%s %d (%.0f/s)", name, v, float64(v-prev[name])/dt)
}
