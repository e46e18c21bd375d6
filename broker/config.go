package broker

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// PasswordEnv is the environment variable holding the SASL password. It is
// never a flag, so it stays out of shell history and process listings.
const PasswordEnv = "CROPSTREAM_SASL_PASSWORD"

// Config says where Kafka is and how to authenticate.
type Config struct {
	// Brokers are seed addresses of a real cluster. Empty (the default) means
	// the embedded broker in DataDir.
	Brokers []string
	// DataDir holds the embedded broker's log, its lock and address files.
	// Default "./data".
	DataDir string
	// Port is the embedded broker's port when this process starts it; 0 (the
	// default) reuses the last port recorded in DataDir, or picks a free one.
	Port int
	// TLSCA, TLSCert, TLSKey are PEM files. TLS is on when any is set.
	TLSCA, TLSCert, TLSKey string
	// SASLMechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty disables SASL.
	SASLMechanism string
	// SASLUser is the SASL user; the password comes from $CROPSTREAM_SASL_PASSWORD.
	SASLUser string
	// SaramaVersion is the Kafka protocol version goka's sarama client speaks.
	// Default 2.0.0; must stay below 2.4.0 against the embedded broker, whose
	// OffsetFetch v6+ sarama cannot decode.
	SaramaVersion string
	// ClientID names this process to the brokers. Default "cropstream".
	ClientID string
}

func (c Config) withDefaults() Config {
	c.DataDir = cmp.Or(c.DataDir, "./data")
	c.SaramaVersion = cmp.Or(c.SaramaVersion, "2.0.0")
	c.ClientID = cmp.Or(c.ClientID, "cropstream")
	return c
}

// Embedded reports whether this config uses the embedded broker.
func (c Config) Embedded() bool { return len(c.Brokers) == 0 }

// Validate checks the config without touching the network.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	for _, b := range c.Brokers {
		if !strings.Contains(b, ":") {
			errs = append(errs, fmt.Errorf("broker address %q has no port (want host:port)", b))
		}
	}
	v, err := sarama.ParseKafkaVersion(c.SaramaVersion)
	if err != nil {
		errs = append(errs, fmt.Errorf("sarama version: %w", err))
	} else if c.Embedded() && v.IsAtLeast(sarama.V2_4_0_0) {
		errs = append(errs, fmt.Errorf("sarama version %s: the embedded broker needs < 2.4.0 (goka consumer groups fail to decode OffsetFetch v6+)", c.SaramaVersion))
	}
	switch c.SASLMechanism {
	case "", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
	default:
		errs = append(errs, fmt.Errorf("sasl mechanism %q, want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", c.SASLMechanism))
	}
	if c.SASLMechanism != "" {
		if c.SASLUser == "" {
			errs = append(errs, errors.New("sasl: --sasl-user is required with a mechanism"))
		}
		if os.Getenv(PasswordEnv) == "" {
			errs = append(errs, fmt.Errorf("sasl: set the password in $%s", PasswordEnv))
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("tls: --tls-cert and --tls-key go together"))
	}
	if (c.SASLMechanism != "" || c.TLSCA != "" || c.TLSCert != "") && c.Embedded() {
		errs = append(errs, errors.New("tls/sasl options need --brokers: the embedded broker listens on loopback without them"))
	}
	return errors.Join(errs...)
}

// SaramaKafkaVersion is the parsed SaramaVersion, for goka's sarama config.
func (c Config) SaramaKafkaVersion() (sarama.KafkaVersion, error) {
	return sarama.ParseKafkaVersion(c.withDefaults().SaramaVersion)
}

// TLSConfig builds the TLS config, or nil when TLS is off.
func (c Config) TLSConfig() (*tls.Config, error) {
	if c.TLSCA == "" && c.TLSCert == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.TLSCA != "" {
		pem, err := os.ReadFile(c.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("tls: read CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls: %s holds no PEM certificate", c.TLSCA)
		}
		cfg.RootCAs = pool
	}
	if c.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("tls: load client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// clientOpts are the kgo options for authentication and identity.
func (c Config) clientOpts() ([]kgo.Opt, error) {
	c = c.withDefaults()
	opts := []kgo.Opt{kgo.ClientID(c.ClientID)}
	tc, err := c.TLSConfig()
	if err != nil {
		return nil, err
	}
	if tc != nil {
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	pass := password()
	switch c.SASLMechanism {
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: c.SASLUser, Pass: pass}.AsMechanism()))
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: c.SASLUser, Pass: pass}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: c.SASLUser, Pass: pass}.AsSha512Mechanism()))
	}
	return opts, nil
}

func password() string { return os.Getenv(PasswordEnv) }
