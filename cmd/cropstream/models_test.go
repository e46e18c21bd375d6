package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/ingest/videotest"
	"github.com/cropstream/cropstream/processors/detect"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// A second model is deployed through the CLI to a running detect stage
// while cameras keep sending frames, then a corrupt file. Every frame is
// detected exactly once; in each partition the records carry the first
// model's id up to the switch and the second's after it; the corrupt file
// is refused with its reason and the second model serves on.
func TestDeployModelWhileFramesFlow(t *testing.T) {
	dir, conn := brokerDir(t)
	shipped, err := os.ReadFile(shippedModel())
	if err != nil {
		t.Fatal(err)
	}
	// The second model is the same bytes under another version: its id
	// differs by version alone, so the ids, not the boxes, show the switch.
	for name, data := range map[string][]byte{"cropnet.onnx": shipped, "cropnet-v2.onnx": shipped,
		"broken.onnx": append(append([]byte(nil), shipped[:4096]...), bytes.Repeat([]byte{0xA5}, 4096)...)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	videotest.Write(t, filepath.Join(dir, "v.avi"), 24, 10, 320, 240)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var log syncBuffer
	det := exec.CommandContext(ctx, bin, "run", "--stages", "detect", "--model", "cropnet.onnx", "--idle-gap", "0")
	det.Dir, det.Stdout, det.Stderr = dir, &log, &log
	det.Cancel = func() error { return det.Process.Signal(os.Interrupt) }
	if err := det.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); det.Wait() })

	cams := 0
	ingest := func(n int) {
		t.Helper()
		for range n {
			cam := fmt.Sprintf("cam-%02d", cams)
			cams++
			if r := run(t, dir, "ingest", "--video", "v.avi", "--camera", cam, "--block", "B1"); r.code != 0 {
				t.Fatalf("ingest %s: %s", cam, r.stderr)
			}
		}
	}
	detections := func() []*kgo.Record {
		t.Helper()
		return brokertest.ReadAll(t, conn, topology.Detections)
	}
	idOf := func(r *kgo.Record) string {
		d, err := schema.DecodeDetections(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		return d.ModelId
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(120 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("after 120 s: %s\ndetect's log:\n%s", what, log.String())
			}
			ingest(1) // frames keep flowing while we wait
		}
	}

	ingest(2)
	r := run(t, dir, "model", "deploy", "cropnet-v2.onnx", "--name", "cropnet", "--version", "2")
	if r.code != 0 {
		t.Fatalf("deploy: %s", r.stderr)
	}
	v2 := strings.Fields(r.stdout)[1]
	if !strings.HasPrefix(v2, "cropnet@2+sha256:") {
		t.Fatalf("deploy printed %q, want the id cropnet@2+sha256:...", r.stdout)
	}
	waitFor("no detections from the deployed model", func() bool {
		for _, rec := range detections() {
			if idOf(rec) == v2 {
				return true
			}
		}
		return false
	})
	ingest(2)

	if r := run(t, dir, "model", "deploy", "broken.onnx", "--name", "cropnet", "--version", "3"); r.code != 0 {
		t.Fatalf("deploy of the broken file: %s", r.stderr)
	}
	var reason string
	waitFor("no refusal of the broken model", func() bool {
		recs := brokertest.ReadAll(t, conn, topology.DLQ)
		for _, rec := range recs {
			if d, err := schema.DecodeDeadLetter(rec.Value); err == nil && d.Stage == detect.ModelStage {
				reason = d.Reason
				return true
			}
		}
		return false
	})
	if !strings.Contains(reason, "cropnet@3") || !strings.Contains(reason, "probe") {
		t.Errorf("refusal reason %q: want the model id and what failed", reason)
	}
	ingest(2)

	// Everything ingested is detected: read the frames and wait for them all.
	frames := brokertest.ReadAll(t, conn, topology.Frames)
	var recs []*kgo.Record
	deadline := time.Now().Add(120 * time.Second)
	for recs = detections(); len(recs) < len(frames); recs = detections() {
		if time.Now().After(deadline) {
			t.Fatalf("%d detections records for %d frames\n%s", len(recs), len(frames), log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	want := map[string]bool{}
	for _, f := range frames {
		fr, err := schema.DecodeFrame(f.Value)
		if err != nil {
			t.Fatal(err)
		}
		want[fmt.Sprintf("%s/%d", fr.CameraId, fr.Sequence)] = true
	}
	seen := map[string]bool{}
	v1 := ""
	switched := map[int32]bool{}
	ids := map[string]int{}
	for _, rec := range recs {
		d, err := schema.DecodeDetections(rec.Value)
		if err != nil {
			t.Fatal(err)
		}
		k := fmt.Sprintf("%s/%d", d.CameraId, d.Sequence)
		if seen[k] {
			t.Errorf("frame %s detected twice", k)
		}
		seen[k] = true
		if !want[k] {
			t.Errorf("detections of frame %s, which was never ingested", k)
		}
		ids[d.ModelId]++
		switch {
		case d.ModelId == v2:
			switched[rec.Partition] = true
		case switched[rec.Partition]:
			t.Errorf("partition %d offset %d: model %s after the switch to %s", rec.Partition, rec.Offset, d.ModelId, v2)
		case v1 == "":
			v1 = d.ModelId
		case d.ModelId != v1:
			t.Errorf("partition %d offset %d: model %s before the switch, want %s", rec.Partition, rec.Offset, d.ModelId, v1)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%d frames detected of %d ingested", len(seen), len(want))
	}
	if !strings.HasPrefix(v1, "cropnet@unversioned+sha256:") || v1[len(v1)-12:] != v2[len(v2)-12:] || ids[v1] == 0 || ids[v2] == 0 || len(ids) != 2 {
		t.Errorf("models in detections %v: want the started one (%s) then %s, same hash, nothing else", ids, v1, v2)
	}
	l := log.String()
	if !strings.Contains(l, "model switched") || !strings.Contains(l, "model deployment refused") {
		t.Errorf("detect's log does not report the switch and the refusal:\n%s", l)
	}
	t.Logf("%d frames from %d cameras: %v", len(seen), cams, ids)

	// The same file as a shadow on every frame: model compare reports full
	// agreement with the serving model.
	if r := run(t, dir, "model", "deploy", "cropnet-v2.onnx", "--name", "cropnet", "--version", "shadow", "--shadow"); r.code != 0 {
		t.Fatalf("deploy --shadow: %s", r.stderr)
	}
	var (
		cmp   result
		lines []string
		all   []string
	)
	// Until some shadow frame has met its serving record: under load the
	// first shadow records can come before the serving ones they pair with.
	waitFor("no shadow frames compared", func() bool {
		cmp = run(t, dir, "model", "compare")
		lines, all = strings.Split(strings.TrimSpace(cmp.stdout), "\n"), nil
		for _, l := range lines {
			if f := strings.Fields(l); len(f) == 9 && f[0] == "all" {
				all = f
			}
		}
		return cmp.code == 0 && all != nil && all[1] != "0"
	})
	if !strings.Contains(lines[0], "shadow cropnet@shadow+sha256:") || all == nil || all[5] != "1.000" || all[6] != "1.000" || all[2] != all[3] {
		t.Errorf("model compare on identical models:\n%s", cmp.stdout)
	}
	if r := run(t, dir, "model", "stop", "--shadow"); r.code != 0 || !strings.Contains(r.stdout, "stopped the shadow") {
		t.Errorf("model stop --shadow: %s%s", r.stdout, r.stderr)
	}
	t.Logf("model compare:\n%s", cmp.stdout)
}
