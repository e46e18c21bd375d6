// Package stagetest runs a stage, a sink or a service in the background of
// a test and waits on its counters.
package stagetest

import (
	"context"
	"fmt"
	"time"
)

// Runner is anything with a blocking Run: a stage, the sink, a service.
type Runner interface {
	Run(ctx context.Context) error
}

// Running is a Run in progress.
type Running struct {
	cancel context.CancelFunc
	done   chan error
}

// Start calls r.Run in its own goroutine on a child of ctx that Stop
// cancels.
func Start(ctx context.Context, r Runner) *Running {
	ctx, cancel := context.WithCancel(ctx)
	run := &Running{cancel: cancel, done: make(chan error, 1)}
	go func() { run.done <- r.Run(ctx) }()
	return run
}

// Stop cancels the run and returns what Run returned, once it has.
func (r *Running) Stop() error {
	r.cancel()
	return <-r.done
}

// StopWithin is Stop that gives up waiting after limit, with an error.
func (r *Running) StopWithin(limit time.Duration) error {
	r.cancel()
	select {
	case err := <-r.done:
		return err
	case <-time.After(limit):
		return fmt.Errorf("did not stop within %s", limit)
	}
}

// Until checks cond every 20 ms until it holds or limit has passed, and
// reports whether it held.
func Until(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
