package zones

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/topology"
)

// Table is the count lines in force, kept up to date from the count-lines
// topic by Run, for the track stage to look a camera's lines up per frame.
// Get is nil for a camera without lines; the slice is shared: callers must
// not change it. Records that do not decode are skipped with a warning (the
// topic accepts hand-written records; the CLI checks before it writes).
type Table struct {
	*broker.Table[[]Line]
}

// NewTable makes an empty table; Run fills it.
func NewTable() *Table {
	return &Table{broker.NewTable(topology.CountLines, func(key string, value []byte) ([]Line, error) {
		c, err := Decode(value)
		if err == nil && c.Camera != key {
			err = fmt.Errorf("count lines of camera %q keyed %q", c.Camera, key)
		}
		return c.Lines, err
	})}
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
	if err := broker.Produce(ctx, conn, rec); err != nil {
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

// WriteSet prints what Set of c did: each of its lines, or that the camera
// has none now.
func (c CameraLines) WriteSet(w io.Writer) error {
	if len(c.Lines) == 0 {
		_, err := fmt.Fprintf(w, "camera %s: count lines removed\n", c.Camera)
		return err
	}
	for _, l := range c.Lines {
		if _, err := fmt.Fprintf(w, "camera %s: line %s\n", c.Camera, l); err != nil {
			return err
		}
	}
	return nil
}
