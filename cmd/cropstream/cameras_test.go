package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cropstream/cropstream/fleet"
	"github.com/cropstream/cropstream/fleet/fleettest"
	"github.com/cropstream/cropstream/ingest/mjpegtest"
)

type ingestProc struct {
	name, api string
	cmd       *exec.Cmd
}

// startIngest runs `cropstream ingest --registry` as instance name.
func startIngest(t *testing.T, dir, name string) *ingestProc {
	t.Helper()
	p := &ingestProc{name: name, api: freeAddr(t)}
	p.cmd = startProcess(t, dir, name+".log", "ingest", "--registry", "--instance", name, "--http-addr", p.api,
		"--reconnect-initial", "200ms", "--reconnect-max", "1s", "--report-every", "300ms")
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			stopped(p.cmd)
		}
	})
	return p
}

func listCLI(t *testing.T, dir string) map[string]fleet.Entry {
	t.Helper()
	r := run(t, dir, "cameras", "list", "--json")
	if r.code != 0 {
		t.Fatalf("cameras list: %s", r.stderr)
	}
	var es []fleet.Entry
	if err := json.Unmarshal([]byte(r.stdout), &es); err != nil {
		t.Fatalf("cameras list: %v in %q", err, r.stdout)
	}
	out := map[string]fleet.Entry{}
	for _, e := range es {
		out[e.Camera.ID] = e
	}
	return out
}

func listHTTP(t *testing.T, api string) map[string]fleet.Entry {
	t.Helper()
	resp, err := http.Get("http://" + api + "/cameras")
	if err != nil {
		t.Fatalf("GET /cameras: %v", err)
	}
	defer resp.Body.Close()
	var es []fleet.Entry
	if err := json.NewDecoder(resp.Body).Decode(&es); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /cameras: %s, %v", resp.Status, err)
	}
	out := map[string]fleet.Entry{}
	for _, e := range es {
		out[e.Camera.ID] = e
	}
	return out
}

func until(t *testing.T, what string, limit time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	if err := mjpegtest.Wait(ctx, cond); err != nil {
		t.Fatalf("%s: not within %s", what, limit)
	}
	return time.Since(start)
}

// checkConnected asserts what both the CLI and the HTTP API say of a camera
// that is receiving frames.
func checkConnected(t *testing.T, where string, e fleet.Entry, now time.Time) {
	t.Helper()
	st := e.State
	if e.Status != fleet.StatusConnected || st == nil {
		t.Fatalf("%s: camera %s is %s, want connected", where, e.Camera.ID, e.Status)
	}
	if st.ConnectedSince.IsZero() || !st.ReconnectingSince.IsZero() || st.FPS < 5 || st.FPS > 15 || now.Sub(st.LastFrame) > 3*time.Second {
		t.Fatalf("%s: camera %s connected at 10 frames/s: %+v", where, e.Camera.ID, st)
	}
}

// The camera fleet through the CLI: three MJPEG cameras (Go servers on
// loopback, 10 frames/s) added with `cameras add` to a running `ingest
// --registry`; one goes down for 6 s (a short outage to keep the test fast)
// and comes back without a restart; one is removed (its reader stops and the
// frames it read are in the topic); a fourth is added over the HTTP API.
// Every frame served is ingested exactly once. Then a second instance joins
// and the one holding cameras is SIGKILLed: the other reads them within 15 s.
// `cameras list` and GET /cameras report the states throughout.
func TestCameraFleet(t *testing.T) {
	longTest(t, "runs processes")
	dir := t.TempDir()
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range []string{"ingest-a", "ingest-b"} {
				b, _ := os.ReadFile(filepath.Join(dir, n+".log"))
				t.Logf("%s.log:\n%s", n, b)
			}
		}
	})
	startBroker(t, dir)
	cams := map[string]*mjpegtest.Server{}
	for _, id := range []string{"cam-a", "cam-b", "cam-c", "cam-d"} {
		cams[id] = mjpegtest.Serve(t, 10, 160, 120)
	}
	a := startIngest(t, dir, "ingest-a")
	for _, id := range []string{"cam-a", "cam-b", "cam-c"} {
		if r := run(t, dir, "cameras", "add", "--id", id, "--url", cams[id].URL(), "--field", "F1", "--block", "B1", "--row", "B1-R1"); r.code != 0 {
			t.Fatalf("cameras add %s: %s", id, r.stderr)
		}
	}
	if r := run(t, dir, "cameras", "add", "--id", "bad id", "--url", "x", "--field", "F1"); r.code == 0 || !strings.Contains(r.stderr, "id \"bad id\"") {
		t.Fatalf("cameras add with a bad id: code %d, %s", r.code, r.stderr)
	}
	until(t, "three cameras connected", 30*time.Second, func() bool {
		l := listCLI(t, dir)
		return l["cam-a"].Status == fleet.StatusConnected && l["cam-b"].Status == fleet.StatusConnected && l["cam-c"].Status == fleet.StatusConnected
	})
	time.Sleep(time.Second) // a full frames/s window
	now := time.Now()
	cli, api := listCLI(t, dir), listHTTP(t, a.api)
	for _, id := range []string{"cam-a", "cam-b", "cam-c"} {
		checkConnected(t, "cameras list", cli[id], now)
		checkConnected(t, "GET /cameras", api[id], now)
	}
	r := run(t, dir, "cameras", "list")
	if !strings.Contains(r.stdout, "cam-b") || !strings.Contains(r.stdout, "connected") || !strings.Contains(r.stdout, "ingest-a") {
		t.Fatalf("cameras list table:\n%s", r.stdout)
	}

	// Outage of cam-b.
	cams["cam-b"].Stop()
	down := time.Now()
	until(t, "cam-b reconnecting", 10*time.Second, func() bool { return listCLI(t, dir)["cam-b"].Status == fleet.StatusReconnecting })
	for where, e := range map[string]fleet.Entry{"cameras list": listCLI(t, dir)["cam-b"], "GET /cameras": listHTTP(t, a.api)["cam-b"]} {
		st := e.State
		if e.Status != fleet.StatusReconnecting || st.ReconnectingSince.Before(down.Add(-time.Second)) || st.LastError == "" || st.FPS != 0 || !st.ConnectedSince.IsZero() {
			t.Fatalf("%s: cam-b while down: %s %+v", where, e.Status, st)
		}
		t.Logf("%s: cam-b %s since %s: %s", where, e.Status, st.ReconnectingSince.Format(time.StampMilli), st.LastError)
	}
	checkConnected(t, "cameras list during cam-b's outage", listCLI(t, dir)["cam-a"], time.Now())
	time.Sleep(6*time.Second - time.Since(down))
	if err := cams["cam-b"].Start(); err != nil {
		t.Fatal(err)
	}
	up := time.Now()
	back := until(t, "cam-b connected again", 10*time.Second, func() bool { return listHTTP(t, a.api)["cam-b"].Status == fleet.StatusConnected })
	t.Logf("cam-b down %s, reading again %s after its server came back", up.Sub(down).Round(time.Millisecond), back.Round(time.Millisecond))

	// Remove cam-c with nothing in flight: every frame it served was read.
	cams["cam-c"].Paused.Store(true)
	time.Sleep(300 * time.Millisecond)
	if r := run(t, dir, "cameras", "remove", "cam-c"); r.code != 0 {
		t.Fatalf("cameras remove: %s", r.stderr)
	}
	until(t, "cam-c's reader stopped", 10*time.Second, func() bool { return cams["cam-c"].Clients() == 0 })
	until(t, "cam-c gone from the list", 5*time.Second, func() bool {
		_, inCLI := listCLI(t, dir)["cam-c"]
		_, inAPI := listHTTP(t, a.api)["cam-c"]
		return !inCLI && !inAPI
	})
	if r := run(t, dir, "cameras", "remove", "cam-c"); r.code == 0 {
		t.Fatal("removing a camera that is not registered succeeded")
	}

	// A fourth camera over the HTTP API.
	body := fmt.Sprintf(`{"id":"cam-d","url":%q,"field":"F1","block":"B2"}`, cams["cam-d"].URL())
	resp, err := http.Post("http://"+a.api+"/cameras", "application/json", bytes.NewBufferString(body))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /cameras: %v %v", resp, err)
	}
	resp.Body.Close()
	until(t, "cam-d connected", 15*time.Second, func() bool { return listCLI(t, dir)["cam-d"].Status == fleet.StatusConnected })

	// Counts: pause every camera so nothing is in flight, then compare.
	for _, s := range cams {
		s.Paused.Store(true)
	}
	time.Sleep(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn := openData(t, dir)
	got, err := fleettest.ReadIngested(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	for id, s := range cams {
		n := 0
		if got[id] != nil {
			n = len(got[id].Numbers)
		}
		if int64(n) != s.Served() {
			t.Errorf("camera %s: %d frames ingested, %d served", id, n, s.Served())
		}
	}
	for _, at := range got["cam-b"].Captured {
		if at.After(down.Add(100*time.Millisecond)) && at.Before(up) {
			t.Errorf("cam-b frame captured at %s, inside its outage", at.Format(time.StampMilli))
		}
	}
	t.Logf("ingested: cam-a %d, cam-b %d (6 s down), cam-c %d (removed), cam-d %d (added later)",
		len(got["cam-a"].Numbers), len(got["cam-b"].Numbers), len(got["cam-c"].Numbers), len(got["cam-d"].Numbers))
	if t.Failed() {
		return
	}
	for _, s := range cams {
		s.Paused.Store(false)
	}

	// A second instance; then SIGKILL whichever holds cameras.
	b := startIngest(t, dir, "ingest-b")
	time.Sleep(8 * time.Second) // let the group settle with both
	held := map[string][]string{}
	for id, e := range listHTTP(t, b.api) {
		if e.Status == fleet.StatusConnected {
			held[e.State.Instance] = append(held[e.State.Instance], id)
		}
	}
	victim, survivor := a, b
	if len(held["ingest-a"]) == 0 {
		victim, survivor = b, a
	}
	moved := held[victim.name]
	t.Logf("cameras held: %v; killing %s", held, victim.name)
	killed(victim.cmd)
	killedAt := time.Now()
	took := until(t, "the killed instance's cameras read by the other", 15*time.Second, func() bool {
		l := listHTTP(t, survivor.api)
		for _, id := range moved {
			if e := l[id]; e.Status != fleet.StatusConnected || e.State.Instance != survivor.name || e.State.LastFrame.Before(killedAt) {
				return false
			}
		}
		return true
	})
	t.Logf("%v moved from %s to %s in %s", moved, victim.name, survivor.name, took.Round(time.Millisecond))
	// A reader that has just taken a camera over reports its frame rate from
	// its first frames: give it a few seconds to settle before asserting it.
	for _, id := range []string{"cam-a", "cam-b", "cam-d"} {
		var e fleet.Entry
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		mjpegtest.Wait(ctx, func() bool {
			e = listCLI(t, dir)[id]
			return e.State != nil && e.State.FPS >= 5 && e.State.FPS <= 15
		})
		cancel()
		checkConnected(t, "cameras list after the kill", e, time.Now())
	}
	// No frame read twice across the move (ReadIngested fails on one), and
	// at most what was in flight in the killed process is lost.
	for _, s := range cams {
		s.Paused.Store(true)
	}
	time.Sleep(time.Second)
	if got, err = fleettest.ReadIngested(ctx, conn); err != nil {
		t.Fatal(err)
	}
	for _, id := range moved {
		lost := cams[id].Served() - int64(len(got[id].Numbers))
		t.Logf("camera %s: %d served, %d ingested", id, cams[id].Served(), len(got[id].Numbers))
		if lost < 0 || lost > 5 {
			t.Errorf("camera %s: %d frames lost in the kill, want 0..5 (in flight)", id, lost)
		}
	}
}
