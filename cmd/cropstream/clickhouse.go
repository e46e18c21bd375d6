package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cropstream/cropstream/sinks/clickhouse"
	"github.com/cropstream/cropstream/sinks/jsonfile"
	"github.com/cropstream/cropstream/sinks/stores"
)

// sinkFlags is stores.Config under the names the operational commands use.
type sinkFlags struct{ stores.Config }

func (s *sinkFlags) register(f *pflag.FlagSet, withDir bool) { s.RegisterFlags(f, withDir) }

func (s *sinkFlags) clickhouse(ctx context.Context) (*clickhouse.Store, error) {
	return s.OpenClickHouse(ctx)
}

func newClickHouseCmd() *cobra.Command {
	var sf sinkFlags
	cmd := &cobra.Command{
		Use:   "clickhouse",
		Short: "Manage the ClickHouse analytics schema: migrate, retention, load files",
	}
	sf.register(cmd.PersistentFlags(), false)

	migrate := &cobra.Command{
		Use:   "migrate",
		Short: "Create or update the database, tables and rollups (idempotent; the sink runs it on start)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := sf.clickhouse(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			applied, err := st.Migrate(cmd.Context())
			if err != nil {
				return err
			}
			clickhouse.WriteApplied(cmd.OutOrStdout(), st.Database(), applied)
			return nil
		},
	}

	var (
		before string
		days   int
		dryRun bool
	)
	drop := &cobra.Command{
		Use:   "drop-before",
		Short: "Retention: drop the daily partitions of the event tables older than a date",
		Long: `Drops whole days of frames, detections, objects, yield_estimates and
dead_letters older than --date (or --keep-days before today, UTC). Rollups keep
their history. ClickHouse 18.16 has no TTL, so run this from cron, e.g. daily:
  cropstream clickhouse drop-before --clickhouse ch:9000 --keep-days 90`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			day, err := clickhouse.Cutoff(before, days, time.Now())
			if err != nil {
				return err
			}
			st, err := sf.clickhouse(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			dropped, err := st.DropBefore(cmd.Context(), day, dryRun)
			clickhouse.WriteDropped(cmd.OutOrStdout(), dropped, day, dryRun)
			return err
		},
	}
	drop.Flags().StringVar(&before, "date", "", "drop days before this date (YYYY-MM-DD, UTC)")
	drop.Flags().IntVar(&days, "keep-days", 0, "keep this many days before today")
	drop.Flags().BoolVar(&dryRun, "dry-run", false, "only list what would be dropped")

	var dir string
	load := &cobra.Command{
		Use:   "load",
		Short: "Load the JSONEachRow files a run without ClickHouse wrote (exactly once, like the sink)",
		Long: `Inserts the files under --analytics-dir into ClickHouse. Rows whose Kafka
partition and offset a table already holds are skipped, so loading twice, or
after the sink already stored some of the rows, stores each row once.
Rows ClickHouse cannot hold (a time before 1970 or after 2105, written by an
older sink) are not loaded; each is named on stderr with its file and line.
Without cropstream, each file also loads with clickhouse-client:
  cat DIR/detections/*.json | clickhouse-client --query "INSERT INTO cropstream.detections FORMAT JSONEachRow"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := sf.clickhouse(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			if _, err := st.Migrate(cmd.Context()); err != nil {
				return err
			}
			files, err := jsonfile.Open(dir)
			if err != nil {
				return err
			}
			n, refused, err := files.CopyTo(cmd.Context(), st)
			for t, c := range n {
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%d rows loaded\n", t, c)
			}
			for _, r := range refused {
				fmt.Fprintf(cmd.ErrOrStderr(), "not loaded: %s\n", r)
			}
			return err
		},
	}
	load.Flags().StringVar(&dir, "analytics-dir", "cropstream-analytics", "directory the files are in")
	cmd.AddCommand(migrate, drop, load)
	return cmd
}
