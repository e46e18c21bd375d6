package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/fieldrun"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/topology"
)

// The command tests run the built binary, as an operator would: bin is it,
// repo the checkout it was built from.
var bin, repo string

func TestMain(m *testing.M) {
	_, file, _, _ := runtime.Caller(0)
	repo = filepath.Join(filepath.Dir(file), "..", "..")
	// The binary runs from temporary directories: point it at the library.
	os.Setenv(inference.LibEnv, filepath.Join(repo, inference.DefaultLib))
	dir, err := os.MkdirTemp("", "cropstream-bin")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "cropstream")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		panic("build cropstream: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// shippedModel is the detector the repository ships.
func shippedModel() string { return filepath.Join(repo, inference.DefaultModel) }

type result struct {
	code     int
	stdout   string
	stderr   string
	elapsed  time.Duration
	lastLine string
}

// run runs the binary in dir to its end (a minute at most).
func run(t *testing.T, dir string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: so.String(), stderr: se.String(), elapsed: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	r.lastLine = lines[len(lines)-1]
	return r
}

// scenarioDir is a directory for the test holding scenario as small.yaml.
func scenarioDir(t *testing.T, scenario string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "small.yaml", scenario)
	return dir
}

// writeFile writes content to dir/name.
func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// evalReport is what `eval --scenario scenario --json` with the shipped
// model reports in dir, on a fresh broker of its own.
func evalReport(t *testing.T, dir, scenario string, extra ...string) fieldrun.Report {
	t.Helper()
	r := run(t, dir, append([]string{"eval", "--scenario", scenario, "--json", "--model", shippedModel()}, extra...)...)
	if r.code != 0 {
		t.Fatalf("eval: exit %d\n%s", r.code, r.stderr)
	}
	var rep fieldrun.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, r.stdout)
	}
	return rep
}

// startProcess starts the binary in dir with its output in dir/logName and
// leaves stopping it to the test.
func startProcess(t *testing.T, dir, logName string, args ...string) *exec.Cmd {
	t.Helper()
	c := exec.Command(bin, args...)
	c.Dir = dir
	f, err := os.Create(filepath.Join(dir, logName))
	if err != nil {
		t.Fatal(err)
	}
	c.Stdout, c.Stderr = f, f
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	return c
}

// longTest skips the test under -short, saying why it is long.
func longTest(t *testing.T, why string) {
	t.Helper()
	if testing.Short() {
		t.Skip(why)
	}
}

// signalled sends sig to the process and waits for it to exit.
func signalled(c *exec.Cmd, sig os.Signal) error {
	c.Process.Signal(sig)
	return c.Wait()
}

// stopped ends the process with SIGTERM, as an operator would.
func stopped(c *exec.Cmd) error { return signalled(c, syscall.SIGTERM) }

// killed ends the process with SIGKILL, as a crash would.
func killed(c *exec.Cmd) { signalled(c, syscall.SIGKILL) }

// serveStages starts each stage as its own process on dir's broker (as
// serveStage), detect with the shipped model.
func serveStages(t *testing.T, dir string, extra ...string) {
	t.Helper()
	for _, st := range []string{"detect", "track", "aggregate", "sink"} {
		serveStage(t, dir, st, append([]string{"--model", shippedModel()}, extra...)...)
	}
}

// serveStage starts `run --stages stages` as its own process on dir's
// broker, logging to dir/<stages>.log, and checks it exits cleanly on
// SIGTERM when the test ends.
func serveStage(t *testing.T, dir, stages string, extra ...string) {
	t.Helper()
	c := startProcess(t, dir, stages+".log", append([]string{"run", "--stages", stages, "--metrics-addr", ""}, extra...)...)
	t.Cleanup(func() {
		if err := stopped(c); err != nil {
			t.Errorf("%s after SIGTERM: %v", stages, err)
		}
	})
}

// brokerProcess starts `cropstream broker` on dir/data (the same port as
// before, on a restart) and returns once it listens; stopping it is the
// test's.
func brokerProcess(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	brk := exec.Command(bin, "broker")
	brk.Dir = dir
	out, err := brk.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := brk.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "broker listening on 127.0.0.1:") {
		brk.Process.Kill()
		brk.Wait()
		t.Fatalf("broker said %q (%v)", line, err)
	}
	return brk, line
}

// startBroker serves the embedded broker of dir/data in its own process
// for the life of the test and returns its first line.
func startBroker(t *testing.T, dir string) string {
	t.Helper()
	brk, line := brokerProcess(t, dir)
	t.Cleanup(func() { signalled(brk, os.Interrupt) })
	return line
}

// brokerDir is a directory for the test whose broker is served (as by
// startBroker), and a connection to that broker.
func brokerDir(t *testing.T) (string, *broker.Conn) {
	t.Helper()
	dir := t.TempDir()
	startBroker(t, dir)
	return dir, openData(t, dir)
}

// brokerWithTopics is a directory for the test whose broker is served (as
// by startBroker) with the topology's topics created.
func brokerWithTopics(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	startBroker(t, dir)
	if r := run(t, dir, "topics", "create"); r.code != 0 {
		t.Fatalf("topics create: %s", r.stderr)
	}
	return dir
}

// openData connects to the embedded broker of dir/data (serving it if no
// process does) for the life of the test.
func openData(t *testing.T, dir string) *broker.Conn {
	t.Helper()
	top, _ := topology.New(topology.Config{})
	conn, err := broker.Open(context.Background(), broker.Config{DataDir: filepath.Join(dir, "data")}, top)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	return conn
}

// logTail is the last n bytes of a process's log, for a failure message.
func logTail(path string, n int) []byte {
	b, _ := os.ReadFile(path)
	return b[max(0, len(b)-n):]
}

// freeAddr is a loopback address no one listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer collects a child's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
