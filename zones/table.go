package zones

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/topology"
)

// Table is the count lines in force, kept up to date from the count-lines
// topic by Run, for the track stage to look a camera's lines up per frame.
type Table struct {
	mu    sync.RWMutex
	lines map[string][]Line
	ready chan struct{}
	once  sync.Once
}

// NewTable makes an empty table; Run fills it.
func NewTable() *Table {
	return &Table{lines: map[string][]Line{}, ready: make(chan struct{})}
}

// Get is the camera's lines, nil when it has none. The slice is shared:
// callers must not change it.
func (t *Table) Get(camera string) []Line {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.lines[camera]
}

// Ready is closed once the table holds what the topic held when Run started.
func (t *Table) Ready() <-chan struct{} { return t.ready }

// Run reads the count-lines topic from its start and follows it until ctx
// ends. Records that do not decode are skipped with a warning (the topic
// accepts hand-written records; the CLI checks before it writes).
func (t *Table) Run(ctx context.Context, conn *broker.Conn) error {
	return broker.Follow(ctx, conn, topology.CountLines, t.apply, func() { t.once.Do(func() { close(t.ready) }) })
}

func (t *Table) apply(r *kgo.Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := string(r.Key)
	if r.Value == nil {
		delete(t.lines, key)
		return
	}
	c, err := Decode(r.Value)
	if err == nil && c.Camera != key {
		err = fmt.Errorf("record of camera %q keyed %q", c.Camera, key)
	}
	if err != nil {
		slog.Warn("count lines: record skipped", "key", key, "offset", r.Offset, "err", err)
		return
	}
	if len(c.Lines) == 0 {
		delete(t.lines, key)
		return
	}
	t.lines[key] = c.Lines
}

// Set publishes a camera's lines (checked first), replacing any it had, and
// waits for the broker's acknowledgement. No lines removes them (a
// tombstone).
func Set(ctx context.Context, conn *broker.Conn, c CameraLines) (CameraLines, error) {
	if c.UpdatedUnixNs == 0 {
		c.UpdatedUnixNs = time.Now().UnixNano()
	}
	if err := c.Validate(); err != nil {
		return CameraLines{}, err
	}
	rec := &kgo.Record{Topic: string(topology.CountLines), Key: []byte(c.Camera)}
	if len(c.Lines) > 0 {
		val, err := Encode(c)
		if err != nil {
			return CameraLines{}, err
		}
		rec.Value = val
	}
	cl, err := conn.Client()
	if err != nil {
		return CameraLines{}, err
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return CameraLines{}, fmt.Errorf("set count lines of %s: %w", c.Camera, err)
	}
	return c, nil
}

// Read is every camera's lines in force now, by camera.
func Read(ctx context.Context, conn *broker.Conn) (map[string]CameraLines, error) {
	recs, err := broker.ReadAll(ctx, conn, topology.CountLines, time.Second)
	if err != nil {
		return nil, err
	}
	out := map[string]CameraLines{}
	for _, r := range recs {
		c, err := Decode(r.Value)
		switch {
		case r.Value == nil || (err == nil && len(c.Lines) == 0):
			delete(out, string(r.Key))
		case err == nil && c.Camera == string(r.Key):
			out[c.Camera] = c
		default:
			slog.Warn("count lines: record skipped", "key", string(r.Key), "offset", r.Offset, "err", err)
		}
	}
	return out, nil
}

// Write prints one line per camera line, by camera and name.
func Write(w io.Writer, all map[string]CameraLines) error {
	cams := make([]string, 0, len(all))
	for c := range all {
		cams = append(cams, c)
	}
	sort.Strings(cams)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CAMERA\tLINE\tFROM\tTO\tBAND\tUPDATED")
	for _, cam := range cams {
		c := all[cam]
		for _, l := range c.Lines {
			band := l.Band
			if band == 0 {
				band = DefaultBand
			}
			fmt.Fprintf(tw, "%s\t%s\t%g,%g\t%g,%g\t%g\t%s\n", cam, l.Name, l.A.X, l.A.Y, l.B.X, l.B.Y, band,
				time.Unix(0, c.UpdatedUnixNs).UTC().Format(time.RFC3339))
		}
	}
	return tw.Flush()
}
