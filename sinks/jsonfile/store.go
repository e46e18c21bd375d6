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

// Store writes DIR/<table>/<YYYYMMDD-HH>.json. DIR/<table>/committed names
// the file being appended to and its committed length; it is moved to a new
// file before the first byte is written there, so only that file can ever
// hold bytes past what is committed. Before every insert (so before every
// retry of a failed one), and on Prepare and Resume, that file is cut back
// to its committed length: an insert is all or nothing, as in ClickHouse,
// whether it failed half-written (a full disk) or the process died.
type Store struct {
	dir string
	now func() time.Time
	// write is where every byte goes, so tests can fill the disk.
	write func(f *os.File, b []byte) (int, error)
	mu    sync.Mutex
}

var _ sinks.Store = (*Store)(nil)

// Open uses dir, creating it.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("jsonfile: %w", err)
	}
	return &Store{dir: dir, now: time.Now, write: (*os.File).Write}, nil
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
		if _, err := s.repair(t); err != nil {
			return err
		}
	}
	return nil
}

// repair cuts the file being appended to back to its committed length and
// returns the commit record.
func (s *Store) repair(t *sinks.Table) (committed, error) {
	c, err := s.readCommitted(t)
	if err != nil || c.File == "" {
		return c, err
	}
	p := filepath.Join(s.tableDir(t), c.File)
	st, err := os.Stat(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// Moved away by an operator (after loading it, say): start it anew.
		c.Size = 0
	case err != nil:
		return c, fmt.Errorf("jsonfile: %w", err)
	case st.Size() < c.Size:
		// Shortened by hand: what is there is all there is.
		c.Size = st.Size()
	case st.Size() > c.Size:
		if err := os.Truncate(p, c.Size); err != nil {
			return c, fmt.Errorf("jsonfile: cut %s back to its committed %d bytes: %w", p, c.Size, err)
		}
	}
	return c, nil
}

// commit records c atomically (write a temporary file, rename it).
func (s *Store) commit(t *sinks.Table, c committed) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("jsonfile: %w", err)
	}
	tmp := filepath.Join(s.tableDir(t), "committed.tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("jsonfile: %w", err)
	}
	_, err = s.write(f, b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("jsonfile: record committed length of %s: %w", t.Name, err)
	}
	if err := os.Rename(tmp, filepath.Join(s.tableDir(t), "committed")); err != nil {
		return fmt.Errorf("jsonfile: %w", err)
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

// Resume scans the table's files for the highest offset per partition,
// after cutting back a torn append.
func (s *Store) Resume(_ context.Context, t *sinks.Table) (map[int32]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.repair(t); err != nil {
		return nil, err
	}
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

// Insert appends the rows to the current hour's file. A failed insert
// leaves nothing behind once the next one (or Prepare, or Resume) starts.
func (s *Store) Insert(_ context.Context, t *sinks.Table, rows *sinks.Block) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var buf bytes.Buffer
	for i := range rows.Len() {
		if err := encodeRow(&buf, t, rows.Row(i)); err != nil {
			return fmt.Errorf("jsonfile: %s: %w", t.Name, err)
		}
	}
	if _, err := os.Stat(s.tableDir(t)); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("jsonfile: %s: %w", s.tableDir(t), sinks.ErrStoreLost)
	}
	c, err := s.repair(t)
	if err != nil {
		return err
	}
	name := s.now().UTC().Format("20060102-15") + ".json"
	p := filepath.Join(s.tableDir(t), name)
	if c.File != name {
		// Only the committed file may hold a torn tail: move the record to
		// this file before writing to it. Every other file is whole.
		c = committed{File: name}
		if st, err := os.Stat(p); err == nil {
			c.Size = st.Size()
		} else if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("jsonfile: %w", err)
		}
		if err := s.commit(t, c); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("jsonfile: %w", err)
	}
	defer f.Close()
	_, err = s.write(f, buf.Bytes())
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		// Cut back now; if even that fails, the next insert does it.
		_ = f.Truncate(c.Size)
		return fmt.Errorf("jsonfile: append %d rows to %s: %w", rows.Len(), p, err)
	}
	return s.commit(t, committed{File: name, Size: c.Size + int64(buf.Len())})
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

// Ping checks the directory is still there and writable, for readiness (a
// full disk shows as refused inserts instead).
func (s *Store) Ping(context.Context) error {
	f, err := os.CreateTemp(s.dir, ".ping-*")
	if err != nil {
		return fmt.Errorf("jsonfile: %w", err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// Close does nothing: every insert is already on disk.
func (s *Store) Close() error { return nil }
