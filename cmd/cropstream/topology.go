package main

import (
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/topology"
)

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
