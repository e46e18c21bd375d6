package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/sinks/clickhouse"
	"github.com/cropstream/cropstream/sinks/jsonfile"
	"github.com/cropstream/cropstream/sinks/stores"
)

func newClickHouseCmd() *cobra.Command {
	var sf stores.Config
	cmd := &cobra.Command{
		Use:   "clickhouse",
		Short: "Manage the ClickHouse analytics schema: migrate, retention, load files",
	}
	sf.RegisterFlags(cmd.PersistentFlags(), false)
	migrate := storeCmd(&cobra.Command{
		Use:   "migrate",
		Short: "Create or update the database, tables and rollups (idempotent; the sink runs it on start)",
		Args:  cobra.NoArgs,
	}, &sf, func(cmd *cobra.Command, st *clickhouse.Store) (out, error) {
		applied, err := st.Migrate(cmd.Context())
		return report(nil, func(w io.Writer) { clickhouse.WriteApplied(w, st.Database(), applied) }), err
	})

	var (
		before string
		days   int
		dryRun bool
		day    time.Time
	)
	drop := storeCmd(&cobra.Command{
		Use:   "drop-before",
		Short: "Retention: drop the daily partitions of the event tables older than a date",
		Long: `Drops whole days of frames, detections, objects, yield_estimates and
dead_letters older than --date (or --keep-days before today, UTC). Rollups keep
their history. ClickHouse 18.16 has no TTL, so run this from cron, e.g. daily:
  cropstream clickhouse drop-before --clickhouse ch:9000 --keep-days 90`,
		Args:    cobra.NoArgs,
		PreRunE: check(func([]string) (err error) { day, err = clickhouse.Cutoff(before, days, time.Now()); return err }),
	}, &sf, func(cmd *cobra.Command, st *clickhouse.Store) (out, error) {
		dropped, err := st.DropBefore(cmd.Context(), day, dryRun)
		clickhouse.WriteDropped(cmd.OutOrStdout(), dropped, day, dryRun)
		return out{}, err
	})
	drop.Flags().StringVar(&before, "date", "", "drop days before this date (YYYY-MM-DD, UTC)")
	drop.Flags().IntVar(&days, "keep-days", 0, "keep this many days before today")
	drop.Flags().BoolVar(&dryRun, "dry-run", false, "only list what would be dropped")

	var dir string
	load := storeCmd(&cobra.Command{
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
	}, &sf, func(cmd *cobra.Command, st *clickhouse.Store) (out, error) {
		if _, err := st.Migrate(cmd.Context()); err != nil {
			return out{}, err
		}
		files, err := jsonfile.Open(dir)
		if err != nil {
			return out{}, err
		}
		n, refused, err := files.CopyTo(cmd.Context(), st)
		for t, c := range n {
			fmt.Fprintf(cmd.OutOrStdout(), "%s\t%d rows loaded\n", t, c)
		}
		for _, r := range refused {
			fmt.Fprintf(cmd.ErrOrStderr(), "not loaded: %s\n", r)
		}
		return out{}, err
	})
	load.Flags().StringVar(&dir, "analytics-dir", "cropstream-analytics", "directory the files are in")
	cmd.AddCommand(migrate, drop, load)
	return cmd
}
