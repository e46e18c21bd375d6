package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/pipeline"
	"github.com/cropstream/cropstream/sinks"
	"github.com/cropstream/cropstream/sinks/clickhouse/chtest"
	"github.com/cropstream/cropstream/sinks/jsonfile"
	"github.com/cropstream/cropstream/sinks/sinktest"
	"github.com/cropstream/cropstream/stage/stagetest"
	"github.com/cropstream/cropstream/topology"
)

// tinyDisk mounts a tmpfs of size bytes at dir (root only) and returns a
// function that resizes it, as freeing space on a full disk does.
func tinyDisk(t *testing.T, dir string, size int) func(int) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("mounting a small file system needs root")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return func(size int) {
		if out, err := exec.Command("mount", "-o", fmt.Sprintf("remount,size=%d", size), dir).CombinedOutput(); err != nil {
			t.Fatalf("resize tmpfs: %v %s", err, out)
		}
	}
}

// The file sink writes to a disk that fills up, is restarted while it is
// full, and carries on once space is freed under it: every table's files hold exactly
// the rows of the stream, each once, and `clickhouse load` loads them all
// (before, a retry appended after a torn line and Resume failed on it).
func TestFileSinkFullDiskThenSpaceFreed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "analytics")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	resize := tinyDisk(t, dir, 96<<10)
	conn, _ := brokertest.Open(t, topology.Config{})
	brokertest.Produce(t, conn, sinktest.Stream(21, 400)...)

	ctx := context.Background()
	sinkRun := func(stop func(*sinks.Sink) bool) *sinks.Sink {
		st, err := jsonfile.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		s, err := sinks.New(sinks.Config{Store: st, MaxAge: 50 * time.Millisecond, MaxRows: 500,
			RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond, ShutdownFlush: 500 * time.Millisecond}, conn)
		if err != nil {
			t.Fatal(err)
		}
		run := stagetest.Start(ctx, s)
		deadline := time.Now().Add(30 * time.Second)
		for !stop(s) {
			if time.Now().After(deadline) {
				if adm, cl, err := conn.Admin(); err == nil {
					rows, _ := broker.GroupLag(ctx, adm, "sink-clickhouse")
					for _, r := range rows {
						if r.Lag != 0 {
							t.Logf("sink group lag: %+v", r)
						}
					}
					cl.Close()
				}
				t.Logf("sink stats: records=%d rows=%d skipped=%d inserts=%d dead=%d", s.Stats.Records.Load(), s.Stats.Rows.Load(), s.Stats.Skipped.Load(), s.Stats.Inserts.Load(), s.Stats.DeadLetters.Load())
				run.Stop()
				t.Fatalf("sink: %d rows, %d retries after 30 s", s.Stats.Rows.Load(), s.Stats.Retries.Load())
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := run.StopWithin(20 * time.Second); err != nil {
			t.Fatalf("sink run: %v", err)
		}
		return s
	}
	sinkRun(func(s *sinks.Sink) bool { return s.Stats.Retries.Load() >= 3 }) // fills the disk
	// Restarted on the full disk; space is freed while it retries.
	freed := false
	sinkRun(func(s *sinks.Sink) bool {
		if !freed {
			if s.Stats.Retries.Load() >= 3 {
				resize(64 << 20)
				freed = true
			}
			return false
		}
		dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		return pipeline.WaitSinkDrained(dctx, conn, 10*time.Millisecond) == nil
	})

	want := sinktest.Want(t, conn)
	files, err := jsonfile.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range sinks.Tables() {
		paths, _ := files.Files(tb)
		seen := map[string]bool{}
		n := 0
		for _, p := range paths {
			rows, err := jsonfile.ReadRows(p, tb)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			for _, r := range rows {
				k := fmt.Sprint(r[len(r)-2], "/", r[len(r)-1], "/", r[0])
				if tb.Name == "detections" {
					k += fmt.Sprint("/", r[tb.Index("box_index")])
				}
				if seen[k] {
					t.Errorf("%s: row %s twice", tb.Name, k)
				}
				seen[k] = true
				n++
			}
		}
		if n != want[tb.Name] {
			t.Errorf("%s: %d rows in files, want %d", tb.Name, n, want[tb.Name])
		}
	}

	st := chtest.Start(t).Open(t, "fulldisk")
	loaded, refused, err := loadFiles(ctx, st, dir)
	if err != nil || len(refused) > 0 {
		t.Fatalf("load: %v, refused %v", err, refused)
	}
	all, distinct := sinktest.Counts(t, st.Conn(), st.Database())
	for name, n := range want {
		if loaded[name] != n || all[name] != n || distinct[name] != n {
			t.Errorf("%s: loaded %d, stored %d (%d distinct), want %d", name, loaded[name], all[name], distinct[name], n)
		}
	}
}
