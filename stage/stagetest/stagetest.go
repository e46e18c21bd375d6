// Package stagetest runs a stage, a sink or a service in the background of
// a test, waits on its counters and round-trips its table codec.
package stagetest

import (
	"context"
	"fmt"
	"testing"
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

// Codec is a stage's table codec, as goka calls it.
type Codec interface {
	Encode(v any) ([]byte, error)
	Decode(b []byte) (any, error)
}

// Decoded is b as c decodes it, failing the test on an error or a value
// that is not a T.
func Decoded[T any](tb testing.TB, c Codec, b []byte) T {
	tb.Helper()
	v, err := c.Decode(b)
	if err != nil {
		tb.Fatal(err)
	}
	got, ok := v.(T)
	if !ok {
		tb.Fatalf("decoded %T", v)
	}
	return got
}

// RoundTrip is v encoded by c and decoded again.
func RoundTrip[T any](tb testing.TB, c Codec, v T) T {
	tb.Helper()
	b, err := c.Encode(v)
	if err != nil {
		tb.Fatal(err)
	}
	return Decoded[T](tb, c, b)
}
