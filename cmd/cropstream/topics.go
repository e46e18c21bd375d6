package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/topology"
)

func newBrokerCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Serve the embedded Kafka broker (kfake) so several processes share it",
		Long: `Serve the embedded Kafka broker, persisted in --data-dir, until interrupted.

Other cropstream commands with the same --data-dir find it through the lock and
address files there and use it instead of starting their own. Any Kafka client
(kcat, franz-go, sarama) can connect to the printed address.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			top, err := g.topology()
			if err != nil {
				return err
			}
			return broker.Serve(cmd.Context(), g.kafka, top, func(addr string) {
				fmt.Fprintf(cmd.OutOrStdout(), "broker listening on %s (data dir %s)\n", addr, g.kafka.DataDir)
			})
		},
	}
	cmd.Flags().IntVar(&g.kafka.Port, "port", 0, "port to listen on (default: the last one used in --data-dir, else any free port)")
	return cmd
}

func newTopologyCmd(g *globals) *cobra.Command {
	var format string
	cmd := runCmd(&cobra.Command{Use: "topology", Short: "Print the topics and consumer groups, as sized by the flags", Args: cobra.NoArgs},
		func(*cobra.Command, []string) (out, error) {
			top, err := g.topology()
			return out{text: func(w io.Writer) error { return top.Write(w, format) }}, err
		})
	cmd.Flags().StringVar(&format, "format", "text", "output format: "+strings.Join(topology.Formats, ", "))
	return cmd
}

func newTopicsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "topics",
		Short: "Create or check the topology's topics on the cluster",
	}
	var fix bool
	create := g.adminCmd(&cobra.Command{
		Use:   "create",
		Short: "Create missing topics; report (and with --fix-configs, correct) drifted ones",
		Long: `Create every topic of the topology that is missing, idempotently.

Existing topics are compared with the declaration. Config differences are
corrected with --fix-configs. Partition differences are only reported: adding
partitions to a keyed topic moves keys and breaks per-camera order.
Exits non-zero while any difference remains.`,
		Args: cobra.NoArgs,
	}, func(cmd *cobra.Command, adm *kadm.Client, top *topology.Topology) (out, error) {
		sts, err := broker.EnsureTopics(cmd.Context(), adm, top, fix)
		broker.WriteStatuses(cmd.OutOrStdout(), sts)
		if errors.Is(err, broker.ErrTopicDrift) {
			err = fmt.Errorf("%w (see the diff above; partitions are never changed automatically)", err)
		}
		return out{}, err
	})
	create.Flags().BoolVar(&fix, "fix-configs", false, "set topic configs that differ from the topology")
	describe := g.adminCmd(&cobra.Command{Use: "describe", Short: "Compare the cluster's topics with the topology", Args: cobra.NoArgs},
		func(cmd *cobra.Command, adm *kadm.Client, top *topology.Topology) (out, error) {
			sts, err := broker.DescribeTopics(cmd.Context(), adm, top)
			if err != nil {
				return out{}, err
			}
			broker.WriteStatuses(cmd.OutOrStdout(), sts)
			return out{}, broker.Drift(sts)
		})
	cmd.AddCommand(create, describe)
	return cmd
}

func newLagCmd(g *globals) *cobra.Command {
	var groups []string
	cmd := g.adminCmd(jsonFlag(&cobra.Command{
		Use:   "lag",
		Short: "Per consumer group and partition: committed offset, end offset, lag, member",
		Args:  cobra.NoArgs,
	}, "print JSON rows"), func(cmd *cobra.Command, adm *kadm.Client, _ *topology.Topology) (out, error) {
		rows, err := broker.GroupLag(cmd.Context(), adm, groups...)
		if rows == nil {
			rows = []broker.PartitionLag{}
		}
		return table(rows, broker.WriteLag), err
	})
	cmd.Flags().StringSliceVar(&groups, "group", nil, "groups to show (repeatable; default: all)")
	return cmd
}
