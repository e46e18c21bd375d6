package clickhouse

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/cropstream/cropstream/sinks"
)

// PasswordEnv holds the ClickHouse password; it is never a flag, so it
// stays out of process listings and shell history.
const PasswordEnv = "CROPSTREAM_CLICKHOUSE_PASSWORD"

// Config says where ClickHouse is.
type Config struct {
	// Addr is host:port of the native protocol (9000, or 9440 with TLS).
	Addr []string
	// Database holds the tables; created when missing. Default "cropstream".
	Database string
	User     string
	// Password; default $CROPSTREAM_CLICKHOUSE_PASSWORD.
	Password string
	TLS      bool
	// CAFile verifies the server with this CA instead of the system pool.
	CAFile             string
	InsecureSkipVerify bool
	DialTimeout        time.Duration
}

func (c Config) withDefaults() Config {
	c.Database = cmp.Or(c.Database, "cropstream")
	c.User = cmp.Or(c.User, "default")
	c.Password = cmp.Or(c.Password, os.Getenv(PasswordEnv))
	c.DialTimeout = cmp.Or(c.DialTimeout, 5*time.Second)
	return c
}

// Store is a sinks.Store in ClickHouse.
type Store struct {
	cfg  Config
	conn driver.Conn
}

var _ sinks.Store = (*Store)(nil)

// Open connects and checks the server answers with these credentials, so a
// wrong password or an unreachable server is reported at start, not at the
// first insert.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	if len(cfg.Addr) == 0 {
		return nil, errors.New("clickhouse: no address (--clickhouse host:9000)")
	}
	opts := &ch.Options{
		Addr:        cfg.Addr,
		Auth:        ch.Auth{Username: cfg.User, Password: cfg.Password},
		DialTimeout: cfg.DialTimeout,
		ReadTimeout: 5 * time.Minute,
		Compression: &ch.Compression{Method: ch.CompressionLZ4},
		ClientInfo:  ch.ClientInfo{Products: []struct{ Name, Version string }{{"cropstream", "1"}}},
	}
	if cfg.TLS {
		tc := &tls.Config{InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // operator's explicit choice
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("clickhouse: CA file: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("clickhouse: CA file %s holds no PEM certificate", cfg.CAFile)
			}
		}
		opts.TLS = tc
	}
	conn, err := ch.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", strings.Join(cfg.Addr, ","), err)
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout+2*time.Second)
	defer cancel()
	if err := conn.Ping(pctx); err != nil {
		conn.Close()
		return nil, explain(cfg, err)
	}
	return &Store{cfg: cfg, conn: conn}, nil
}

// explain turns a connection failure into something an operator can act on.
func explain(cfg Config, err error) error {
	var ex *ch.Exception
	addr := strings.Join(cfg.Addr, ",")
	switch {
	case errors.As(err, &ex) && (ex.Code == 516 || ex.Code == 193 || ex.Code == 192):
		return fmt.Errorf("clickhouse %s: user %q was refused (wrong password? it comes from $%s): %w", addr, cfg.User, PasswordEnv, err)
	case errors.As(err, &ex):
		return fmt.Errorf("clickhouse %s: %w", addr, err)
	default:
		return fmt.Errorf("clickhouse %s is unreachable (is the server running, and is this its native port, usually 9000?): %w", addr, err)
	}
}

// Conn is the underlying connection, for queries.
func (s *Store) Conn() driver.Conn { return s.conn }

// Database is the database holding the tables.
func (s *Store) Database() string { return s.cfg.Database }

// Prepare runs the migrations.
func (s *Store) Prepare(ctx context.Context, tables []*sinks.Table) error {
	_, err := s.Migrate(ctx)
	return err
}

// Resume reads the highest stored offset per source partition. A missing
// database or table is sinks.ErrStoreLost.
func (s *Store) Resume(ctx context.Context, t *sinks.Table) (map[int32]int64, error) {
	rows, err := s.conn.Query(ctx, fmt.Sprintf("SELECT kafka_partition, max(kafka_offset) FROM %s.%s GROUP BY kafka_partition", quote(s.cfg.Database), quote(t.Name)))
	if err != nil {
		return nil, fmt.Errorf("clickhouse: stored offsets of %s: %w", t.Name, lost(err))
	}
	defer rows.Close()
	have := map[int32]int64{}
	for rows.Next() {
		var p int32
		var o int64
		if err := rows.Scan(&p, &o); err != nil {
			return nil, fmt.Errorf("clickhouse: stored offsets of %s: %w", t.Name, err)
		}
		have[p] = o
	}
	return have, rows.Err()
}

// Insert sends the rows as one native-protocol block: one INSERT, one part,
// stored all or nothing. Each column goes to the driver as one typed slice:
// appending row by row would convert every value through an interface
// again. A missing database or table is sinks.ErrStoreLost.
func (s *Store) Insert(ctx context.Context, t *sinks.Table, rows *sinks.Block) error {
	return s.InsertBlocks(ctx, t, rows)
}

// InsertBlocks sends blocks one after another in one INSERT, as
// clickhouse-client sends a file: the server parses one while the next is
// on its way. Not all or nothing: a server of 18.16 stores the blocks it
// got of an insert whose connection is cut, even under a
// min_insert_block_size_rows above its rows. The sink therefore sends each
// insert as one block (Insert).
func (s *Store) InsertBlocks(ctx context.Context, t *sinks.Table, blocks ...*sinks.Block) error {
	b, err := s.batch(ctx, t, blocks...)
	if err != nil {
		return err
	}
	return b.Send()
}

// Stage opens the insert of rows and hands them to the driver, which
// converts them into its columns; the server stores nothing until Send,
// and nothing at all after Abort or a lost connection.
func (s *Store) Stage(ctx context.Context, t *sinks.Table, rows *sinks.Block) (sinks.Staged, error) {
	return s.batch(ctx, t, rows)
}

// staged is an insert whose rows the driver holds, not yet sent.
type staged struct {
	b     driver.Batch
	table *sinks.Table
	rows  *sinks.Block
	n     int
}

// Add hands rows from..to-1 of the block to the driver too.
func (st *staged) Add(from, to int) error {
	if err := appendColumns(st.b, st.table, st.rows, from, to); err != nil {
		return err
	}
	st.n += to - from
	return nil
}

func (st *staged) Send() error {
	if err := st.b.Send(); err != nil {
		return fmt.Errorf("clickhouse: insert %d rows into %s: %w", st.n, st.table.Name, lost(err))
	}
	return nil
}

func (st *staged) Abort() { _ = st.b.Abort() }

func (s *Store) batch(ctx context.Context, t *sinks.Table, blocks ...*sinks.Block) (*staged, error) {
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = quote(c.Name)
	}
	b, err := s.conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.%s (%s)", quote(s.cfg.Database), quote(t.Name), strings.Join(cols, ", ")))
	if err != nil {
		return nil, fmt.Errorf("clickhouse: insert into %s: %w", t.Name, lost(err))
	}
	n := 0
	for k, rows := range blocks {
		if err := appendColumns(b, t, rows, 0, rows.Len()); err != nil {
			return nil, err
		}
		n += rows.Len()
		if k < len(blocks)-1 {
			if err := b.Flush(); err != nil {
				_ = b.Abort()
				return nil, fmt.Errorf("clickhouse: insert %d rows into %s: %w", n, t.Name, lost(err))
			}
		}
	}
	return &staged{b: b, table: t, rows: blocks[len(blocks)-1], n: n}, nil
}

// appendColumns hands rows from..to-1 of rows to the driver, a column in one
// call each; an error aborts the insert.
func appendColumns(b driver.Batch, t *sinks.Table, rows *sinks.Block, from, to int) error {
	for i, c := range t.Columns {
		if err := b.Column(i).Append(rows.ColumnRange(i, from, to)); err != nil {
			_ = b.Abort()
			return fmt.Errorf("clickhouse: insert into %s: column %s: %w", t.Name, c.Name, err)
		}
	}
	return nil
}

// lost marks the errors of a dropped database or table (UNKNOWN_DATABASE,
// UNKNOWN_TABLE) as sinks.ErrStoreLost.
func lost(err error) error {
	var ex *ch.Exception
	if errors.As(err, &ex) && (ex.Code == 81 || ex.Code == 60) {
		return fmt.Errorf("%w: %w", sinks.ErrStoreLost, err)
	}
	return err
}

// Ping checks the server answers, for readiness.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.conn.Ping(ctx); err != nil {
		return explain(s.cfg, err)
	}
	return nil
}

// Close closes the connection.
func (s *Store) Close() error { return s.conn.Close() }

func quote(name string) string { return "`" + strings.ReplaceAll(name, "`", "\\`") + "`" }
