// Command cropstream is the one program of cropstream: the embedded broker,
// topology and topic admin, ingest, and (as they land) the pipeline stages.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/metrics"
	"github.com/cropstream/cropstream/topology"
)

// globals are the flags every command shares: where Kafka is, how the
// topology is sized, how to log. Each group registers its own flags.
type globals struct {
	kafka broker.Config
	topo  topology.Config
	log   metrics.LogConfig
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
			return g.log.Setup()
		},
	}
	g.kafka.RegisterFlags(root.PersistentFlags())
	g.topo.RegisterFlags(root.PersistentFlags())
	g.log.RegisterFlags(root.PersistentFlags())
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

func (g *globals) topology() (*topology.Topology, error) { return topology.New(g.topo) }

// open connects to Kafka (starting or reusing the embedded broker).
func (g *globals) open(ctx context.Context) (*broker.Conn, *topology.Topology, error) {
	return broker.OpenSized(ctx, g.kafka, g.topo)
}

func (g *globals) openWithTopics(ctx context.Context) (*broker.Conn, *topology.Topology, error) {
	return broker.OpenWithTopics(ctx, g.kafka, g.topo)
}

func (g *globals) withConn(ctx context.Context, f func(*broker.Conn) error) error {
	return broker.WithConn(ctx, g.kafka, g.topo, f)
}

// printJSON writes v as every --json output is written: indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
