package broker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/topology"
)

// DialTimeout bounds how long Open waits for brokers to answer.
const DialTimeout = 5 * time.Second

// Conn is a checked connection point to Kafka: seeds that answered, the options
// every client needs, and the embedded broker when this process serves it.
type Conn struct {
	Seeds    []string
	Embedded *Embedded // nil unless this process serves the embedded broker
	cfg      Config
	top      *topology.Topology
	opts     []kgo.Opt
}

// Open connects to cfg.Brokers, or starts or reuses the embedded broker, and
// checks within DialTimeout that a broker answers. top sizes the record limits.
func Open(ctx context.Context, cfg Config, top *topology.Topology) (*Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	opts, err := cfg.clientOpts()
	if err != nil {
		return nil, err
	}
	c := &Conn{cfg: cfg, top: top, opts: opts, Seeds: cfg.Brokers}
	if cfg.Embedded() {
		e, err := startEmbedded(cfg.DataDir, cfg.Port, top.MaxRecordBytes()+(1<<20))
		switch {
		case errors.Is(err, errLocked):
			addr, rerr := reuseEmbedded(ctx, cfg.DataDir)
			if rerr != nil {
				return nil, rerr
			}
			c.Seeds = []string{addr}
		case err != nil:
			return nil, err
		default:
			c.Embedded = e
			c.Seeds = []string{e.Addr()}
		}
	}
	if err := c.ping(ctx); err != nil {
		c.Close()
		return nil, err
	}
	if c.Embedded != nil {
		slog.Debug("serving embedded broker", "addr", c.Embedded.Addr(), "data_dir", cfg.DataDir)
	}
	return c, nil
}

func (c *Conn) ping(ctx context.Context) error {
	cl, err := c.Client()
	if err != nil {
		return err
	}
	defer cl.Close()
	pctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	if err := cl.Ping(pctx); err != nil {
		return c.explain(err)
	}
	return nil
}

// explain says what a failed first contact most likely means. A broker
// that accepts the connection and then closes it (EOF, reset) without an
// answer is one whose listener wants SASL or TLS this client does not speak,
// or one whose authentication failed: saying "no broker answered" there
// sent operators looking for a network fault.
func (c *Conn) explain(err error) error {
	seeds := strings.Join(c.Seeds, ",")
	var ke *kerr.Error
	switch {
	case errors.As(err, &ke) && (ke.Code == kerr.SaslAuthenticationFailed.Code || ke.Code == kerr.UnsupportedSaslMechanism.Code || ke.Code == kerr.IllegalSaslState.Code):
		return fmt.Errorf("kafka: authentication at %s failed (--sasl-mechanism %q, --sasl-user %q, password from $%s): %w",
			seeds, c.cfg.SASLMechanism, c.cfg.SASLUser, PasswordEnv, err)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET):
		how := "without SASL or TLS"
		if c.cfg.SASLMechanism != "" {
			how = "with SASL " + c.cfg.SASLMechanism
		}
		return fmt.Errorf("kafka: the broker at %s closed the connection without answering: authentication likely failed — its listener probably wants SASL or TLS settings other than this client's (%s; check --sasl-mechanism, --sasl-user, $%s, --tls-ca): %w",
			seeds, how, PasswordEnv, err)
	}
	return fmt.Errorf("kafka: no broker answered at %s within %s: %w", seeds, DialTimeout, err)
}

// Client makes a franz-go client with the connection's seeds, auth and record
// size limits, plus extra options (consumer group, topics, ...).
func (c *Conn) Client(extra ...kgo.Opt) (*kgo.Client, error) {
	maxRecord := int32(c.top.MaxRecordBytes())
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(c.Seeds...),
		kgo.ProducerBatchMaxBytes(maxRecord),
		kgo.BrokerMaxWriteBytes(2*maxRecord + (1 << 20)),
		kgo.BrokerMaxReadBytes(max(100<<20, 4*maxRecord+(1<<20))),
		kgo.FetchMaxPartitionBytes(maxRecord),
		// Goka (sarama) places keys with FNV-1a; producers of goka-read topics
		// must agree or keys land where goka does not look.
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(kgo.SaramaCompatHasher(fnv32a))),
	}, c.opts...)
	opts = append(opts, extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	return cl, nil
}

// Admin makes an admin client; close it with Close on the returned kgo client.
func (c *Conn) Admin() (*kadm.Client, *kgo.Client, error) {
	cl, err := c.Client()
	if err != nil {
		return nil, nil, err
	}
	return kadm.NewClient(cl), cl, nil
}

// Config is the (defaulted) config the connection was opened with.
func (c *Conn) Config() Config { return c.cfg }

// Close stops the embedded broker if this process serves it.
func (c *Conn) Close() {
	if c.Embedded != nil {
		c.Embedded.Close()
		c.Embedded = nil
	}
}

// fnv32a is the 32-bit FNV-1a hash sarama's default partitioner uses.
func fnv32a(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}

// PartitionOf is the partition of n that goka (sarama's hash partitioner) and
// cropstream's producers put key on.
func PartitionOf(key []byte, n int32) int32 {
	p := int32(fnv32a(key)) % n
	if p < 0 {
		p = -p
	}
	return p
}

// Serve serves cfg's embedded broker, with top's topics, to other processes
// until ctx ends, calling listening once they can connect.
func Serve(ctx context.Context, cfg Config, top *topology.Topology, listening func(addr string)) error {
	if !cfg.Embedded() {
		return fmt.Errorf("broker serves the embedded broker; it takes no --brokers")
	}
	conn, err := Open(ctx, cfg, top)
	if err != nil {
		return err
	}
	defer conn.Close()
	if conn.Embedded == nil {
		return fmt.Errorf("an embedded broker for %s is already served by another process at %s", cfg.DataDir, conn.Seeds[0])
	}
	if err := EnsureTopicsExist(ctx, conn, top); err != nil {
		return err
	}
	listening(conn.Embedded.Addr())
	<-ctx.Done()
	return nil
}
