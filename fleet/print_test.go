package fleet

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestWriteEntries(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	long := strings.Repeat("x", 100)
	entries := []Entry{
		{Camera: Camera{ID: "cam-1", Kind: "rtsp", Field: "F1", Block: "B1"}, Status: StatusReconnecting,
			State: &State{ConnectedSince: now.Add(-time.Hour), ReconnectingSince: now.Add(-1500 * time.Millisecond), LastError: long}},
		{Camera: Camera{ID: "cam-2", Kind: "file", Field: "F1"}, Status: StatusPending},
	}
	var b bytes.Buffer
	if err := WriteEntries(&b, entries, now); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "CAMERA") {
		t.Fatalf("table:\n%s", b.String())
	}
	if !strings.Contains(lines[1], "1.5s ago") || !strings.Contains(lines[1], strings.Repeat("x", 77)+"...") || strings.Contains(lines[1], strings.Repeat("x", 78)) {
		t.Errorf("reconnecting camera: want its reconnecting age and the error cut to 80 characters:\n%s", lines[1])
	}
	if f := strings.Fields(lines[2]); len(f) != 12 || f[3] != "-" || f[11] != "-" {
		t.Errorf("pending camera without a state: want dashes in empty cells: %q", f)
	}
}
