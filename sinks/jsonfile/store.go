// Package jsonfile stores the analytics tables as JSONEachRow files, one per
// table and hour, when no ClickHouse is configured; they load into
// ClickHouse unchanged (see docs/analytics.md).
package jsonfile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/cropstream/cropstream/sinks"
)

// Store writes DIR/<table>/<YYYYMMDD-HH>.json. Each insert is appended and
// fsynced, then the file's committed length is recorded in
// DIR/<table>/committed; on start a file longer than that (a crash
// mid-append) is cut back, so an insert is all or nothing, as in ClickHouse.
type Store struct {
	dir string
	now func() time.Time
	mu  sync.Mutex
}

var _ sinks.Store = (*Store)(nil)

// Open uses dir, creating it.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("jsonfile: %w", err)
	}
	return &Store{dir: dir, now: time.Now}, nil
}

// Dir is where the files are.
func (s *Store) Dir() string { return s.dir }

type committed struct {
	File string `json:"file"`
	Size int64  `json:"size"`
}

func (s *Store) tableDir(t *sinks.Table) string { return filepath.Join(s.dir, t.Name) }

// Prepare creates each table's directory and cuts back a torn append.
func (s *Store) Prepare(_ context.Context, tables []*sinks.Table) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range tables {
		if err := os.MkdirAll(s.tableDir(t), 0o755); err != nil {
			return fmt.Errorf("jsonfile: %w", err)
		}
		c, err := s.readCommitted(t)
		if err != nil || c.File == "" {
			continue
		}
		p := filepath.Join(s.tableDir(t), c.File)
		if st, err := os.Stat(p); err == nil && st.Size() > c.Size {
			if err := os.Truncate(p, c.Size); err != nil {
				return fmt.Errorf("jsonfile: repair %s: %w", p, err)
			}
		}
	}
	return nil
}

func (s *Store) readCommitted(t *sinks.Table) (committed, error) {
	var c committed
	b, err := os.ReadFile(filepath.Join(s.tableDir(t), "committed"))
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("jsonfile: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("jsonfile: %s/committed: %w", t.Name, err)
	}
	return c, nil
}

// Files lists a table's data files in time order.
func (s *Store) Files(t *sinks.Table) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(s.tableDir(t), "*.json"))
	slices.Sort(m)
	return m, err
}

// Resume scans the table's files for the highest offset per partition.
func (s *Store) Resume(_ context.Context, t *sinks.Table) (map[int32]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	files, err := s.Files(t)
	if err != nil {
		return nil, fmt.Errorf("jsonfile: %w", err)
	}
	have := map[int32]int64{}
	for _, f := range files {
		if err := scanOffsets(f, have); err != nil {
			return nil, err
		}
	}
	return have, nil
}

func scanOffsets(path string, have map[int32]int64) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("jsonfile: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		var r struct {
			P int32 `json:"kafka_partition"`
			O int64 `json:"kafka_offset"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return fmt.Errorf("jsonfile: %s line %d: %w", path, line, err)
		}
		if o, ok := have[r.P]; !ok || r.O > o {
			have[r.P] = r.O
		}
	}
	return sc.Err()
}

// Insert appends the rows to the current hour's file.
func (s *Store) Insert(_ context.Context, t *sinks.Table, rows []sinks.Row) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var buf bytes.Buffer
	for _, r := range rows {
		if err := encodeRow(&buf, t, r); err != nil {
			return fmt.Errorf("jsonfile: %s: %w", t.Name, err)
		}
	}
	name := s.now().UTC().Format("20060102-15") + ".json"
	p := filepath.Join(s.tableDir(t), name)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("jsonfile: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("jsonfile: append %s: %w", p, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("jsonfile: sync %s: %w", p, err)
	}
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("jsonfile: %w", err)
	}
	c, _ := json.Marshal(committed{File: name, Size: st.Size()})
	tmp := filepath.Join(s.tableDir(t), "committed.tmp")
	if err := os.WriteFile(tmp, c, 0o644); err != nil {
		return fmt.Errorf("jsonfile: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(s.tableDir(t), "committed")); err != nil {
		return fmt.Errorf("jsonfile: %w", err)
	}
	return nil
}

// encodeRow writes one JSONEachRow line. DateTime goes as Unix seconds,
// which ClickHouse reads regardless of the server's time zone.
func encodeRow(w *bytes.Buffer, t *sinks.Table, r sinks.Row) error {
	w.WriteByte('{')
	for i, c := range t.Columns {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString(strconv.Quote(c.Name))
		w.WriteByte(':')
		switch v := r[i].(type) {
		case time.Time:
			w.WriteString(strconv.FormatInt(v.Unix(), 10))
		case *float64:
			if v == nil {
				w.WriteString("null")
			} else {
				w.WriteString(strconv.FormatFloat(*v, 'g', -1, 64))
			}
		case string:
			b, err := json.Marshal(v)
			if err != nil {
				return err
			}
			w.Write(b)
		default:
			b, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("column %s: %w", c.Name, err)
			}
			w.Write(b)
		}
	}
	w.WriteString("}\n")
	return nil
}

// Close does nothing: every insert is already on disk.
func (s *Store) Close() error { return nil }
