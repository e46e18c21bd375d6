// Package stores opens the analytics store the flags name: ClickHouse, or
// JSONEachRow files; apart from sinks so that it may import both stores.
package stores

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/cropstream/cropstream/sinks"
	"github.com/cropstream/cropstream/sinks/clickhouse"
	"github.com/cropstream/cropstream/sinks/jsonfile"
)

// Config says where the analytics rows go: ClickHouse when it has an
// address, else files in Dir.
type Config struct {
	ClickHouse clickhouse.Config
	Dir        string
}

// RegisterFlags registers the ClickHouse flags and, withDir, --analytics-dir.
func (c *Config) RegisterFlags(f *pflag.FlagSet, withDir bool) {
	c.ClickHouse.RegisterFlags(f)
	if withDir {
		f.StringVar(&c.Dir, "analytics-dir", "", "without --clickhouse: write the analytics rows here as JSONEachRow files")
	}
}

// Open opens ClickHouse when configured, else files in Dir (or
// fallbackDir), and says which; nil when neither is set.
func (c Config) Open(ctx context.Context, fallbackDir string) (sinks.Store, string, error) {
	if len(c.ClickHouse.Addr) > 0 {
		st, err := clickhouse.Open(ctx, c.ClickHouse)
		if err != nil {
			return nil, "", err
		}
		return st, "ClickHouse " + strings.Join(c.ClickHouse.Addr, ",") + " database " + st.Database(), nil
	}
	dir := cmp.Or(c.Dir, fallbackDir)
	if dir == "" {
		return nil, "", nil
	}
	st, err := jsonfile.Open(dir)
	if err != nil {
		return nil, "", err
	}
	return st, "files in " + dir, nil
}

// OpenClickHouse opens ClickHouse, which must be configured.
func (c Config) OpenClickHouse(ctx context.Context) (*clickhouse.Store, error) {
	if len(c.ClickHouse.Addr) == 0 {
		return nil, fmt.Errorf("--clickhouse host:9000 is required")
	}
	return clickhouse.Open(ctx, c.ClickHouse)
}
