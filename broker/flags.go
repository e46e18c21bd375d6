package broker

import (
	"context"
	"strings"

	"github.com/spf13/pflag"

	"github.com/cropstream/cropstream/topology"
)

// RegisterFlags registers where Kafka is and how to authenticate, with
// their defaults (Port is the broker command's own).
func (c *Config) RegisterFlags(f *pflag.FlagSet) {
	f.Var((*seeds)(&c.Brokers), "brokers", "Kafka seed brokers host:port,... (default: the embedded broker in --data-dir)")
	f.StringVar(&c.DataDir, "data-dir", "./data", "directory of the embedded broker and local state")
	f.StringVar(&c.TLSCA, "tls-ca", "", "PEM file of the CA that signed the brokers' certificates (turns TLS on)")
	f.StringVar(&c.TLSCert, "tls-cert", "", "PEM client certificate for mutual TLS")
	f.StringVar(&c.TLSKey, "tls-key", "", "PEM key of --tls-cert")
	f.StringVar(&c.SASLMechanism, "sasl-mechanism", "", "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (password from $"+PasswordEnv+")")
	f.StringVar(&c.SASLUser, "sasl-user", "", "SASL user")
	f.StringVar(&c.SaramaVersion, "sarama-version", "2.0.0", "Kafka protocol version of goka's sarama client (< 2.4.0 on the embedded broker)")
}

// seeds is --brokers: one comma-separated string, so that "" (the
// embedded broker) stays distinct from a list.
type seeds []string

func (s *seeds) String() string { return strings.Join(*s, ",") }
func (s *seeds) Type() string   { return "string" }

func (s *seeds) Set(v string) error {
	*s = nil
	if v != "" {
		*s = strings.Split(v, ",")
	}
	return nil
}

// OpenSized is Open with the topology built from tc.
func OpenSized(ctx context.Context, cfg Config, tc topology.Config) (*Conn, *topology.Topology, error) {
	top, err := topology.New(tc)
	if err != nil {
		return nil, nil, err
	}
	conn, err := Open(ctx, cfg, top)
	if err != nil {
		return nil, nil, err
	}
	return conn, top, nil
}

// OpenWithTopics is OpenSized plus EnsureTopicsExist, for commands that
// produce or consume: they need the topology's topics to exist.
func OpenWithTopics(ctx context.Context, cfg Config, tc topology.Config) (*Conn, *topology.Topology, error) {
	conn, top, err := OpenSized(ctx, cfg, tc)
	if err != nil {
		return nil, nil, err
	}
	if err := EnsureTopicsExist(ctx, conn, top); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, top, nil
}

// WithConn runs f with a connection whose topics exist and closes it after:
// what every command that reads or writes a topic starts with.
func WithConn(ctx context.Context, cfg Config, tc topology.Config, f func(*Conn) error) error {
	conn, _, err := OpenWithTopics(ctx, cfg, tc)
	if err != nil {
		return err
	}
	defer conn.Close()
	return f(conn)
}
