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
