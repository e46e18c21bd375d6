package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/topology"
)

func newTopicsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "topics",
		Short: "Create or check the topology's topics on the cluster",
	}
	var fix bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create missing topics; report (and with --fix-configs, correct) drifted ones",
		Long: `Create every topic of the topology that is missing, idempotently.

Existing topics are compared with the declaration. Config differences are
corrected with --fix-configs. Partition differences are only reported: adding
partitions to a keyed topic moves keys and breaks per-camera order.
Exits non-zero while any difference remains.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withAdmin(cmd.Context(), func(ctx context.Context, adm *kadm.Client, top *topology.Topology) error {
				sts, err := broker.EnsureTopics(ctx, adm, top, fix)
				broker.WriteStatuses(cmd.OutOrStdout(), sts)
				return driftError(err)
			})
		},
	}
	create.Flags().BoolVar(&fix, "fix-configs", false, "set topic configs that differ from the topology")
	describe := &cobra.Command{
		Use:   "describe",
		Short: "Compare the cluster's topics with the topology",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withAdmin(cmd.Context(), func(ctx context.Context, adm *kadm.Client, top *topology.Topology) error {
				sts, err := broker.DescribeTopics(ctx, adm, top)
				if err != nil {
					return err
				}
				broker.WriteStatuses(cmd.OutOrStdout(), sts)
				return broker.Drift(sts)
			})
		},
	}
	cmd.AddCommand(create, describe)
	return cmd
}

// withAdmin connects as the global flags say and runs f with an admin
// client, closing both after.
func (g *globals) withAdmin(ctx context.Context, f func(context.Context, *kadm.Client, *topology.Topology) error) error {
	conn, top, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	adm, cl, err := conn.Admin()
	if err != nil {
		return err
	}
	defer cl.Close()
	return f(ctx, adm, top)
}

func driftError(err error) error {
	if errors.Is(err, broker.ErrTopicDrift) {
		return fmt.Errorf("%w (see the diff above; partitions are never changed automatically)", err)
	}
	return err
}
