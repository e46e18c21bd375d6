package main

import (
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/topology"
)

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
