package topology

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestDefaultTopologyValid(t *testing.T) {
	top, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"frames", "frames-live", "detections", "track-table", "objects", "aggregate-table", "yield", "fields", "hand-counts", "models", "model-quality", "shadow-detections", "dlq", "cameras", "camera-state", "count-lines", "line-crossings"}
	if got := top.TopicNames(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("topics %v, want %v", got, want)
	}
	if top.Topic(Frames).MaxMessageBytes < DefaultMaxFrameBytes {
		t.Fatalf("frames max.message.bytes %d below max frame", top.Topic(Frames).MaxMessageBytes)
	}
}

func TestValidateRules(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Topology)
		want   string
	}{
		{"zero partitions", func(t *Topology) { t.Topics[0].Partitions = 0 }, "partitions 0"},
		{"duplicate", func(t *Topology) { t.Topics = append(t.Topics, t.Topics[0]) }, "declared twice"},
		{"not co-partitioned", func(t *Topology) { t.Topics[3].Partitions = 7 }, "not co-partitioned"},
		{"unknown input", func(t *Topology) { t.Groups[0].Inputs = []Topic{"nope"} }, "input nope is not declared"},
		{"compacted with retention", func(t *Topology) { t.Topics[3].RetentionMs = 1000 }, "keep data forever"},
		{"live frame limit", func(t *Topology) { t.Topics[1].MaxMessageBytes = 1000 }, "topic frames-live: max.message.bytes 1000 is below max frame bytes"},
		{"lookup not compacted", func(t *Topology) { t.Groups[1].Lookups = []Topic{Objects} }, "lookup objects is not a declared compacted topic"},
		{"bad cleanup", func(t *Topology) { t.Topics[0].Cleanup = "shred" }, "cleanup \"shred\""},
		{"frame limit", func(t *Topology) { t.Topics[0].MaxMessageBytes = 1000 }, "below max frame bytes"},
		{"small topic limit", func(t *Topology) { t.Topics[1].MaxMessageBytes = 1000 }, "which producers batch up to"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			top, err := New(Config{})
			if err != nil {
				t.Fatal(err)
			}
			c.mutate(top)
			err = top.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate() = %v, want error containing %q", err, c.want)
			}
		})
	}
}

func TestConfigChangesPartitions(t *testing.T) {
	top, err := New(Config{CameraPartitions: 6, BlockPartitions: 3})
	if err != nil {
		t.Fatal(err)
	}
	if p := top.Topic(Table(Track)).Partitions; p != 6 {
		t.Fatalf("track table partitions %d, want 6 (co-partitioned with detections)", p)
	}
	if p := top.Topic(Yield).Partitions; p != 3 {
		t.Fatalf("yield partitions %d, want 3", p)
	}
}

func TestJSONShape(t *testing.T) {
	top, _ := New(Config{})
	var buf bytes.Buffer
	if err := top.Write(&buf, "json"); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Topics []struct {
			Name       string `json:"name"`
			Partitions int    `json:"partitions"`
			Key        string `json:"key"`
			Codec      string `json:"codec"`
			Cleanup    string `json:"cleanup"`
		} `json:"topics"`
		Groups []struct {
			Name    string   `json:"name"`
			Inputs  []string `json:"inputs"`
			Outputs []string `json:"outputs"`
			Table   *string  `json:"table"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Topics[0].Name != "frames" || doc.Topics[0].Key != "camera" || doc.Topics[0].Cleanup != "delete" || doc.Topics[0].Partitions != 24 {
		t.Fatalf("first topic %+v", doc.Topics[0])
	}
	if doc.Groups[0].Name != "detect" || doc.Groups[0].Table != nil || doc.Groups[0].Inputs[0] != "frames" {
		t.Fatalf("detect group %+v", doc.Groups[0])
	}
	if doc.Groups[1].Table == nil || *doc.Groups[1].Table != "track-table" {
		t.Fatalf("track group table %v", doc.Groups[1].Table)
	}
	if !strings.Contains(buf.String(), `"table": null`) {
		t.Fatal("stateless group table should be null")
	}
}

func TestGraphFormats(t *testing.T) {
	top, _ := New(Config{})
	for _, f := range []string{"text", "dot", "mermaid"} {
		var buf bytes.Buffer
		if err := top.Write(&buf, f); err != nil {
			t.Fatal(f, err)
		}
		for _, name := range []string{"frames", "detect", "aggregate"} {
			if !strings.Contains(buf.String(), name) {
				t.Errorf("%s output lacks %s", f, name)
			}
		}
	}
	var buf bytes.Buffer
	top.Write(&buf, "dot")
	if !strings.Contains(buf.String(), "t_frames -> g_detect") || !strings.Contains(buf.String(), "g_track -> t_objects") {
		t.Errorf("dot lacks the frames->detect or track->objects edges:\n%s", buf.String())
	}
	if err := top.Write(&buf, "yaml"); err == nil {
		t.Fatal("unknown format accepted")
	}
}

// The stage that reads a topic dead-letters its undecodable records; the
// sink leaves them to it, except where no stage reads the topic.
func TestDeadLetteredBy(t *testing.T) {
	top, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[Topic]Group{Frames: Detect, FramesLive: Detect, Detections: Track, Objects: Aggregate, Yield: "", DLQ: ""} {
		g, ok := top.DeadLetteredBy(topic, SinkClickHouse)
		if g != want || ok != (want != "") {
			t.Errorf("%s: dead-lettered by %q (%v), want %q", topic, g, ok, want)
		}
	}
}

// Each lane has its frames topic, declared like the other, read by detect
// and stored by the sink; a lane's name is checked.
func TestLanes(t *testing.T) {
	top, err := New(Config{CameraPartitions: 6})
	if err != nil {
		t.Fatal(err)
	}
	if FramesOf(Live) != FramesLive || FramesOf(Backfill) != Frames {
		t.Fatalf("frames of live %s, of backfill %s", FramesOf(Live), FramesOf(Backfill))
	}
	live, back := top.Topic(FramesLive), top.Topic(Frames)
	if live.Partitions != 6 || live.Key != back.Key || live.Codec != back.Codec || live.MaxMessageBytes != back.MaxMessageBytes || live.RetentionMs != back.RetentionMs {
		t.Fatalf("frames-live %+v differs from frames %+v", live, back)
	}
	for _, g := range []Group{Detect, SinkClickHouse} {
		for _, l := range Lanes {
			if !slices.Contains(top.Group(g).Inputs, FramesOf(l)) {
				t.Errorf("group %s does not read %s", g, FramesOf(l))
			}
		}
	}
	for _, s := range []string{"live", "backfill"} {
		if l, err := ParseLane(s); err != nil || string(l) != s {
			t.Errorf("ParseLane(%q) = %q, %v", s, l, err)
		}
	}
	if _, err := ParseLane("bulk"); err == nil || !strings.Contains(err.Error(), "want live or backfill") {
		t.Errorf("ParseLane(bulk) = %v", err)
	}
}

func TestLaneFlag(t *testing.T) {
	var l Lane
	f := pflag.NewFlagSet("ingest", pflag.ContinueOnError)
	f.SetOutput(io.Discard)
	f.Var(&l, "lane", "live or backfill")
	if err := f.Parse([]string{"--lane", "live"}); err != nil || l != Live {
		t.Fatalf("--lane live: %q, %v", l, err)
	}
	if got := f.Lookup("lane").Value.String(); got != "live" {
		t.Fatalf("flag value %q, want live", got)
	}
	if err := f.Parse([]string{"--lane", "fast"}); err == nil || !strings.Contains(err.Error(), `lane "fast", want live or backfill`) {
		t.Fatalf("--lane fast: %v, want a refusal naming the lanes", err)
	}
}
