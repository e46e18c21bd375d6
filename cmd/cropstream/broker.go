package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/broker"
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
			if g.brokers != "" {
				return fmt.Errorf("broker serves the embedded broker; it takes no --brokers")
			}
			ctx := cmd.Context()
			conn, top, err := g.open(ctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			if conn.Embedded == nil {
				return fmt.Errorf("an embedded broker for %s is already served by another process at %s", g.kafka.DataDir, conn.Seeds[0])
			}
			if err := broker.EnsureTopicsExist(ctx, conn, top); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "broker listening on %s (data dir %s)\n", conn.Embedded.Addr(), g.kafka.DataDir)
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().IntVar(&g.kafka.Port, "port", 0, "port to listen on (default: the last one used in --data-dir, else any free port)")
	return cmd
}
