package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/evaluation"
	"github.com/cropstream/cropstream/pipeline"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/simulator"
	"github.com/cropstream/cropstream/topology"
)

// TestAttachShowsPipeline runs the track and aggregate stages on a camera's
// detections (a perfect detector on a small simulated row) beside its
// frames, with a page open: the page gets panels of frames paired with the
// track state of the same frame, the block's count, and the API answers the
// same count from the tables.
func TestAttachShowsPipeline(t *testing.T) {
	conn, _ := brokertest.Open(t, topology.Config{CameraPartitions: 2, BlockPartitions: 2, DLQPartitions: 1})
	sc, err := simulator.Load("default")
	if err != nil {
		t.Fatal(err)
	}
	sc.Rows, sc.PlantsPerRow = 1, 3
	sc.Camera.Width, sc.Camera.Height = 640, 360
	dets, err := evaluation.TruthDetections(sc, "cam-1", 0.25)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := pipeline.New(pipeline.Config{Stages: []string{pipeline.StageTrack, pipeline.StageAggregate}}, conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	plDone := make(chan error, 1)
	go func() { plDone <- pl.Run(ctx) }()

	srv, err := New(Config{Addr: "127.0.0.1:0", MaxFPS: 50})
	if err != nil {
		t.Fatal(err)
	}
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Run(ctx) }()
	detach, err := srv.Attach(ctx, Source{Conn: conn, Pipeline: pl})
	if err != nil {
		t.Fatal(err)
	}
	page := srv.hub.subscribe() // a page opens: the feed starts
	defer srv.hub.unsubscribe(page)

	cl, err := conn.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for _, d := range dets {
		if !d.EndOfStream {
			f := &schema.Frame{FrameId: fmt.Sprintf("f%d", d.Sequence), CameraId: d.CameraId, FieldId: d.FieldId, BlockId: d.BlockId,
				RowId: d.RowId, Sequence: d.Sequence, CaptureUnixNs: d.CaptureUnixNs, Width: d.Width, Height: d.Height,
				Encoding: schema.Encoding_ENCODING_JPEG, Image: []byte(fmt.Sprintf("jpeg-%d", d.Sequence))}
			fv, err := schema.Encode(f)
			if err != nil {
				t.Fatal(err)
			}
			// A live camera's: the page reads both lanes' frames alike.
			recs = append(recs, &kgo.Record{Topic: string(topology.FramesLive), Key: []byte(d.CameraId), Value: fv})
		}
		dv, err := schema.Encode(d)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: string(topology.Detections), Key: []byte(d.CameraId), Value: dv})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	var (
		withTracks int
		blocks     []blockPanel
		lastSeq    uint64
	)
	deadline := time.Now().Add(60 * time.Second)
	for (withTracks == 0 || len(blocks) == 0 || !blocks[0].Final) && time.Now().Before(deadline) {
		select {
		case <-page.notify:
		case <-time.After(time.Second):
		}
		for _, ev := range srv.hub.take(page) {
			switch ev.kind {
			case "camera":
				var p cameraPanel
				if err := json.Unmarshal(ev.data, &p); err != nil {
					t.Fatal(err)
				}
				// The page keeps the last few frames a camera published; one
				// read late here may have made room for newer ones.
				img, ok := srv.live.image(p.Camera, p.Seq)
				if ok && string(img) != fmt.Sprintf("jpeg-%d", p.Seq) || !ok && !srv.live.evicted(p.Camera, p.Seq) {
					t.Fatalf("panel of frame %d serves image %q", p.Seq, img)
				}
				if len(p.Tracks) > 0 && len(p.Dets) > 0 {
					withTracks++
				}
				if p.Seq < lastSeq {
					t.Fatalf("panel of frame %d after frame %d", p.Seq, lastSeq)
				}
				lastSeq = p.Seq
			case "blocks":
				if err := json.Unmarshal(ev.data, &blocks); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if withTracks == 0 || len(blocks) != 1 || !blocks[0].Final || blocks[0].Counted == 0 {
		t.Fatalf("%d camera panels with tracks; blocks %+v", withTracks, blocks)
	}

	rec := httptest.NewRecorder()
	srv.handler(make(chan struct{})).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/blocks/"+sc.Block, nil))
	var ans BlockAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("API: %d %s", rec.Code, rec.Body)
	}
	if ans.Counted != blocks[0].Counted || !ans.Final || ans.Estimate == nil || int(ans.Estimate.UnitsCounted) != ans.Counted {
		t.Errorf("API answers %+v, the page shows %d", ans, blocks[0].Counted)
	}
	detach()
	cancel()
	if err := <-plDone; err != nil && ctx.Err() == nil {
		t.Error(err)
	}
	if err := <-srvDone; err != nil {
		t.Error(err)
	}
	t.Logf("%d camera panels with tracks, last frame %d; block %s counted %d", withTracks, lastSeq, sc.Block, ans.Counted)
}

// evicted says whether the camera has since published as many newer frames
// as it keeps, so that frame seq is no longer served.
func (l *live) evicted(camID string, seq uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.cams[camID]
	if c == nil || len(c.pub) < published {
		return false
	}
	for _, f := range c.pub {
		if f.seq <= seq {
			return false
		}
	}
	return true
}
