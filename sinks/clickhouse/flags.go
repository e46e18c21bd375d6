package clickhouse

import "github.com/spf13/pflag"

// RegisterFlags registers the server, database and credentials, with their
// defaults.
func (c *Config) RegisterFlags(f *pflag.FlagSet) {
	f.StringSliceVar(&c.Addr, "clickhouse", nil, "ClickHouse native address(es) host:9000 (password from $"+PasswordEnv+")")
	f.StringVar(&c.Database, "clickhouse-db", "cropstream", "ClickHouse database")
	f.StringVar(&c.User, "clickhouse-user", "default", "ClickHouse user")
	f.BoolVar(&c.TLS, "clickhouse-tls", false, "connect to ClickHouse with TLS (native port 9440)")
	f.StringVar(&c.CAFile, "clickhouse-ca", "", "PEM CA that signed ClickHouse's certificate")
}
