package fleet

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteEntries prints the cameras as a table, times as ages at now, long
// errors cut to 80 characters and empty cells as "-".
func WriteEntries(w io.Writer, entries []Entry, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CAMERA\tKIND\tFIELD\tBLOCK\tROW\tSTATUS\tSINCE\tFPS\tFRAMES\tLAST FRAME\tINSTANCE\tLAST ERROR")
	ago := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return now.Sub(t).Round(100*time.Millisecond).String() + " ago"
	}
	for _, e := range entries {
		c, st := e.Camera, e.State
		if st == nil {
			st = &State{}
		}
		since := st.ConnectedSince
		if e.Status == StatusReconnecting {
			since = st.ReconnectingSince
		}
		errText := st.LastError
		if len(errText) > 80 {
			errText = errText[:77] + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t%d\t%s\t%s\t%s\n", c.ID, c.Kind, c.Field, dash(c.Block), dash(c.Row),
			e.Status, ago(since), st.FPS, st.Frames, ago(st.LastFrame), dash(st.Instance), dash(errText))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
