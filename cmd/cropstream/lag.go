package main

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/topology"
)

func newLagCmd(g *globals) *cobra.Command {
	var (
		groups []string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "lag",
		Short: "Per consumer group and partition: committed offset, end offset, lag, member",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withAdmin(cmd.Context(), func(ctx context.Context, adm *kadm.Client, _ *topology.Topology) error {
				rows, err := broker.GroupLag(ctx, adm, groups...)
				if err != nil {
					return err
				}
				if asJSON {
					if rows == nil {
						rows = []broker.PartitionLag{}
					}
					return printJSON(cmd.OutOrStdout(), rows)
				}
				return broker.WriteLag(cmd.OutOrStdout(), rows)
			})
		},
	}
	cmd.Flags().StringSliceVar(&groups, "group", nil, "groups to show (repeatable; default: all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON rows")
	return cmd
}
