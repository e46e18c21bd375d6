package fleet

import (
	"strings"
	"testing"
	"time"
)

// A camera's listed status: its reader's, pending before any report or when
// the report is of an earlier registration, stale when reports stopped
// (except for the final ended and failed).
func TestEntriesStatus(t *testing.T) {
	now := time.Now()
	v := NewView()
	for _, c := range []Camera{
		{ID: "new", AddedUnixNs: 2}, {ID: "live", AddedUnixNs: 1}, {ID: "dead", AddedUnixNs: 1},
		{ID: "done", AddedUnixNs: 1}, {ID: "readded", AddedUnixNs: 5},
	} {
		v.Cameras[c.ID] = c
	}
	v.States["live"] = State{Generation: 1, Status: StatusConnected, Updated: now.Add(-time.Second)}
	v.States["dead"] = State{Generation: 1, Status: StatusConnected, Updated: now.Add(-StaleAfter - time.Second)}
	v.States["done"] = State{Generation: 1, Status: StatusEnded, Updated: now.Add(-time.Hour)}
	v.States["readded"] = State{Generation: 4, Status: StatusReconnecting, Updated: now}
	v.States["removed"] = State{Generation: 1, Status: StatusConnected, Updated: now}
	want := map[string]string{"new": StatusPending, "live": StatusConnected, "dead": StatusStale, "done": StatusEnded, "readded": StatusPending}
	es := v.Entries(now)
	if len(es) != len(want) {
		t.Fatalf("%d entries, want %d (a state without a camera is not listed)", len(es), len(want))
	}
	for i, e := range es {
		if i > 0 && es[i-1].Camera.ID >= e.Camera.ID {
			t.Fatalf("not sorted by id: %s after %s", e.Camera.ID, es[i-1].Camera.ID)
		}
		if e.Status != want[e.Camera.ID] {
			t.Errorf("camera %s: %s, want %s", e.Camera.ID, e.Status, want[e.Camera.ID])
		}
		if (e.State == nil) != (e.Status == StatusPending) {
			t.Errorf("camera %s: state %v with status %s", e.Camera.ID, e.State, e.Status)
		}
	}
}

func TestCameraRecordRules(t *testing.T) {
	for _, c := range []struct {
		cam  Camera
		want string
	}{
		{Camera{ID: "a", URL: "rtsp://h/s", Field: "F"}, ""},
		{Camera{ID: "a b", URL: "rtsp://h/s", Field: "F"}, "id"},
		{Camera{ID: "a", URL: "rtsp://h/s"}, "field is required"},
		{Camera{ID: "a", URL: "http://h/s", Field: "F", Transport: "udp"}, "for rtsp cameras only"},
		{Camera{ID: "a", URL: "rtsp://h/s", Field: "F", Transport: "sctp"}, "transport"},
		{Camera{ID: "a", URL: "x", Field: "F", Kind: "webcam"}, "kind"},
		{Camera{ID: "a", URL: "x", Field: "F", FPS: -1}, "fps"},
		{Camera{ID: "a", URL: "/srv/up", Field: "F", Lane: "backfill"}, ""},
		{Camera{ID: "a", URL: "/srv/up", Field: "F", Lane: "bulk"}, "want live or backfill"},
	} {
		cam := c.cam
		cam.Normalize(time.Now())
		err := cam.Validate()
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.cam, err, c.want)
		}
	}
	for url, kind := range map[string]string{"rtsp://h/s": KindRTSP, "https://h/m.mjpg": KindMJPEG, "rtmp://h/l": KindOpenCV, "/srv/up": KindFile, "file:///srv/v.mp4": KindFile} {
		if k := KindFor(url); k != kind {
			t.Errorf("KindFor(%s) = %s, want %s", url, k, kind)
		}
	}
}
