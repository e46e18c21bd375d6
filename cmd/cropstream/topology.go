package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/topology"
)

func newTopologyCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "topology",
		Short: "Print the topics and consumer groups, as sized by the flags",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			top, err := g.topology()
			if err != nil {
				return err
			}
			return top.Write(cmd.OutOrStdout(), format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: "+strings.Join(topology.Formats, ", "))
	return cmd
}
