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
	// BlockRows is about how many rows each native-protocol block of an
	// insert holds; default DefaultBlockRows.
	BlockRows int
}

// DefaultBlockRows is Config.BlockRows's default, chosen by
// BenchmarkSinkBlockRows (benchmarks/results.md): the driver converts a
// small block in cache, and the server parses one while the next is sent.
const DefaultBlockRows = 8_192

func (c Config) withDefaults() Config {
	c.Database = cmp.Or(c.Database, "cropstream")
	c.User = cmp.Or(c.User, "default")
	c.Password = cmp.Or(c.Password, os.Getenv(PasswordEnv))
	c.DialTimeout = cmp.Or(c.DialTimeout, 5*time.Second)
	c.BlockRows = cmp.Or(c.BlockRows, DefaultBlockRows)
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

// Insert sends the rows in one INSERT as native-protocol blocks of about
// Config.BlockRows rows, cut between records: the driver converts and sends
// one while the server stores the one before, as clickhouse-client sends a
// file. Not all or nothing: a server (18.16 here) keeps the blocks it got of
// an insert whose connection is cut, so a failed Insert may have stored
// whole records, a prefix of each partition's, and the sink reads the
// stored offsets again before it retries. Each column goes to the driver as
// one typed slice: appending row by row would convert every value through
// an interface again. A missing database or table is sinks.ErrStoreLost.
func (s *Store) Insert(ctx context.Context, t *sinks.Table, rows *sinks.Block) error {
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = quote(c.Name)
	}
	b, err := s.conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.%s (%s)", quote(s.cfg.Database), quote(t.Name), strings.Join(cols, ", ")))
	if err != nil {
		return fmt.Errorf("clickhouse: insert into %s: %w", t.Name, lost(err))
	}
	ends := rows.Parts(s.cfg.BlockRows)
	from := 0
	for k, end := range ends {
		if err := appendColumns(b, t, rows, from, end); err != nil {
			return err
		}
		from = end
		// Flush sends the block and empties the driver's columns, keeping
		// their memory for the next one.
		if k < len(ends)-1 {
			if err := b.Flush(); err != nil {
				_ = b.Abort()
				return fmt.Errorf("clickhouse: insert %d rows into %s: %w", from, t.Name, lost(err))
			}
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("clickhouse: insert %d rows into %s: %w", rows.Len(), t.Name, lost(err))
	}
	return nil
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
