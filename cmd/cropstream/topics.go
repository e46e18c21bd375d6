package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

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
				printStatuses(cmd.OutOrStdout(), sts)
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
				printStatuses(cmd.OutOrStdout(), sts)
				var bad []string
				for _, st := range sts {
					if !st.OK() {
						bad = append(bad, string(st.Spec.Name))
					}
				}
				if len(bad) > 0 {
					return fmt.Errorf("%w: %s", broker.ErrTopicDrift, strings.Join(bad, ", "))
				}
				return nil
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

func printStatuses(w io.Writer, sts []broker.TopicStatus) {
	for _, st := range sts {
		state := "ok"
		switch {
		case st.Created:
			state = "created"
		case !st.Exists:
			state = "missing"
		case len(st.Diffs) > 0:
			state = "differs"
		}
		fmt.Fprintf(w, "%-16s %-8s partitions=%d\n", st.Spec.Name, state, st.Partitions)
		for _, d := range st.Fixed {
			fmt.Fprintf(w, "  fixed  %s\n", d)
		}
		for _, d := range st.Diffs {
			fmt.Fprintf(w, "  - %s\n", d)
		}
	}
}
