package ingest

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/ingest/videotest"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// liveOf is a source that says it is live (a camera filming now).
type liveOf struct{ Source }

func (s liveOf) Info() SourceInfo {
	i := s.Source.Info()
	i.Live = true
	return i
}

// A live source's frames, end included, go to the live lane's topic and a
// recorded one's to the backfill lane's, unless the config names the lane.
func TestIngestLane(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.avi")
	videotest.Write(t, path, 3, 10, 160, 120)
	for _, c := range []struct {
		name string
		live bool
		lane topology.Lane
		want topology.Topic
	}{
		{"recorded", false, "", topology.Frames},
		{"live", true, "", topology.FramesLive},
		{"live as backfill", true, topology.Backfill, topology.Frames},
		{"recorded as live", false, topology.Live, topology.FramesLive},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, top := brokertest.Open(t, topology.Config{CameraPartitions: 2, BlockPartitions: 1, DLQPartitions: 1, MaxFrameBytes: 1 << 20})
			e := &env{conn: conn, top: top}
			var src Source
			src, err := OpenVideo(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			if c.live {
				src = liveOf{src}
			}
			if _, err := e.ingest(t, Config{CameraID: "cam", Lane: c.lane}, src); err != nil {
				t.Fatal(err)
			}
			other := topology.Frames
			if c.want == topology.Frames {
				other = topology.FramesLive
			}
			recs := e.readAll(t, c.want, 4)
			if len(recs) != 4 {
				t.Fatalf("%s holds %d records, want 3 frames and the end", c.want, len(recs))
			}
			if last, err := schema.DecodeFrame(recs[3].Value); err != nil || !last.EndOfStream {
				t.Fatalf("last record of %s: %v, end %v", c.want, err, last.GetEndOfStream())
			}
			if n := len(e.readAll(t, other, -1)); n != 0 {
				t.Fatalf("%s holds %d records, want none", other, n)
			}
		})
	}
	conn, top := brokertest.Open(t, topology.Config{CameraPartitions: 1, BlockPartitions: 1, DLQPartitions: 1})
	cl, err := conn.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := New(Config{CameraID: "cam", Lane: "bulk"}, cl, top); err == nil || !strings.Contains(err.Error(), "want live or backfill") {
		t.Fatalf("lane bulk: %v", err)
	}
}
