package main

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

// liveView rewrites one status line on a terminal every second: frames
// ingested, records per stage with their rate, lag per group, objects
// counted. The returned func stops it and ends the line.
func liveView(ctx context.Context, w io.Writer, conn *broker.Conn, pl *pipeline.Pipeline, ingested *atomic.Int64) func() {
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
			line := strings.Join(parts, "  ")
			if adm, cl, err := conn.Admin(); err == nil {
				lctx, lcancel := context.WithTimeout(ctx, 500*time.Millisecond)
				rows, err := broker.GroupLag(lctx, adm)
				lcancel()
				cl.Close()
				if err == nil {
					lag := broker.TotalLag(rows)
					var gs []string
					for g, v := range lag {
						gs = append(gs, fmt.Sprintf("%s=%d", g, v))
					}
					sort.Strings(gs)
					line += "  | lag " + strings.Join(gs, " ")
				}
			}
			fmt.Fprintf(w, "\r\033[K%s", line)
		}
	}()
	return func() {
		cancel()
		wg.Wait()
		fmt.Fprintln(w)
	}
}

// progress is one stage's figure and its rate since the last tick.
func progress(name string, v int64, prev map[string]int64, dt float64) string {
	return fmt.Sprintf("%s %d (%.0f/s)", name, v, float64(v-prev[name])/dt)
}
