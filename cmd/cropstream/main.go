// Command cropstream is the one program of cropstream: the embedded broker,
// topology and topic admin, ingest, and (as they land) the pipeline stages.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/metrics"
	"github.com/cropstream/cropstream/topology"
)

// globals are the flags every command shares: where Kafka is and how the
// topology is sized. They are parsed once into these structs and passed down.
type globals struct {
	kafka    broker.Config
	topo     topology.Config
	brokers  string
	logJSON  bool
	logLevel string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	stop()
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "cropstream: %s\n", oneLine(err))
		os.Exit(1)
	}
}

// oneLine keeps an error to one line for the terminal; joined errors are
// separated by "; ".
func oneLine(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "cropstream",
		Short:         "Count fruit and plants in farm camera video and estimate yield, on Kafka",
		Version:       metrics.BuildInfo().String(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return g.setup()
		},
	}
	f := root.PersistentFlags()
	f.StringVar(&g.brokers, "brokers", "", "Kafka seed brokers host:port,... (default: the embedded broker in --data-dir)")
	f.StringVar(&g.kafka.DataDir, "data-dir", "./data", "directory of the embedded broker and local state")
	f.StringVar(&g.kafka.TLSCA, "tls-ca", "", "PEM file of the CA that signed the brokers' certificates (turns TLS on)")
	f.StringVar(&g.kafka.TLSCert, "tls-cert", "", "PEM client certificate for mutual TLS")
	f.StringVar(&g.kafka.TLSKey, "tls-key", "", "PEM key of --tls-cert")
	f.StringVar(&g.kafka.SASLMechanism, "sasl-mechanism", "", "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (password from $"+broker.PasswordEnv+")")
	f.StringVar(&g.kafka.SASLUser, "sasl-user", "", "SASL user")
	f.StringVar(&g.kafka.SaramaVersion, "sarama-version", "2.0.0", "Kafka protocol version of goka's sarama client (< 2.4.0 on the embedded broker)")
	f.Int32Var(&g.topo.CameraPartitions, "camera-partitions", topology.DefaultCameraPartitions, "partitions of camera-keyed topics (frames, detections, track table)")
	f.Int32Var(&g.topo.BlockPartitions, "block-partitions", topology.DefaultBlockPartitions, "partitions of block-keyed topics (objects, yield, aggregate table)")
	f.Int16Var(&g.topo.Replication, "replication-factor", -1, "replication factor of created topics (-1: the cluster's default)")
	f.IntVar(&g.topo.MaxFrameBytes, "topology-max-frame-bytes", topology.DefaultMaxFrameBytes, "largest JPEG the frames topic accepts; sizes topic, producer and broker limits")
	f.BoolVar(&g.logJSON, "log-json", false, "log JSON lines instead of text")
	f.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")

	root.AddCommand(
		newBrokerCmd(g),
		newTopologyCmd(g),
		newTopicsCmd(g),
		newIngestCmd(g),
		newCamerasCmd(g),
		newZonesCmd(g),
		newLagCmd(g),
		newSimCmd(),
		newRunCmd(g),
		newEvalCmd(g),
		newClickHouseCmd(),
		newBenchCmd(g),
		newProbeCmd(),
		newFieldsCmd(g),
		newHandCountsCmd(g),
		newYieldCmd(g),
		newAnnotateCmd(),
		newModelCmd(g),
		newPlanCmd(g),
	)
	return root
}

func (g *globals) setup() error {
	if g.brokers != "" {
		g.kafka.Brokers = strings.Split(g.brokers, ",")
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if g.logJSON {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	slog.SetDefault(slog.New(h))
	return nil
}

func (g *globals) topology() (*topology.Topology, error) {
	return topology.New(g.topo)
}

// open connects to Kafka (starting or reusing the embedded broker) and
// returns the topology it was sized with.
func (g *globals) open(ctx context.Context) (*broker.Conn, *topology.Topology, error) {
	top, err := g.topology()
	if err != nil {
		return nil, nil, err
	}
	conn, err := broker.Open(ctx, g.kafka, top)
	if err != nil {
		return nil, nil, err
	}
	return conn, top, nil
}

// openWithTopics is open plus broker.EnsureTopicsExist, for commands that
// produce or consume: they need the topology's topics to exist.
func (g *globals) openWithTopics(ctx context.Context) (*broker.Conn, *topology.Topology, error) {
	conn, top, err := g.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := broker.EnsureTopicsExist(ctx, conn, top); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, top, nil
}

// withConn runs f with a connection to Kafka whose topics exist, and closes
// it after: what every command that reads or writes a topic starts with.
func (g *globals) withConn(ctx context.Context, f func(*broker.Conn) error) error {
	conn, _, err := g.openWithTopics(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return f(conn)
}

// printJSON writes v as every --json output is written: indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printReport writes v as JSON with --json, else as text does.
func printReport(w io.Writer, asJSON bool, v any, text func(io.Writer)) error {
	if asJSON {
		return printJSON(w, v)
	}
	text(w)
	return nil
}
