package clickhouse

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
)

// LineCount is the crossings of one camera's line in one direction, of one
// class.
type LineCount struct {
	Camera    string `json:"camera_id"`
	Line      string `json:"line"`
	Direction string `json:"direction"`
	Class     string `json:"class_name"`
	Crossings uint64 `json:"crossings"`
}

// LineCounts are the crossings stored in line_crossings per camera, line,
// direction and class, of camera only when it is not empty; uniqExact of
// the crossing ids, so a replay stored twice counts once.
func (s *Store) LineCounts(ctx context.Context, camera string) ([]LineCount, error) {
	q := "SELECT camera_id, line, direction, class_name, uniqExact(crossing_id) FROM " + quote(s.cfg.Database) +
		".line_crossings WHERE camera_id = ? OR ? = '' GROUP BY camera_id, line, direction, class_name ORDER BY camera_id, line, direction, class_name"
	rows, err := s.conn.Query(ctx, q, camera, camera)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: line counts: %w", err)
	}
	defer rows.Close()
	var out []LineCount
	for rows.Next() {
		var c LineCount
		if err := rows.Scan(&c.Camera, &c.Line, &c.Direction, &c.Class, &c.Crossings); err != nil {
			return nil, fmt.Errorf("clickhouse: line counts: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// WriteLineCounts prints one line per camera, line, direction and class.
func WriteLineCounts(w io.Writer, rows []LineCount) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CAMERA\tLINE\tDIRECTION\tCLASS\tCROSSINGS")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", r.Camera, r.Line, r.Direction, r.Class, r.Crossings)
	}
	return tw.Flush()
}
