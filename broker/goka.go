package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/cropstream/cropstream/topology"
)

// gokaLogger sends goka's chatter to slog at debug level.
type gokaLogger struct{}

func (gokaLogger) Print(v ...any)   { slog.Debug(fmt.Sprint(v...), "lib", "goka") }
func (gokaLogger) Println(v ...any) { slog.Debug(fmt.Sprint(v...), "lib", "goka") }
func (gokaLogger) Printf(format string, v ...any) {
	slog.Debug(fmt.Sprintf(format, v...), "lib", "goka")
}

// SaramaConfig is the client config goka's sarama clients use: the
// configured protocol version, record limits matching the topology, new groups
// starting at the oldest offset, acks from all in-sync replicas, TLS and SASL
// (PLAIN or SCRAM) from the connection's config.
func (c *Conn) SaramaConfig() (*sarama.Config, error) {
	v, err := c.cfg.SaramaKafkaVersion()
	if err != nil {
		return nil, err
	}
	sc := goka.DefaultConfig()
	sc.Version = v
	sc.ClientID = c.cfg.ClientID
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	sc.Producer.MaxMessageBytes = c.top.MaxRecordBytes()
	sc.Producer.RequiredAcks = sarama.WaitForAll
	// A JoinGroup waits up to the rebalance timeout for members that will
	// never rejoin (a killed process), and sarama drops a request that takes
	// longer than its read timeout: keep the read timeout above the rebalance
	// timeout, and the rebalance timeout short so a killed instance's
	// partitions move on within seconds (found by the SIGKILL test).
	sc.Consumer.Group.Session.Timeout = 10 * time.Second
	sc.Consumer.Group.Rebalance.Timeout = 20 * time.Second
	sc.Net.ReadTimeout = 40 * time.Second
	tc, err := c.cfg.TLSConfig()
	if err != nil {
		return nil, err
	}
	if tc != nil {
		sc.Net.TLS.Enable, sc.Net.TLS.Config = true, tc
	}
	switch c.cfg.SASLMechanism {
	case "":
	case "PLAIN":
		sc.Net.SASL.Enable, sc.Net.SASL.Mechanism = true, sarama.SASLTypePlaintext
		sc.Net.SASL.User, sc.Net.SASL.Password = c.cfg.SASLUser, password()
	case "SCRAM-SHA-256", "SCRAM-SHA-512":
		sc.Net.SASL.Enable, sc.Net.SASL.Handshake = true, true
		sc.Net.SASL.Version = sarama.SASLHandshakeV1
		sc.Net.SASL.User, sc.Net.SASL.Password = c.cfg.SASLUser, password()
		sha512 := c.cfg.SASLMechanism == "SCRAM-SHA-512"
		sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
		if sha512 {
			sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
		}
		sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{sha512: sha512} }
	default:
		return nil, fmt.Errorf("goka stages: SASL mechanism %s is not supported (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 are)", c.cfg.SASLMechanism)
	}
	return sc, nil
}

// scramClient runs sarama's side of a SCRAM exchange with franz-go's SCRAM
// implementation (the one the franz-go clients use), so both client
// libraries authenticate the same way and no third SCRAM package is needed.
type scramClient struct {
	sha512  bool
	first   []byte
	started bool
	session sasl.Session
	done    bool
}

func (s *scramClient) Begin(user, pass, authzID string) error {
	a := scram.Auth{User: user, Pass: pass, Zid: authzID}
	m := a.AsSha256Mechanism()
	if s.sha512 {
		m = a.AsSha512Mechanism()
	}
	sess, first, err := m.Authenticate(context.Background(), "")
	if err != nil {
		return fmt.Errorf("scram: %w", err)
	}
	s.session, s.first = sess, first
	return nil
}

func (s *scramClient) Step(challenge string) (string, error) {
	if !s.started {
		s.started = true
		return string(s.first), nil
	}
	done, msg, err := s.session.Challenge([]byte(challenge))
	if err != nil {
		return "", fmt.Errorf("scram: %w", err)
	}
	s.done = done
	return string(msg), nil
}

func (s *scramClient) Done() bool { return s.done }

// GokaOptions are the options every goka processor of cropstream takes: the
// sarama config above for its consumers and topic manager, a franz-go
// producer for its outputs (gapless per partition, see gokaProducer), state recovered from the table's
// changelog into memory at start (so a killed process comes back with exactly
// the committed state), and goka's logs at debug level.
func (c *Conn) GokaOptions() ([]goka.ProcessorOption, error) {
	sc, err := c.SaramaConfig()
	if err != nil {
		return nil, err
	}
	tmc := goka.NewTopicManagerConfig()
	repl := int(c.top.Config.Replication)
	if repl < 1 {
		repl = 1 // topics are created by EnsureTopics; this is goka's fallback
	}
	tmc.Table.Replication, tmc.Stream.Replication = repl, repl
	return []goka.ProcessorOption{
		goka.WithTopicManagerBuilder(func(brokers []string) (goka.TopicManager, error) {
			cfg := *sc
			return goka.NewTopicManager(brokers, &cfg, tmc)
		}),
		// goka's *WithConfig builders write ClientID into the one config they
		// are given while other clients read it (a data race): each client
		// gets its own copy, as goka's default builders do.
		goka.WithConsumerGroupBuilder(func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
			cfg := *sc
			cfg.ClientID = clientID
			return sarama.NewConsumerGroup(brokers, group, &cfg)
		}),
		goka.WithConsumerSaramaBuilder(func(brokers []string, clientID string) (sarama.Consumer, error) {
			cfg := *sc
			cfg.ClientID = clientID
			return sarama.NewConsumer(brokers, &cfg)
		}),
		goka.WithProducerBuilder(c.gokaProducerBuilder()),
		goka.WithStorageBuilder(storage.MemoryBuilder()),
		goka.WithLogger(gokaLogger{}),
		goka.WithClientID(c.cfg.ClientID),
	}, nil
}

// Topology is the topology the connection was sized with.
func (c *Conn) Topology() *topology.Topology { return c.top }

// RunProcessor runs a goka group graph until ctx is cancelled, with the
// options above. name prefixes its errors. A processor that fails because
// it lost the brokers (a broker restart: its group generation is gone, its
// connections refused) is made again and rejoins with backoff (Supervise):
// goka processors cannot be restarted, and their table state is recovered
// from the changelog as after any crash.
func (c *Conn) RunProcessor(ctx context.Context, name string, g *goka.GroupGraph) error {
	opts, err := c.GokaOptions()
	if err != nil {
		return err
	}
	return Supervise(ctx, name, Backoff{}, func(ctx context.Context) error {
		proc, err := goka.NewProcessor(c.Seeds, g, opts...)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := proc.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	})
}

// EmitDeadLetter sends the message a goka callback could not process to the
// dead-letter topic with the reason and its source (see DeadLetter), and logs it.
func (c *Conn) EmitDeadLetter(ctx goka.Context, stage string, raw []byte, reason error) {
	slog.Warn("record dead-lettered", "stage", stage, "topic", ctx.Topic(), "partition", ctx.Partition(), "offset", ctx.Offset(), "key", ctx.Key(), "reason", reason)
	dl := DeadLetter(c.top, stage, reason.Error(), &kgo.Record{Topic: string(ctx.Topic()), Partition: ctx.Partition(), Offset: ctx.Offset(), Key: []byte(ctx.Key()), Value: raw})
	ctx.Emit(goka.Stream(topology.DLQ), ctx.Key(), dl.Value)
}
