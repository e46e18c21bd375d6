package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cropstream/cropstream/sinks"
	"github.com/cropstream/cropstream/sinks/clickhouse"
	"github.com/cropstream/cropstream/sinks/jsonfile"
)

// sinkFlags say where the analytics rows go: ClickHouse, or files.
type sinkFlags struct {
	ch  clickhouse.Config
	dir string
}

func (s *sinkFlags) register(f *pflag.FlagSet, withDir bool) {
	f.StringSliceVar(&s.ch.Addr, "clickhouse", nil, "ClickHouse native address(es) host:9000 (password from $"+clickhouse.PasswordEnv+")")
	f.StringVar(&s.ch.Database, "clickhouse-db", "cropstream", "ClickHouse database")
	f.StringVar(&s.ch.User, "clickhouse-user", "default", "ClickHouse user")
	f.BoolVar(&s.ch.TLS, "clickhouse-tls", false, "connect to ClickHouse with TLS (native port 9440)")
	f.StringVar(&s.ch.CAFile, "clickhouse-ca", "", "PEM CA that signed ClickHouse's certificate")
	if withDir {
		f.StringVar(&s.dir, "analytics-dir", "", "without --clickhouse: write the analytics rows here as JSONEachRow files")
	}
}

// store opens ClickHouse when configured, else files in dir (or
// fallbackDir); nil when neither is set.
func (s *sinkFlags) store(ctx context.Context, fallbackDir string) (sinks.Store, string, error) {
	if len(s.ch.Addr) > 0 {
		st, err := clickhouse.Open(ctx, s.ch)
		if err != nil {
			return nil, "", err
		}
		return st, "ClickHouse " + strings.Join(s.ch.Addr, ",") + " database " + st.Database(), nil
	}
	dir := s.dir
	if dir == "" {
		dir = fallbackDir
	}
	if dir == "" {
		return nil, "", nil
	}
	st, err := jsonfile.Open(dir)
	if err != nil {
		return nil, "", err
	}
	return st, "files in " + dir, nil
}

func (s *sinkFlags) clickhouse(ctx context.Context) (*clickhouse.Store, error) {
	if len(s.ch.Addr) == 0 {
		return nil, fmt.Errorf("--clickhouse host:9000 is required")
	}
	return clickhouse.Open(ctx, s.ch)
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
			if len(applied) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "schema of %s is current\n", st.Database())
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "applied migrations %v to %s\n", applied, st.Database())
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
			var day time.Time
			switch {
			case before != "":
				d, err := time.Parse("2006-01-02", before)
				if err != nil {
					return fmt.Errorf("--date: %w", err)
				}
				day = d
			case days > 0:
				day = time.Now().UTC().AddDate(0, 0, -days)
			default:
				return fmt.Errorf("--date YYYY-MM-DD or --keep-days N is required")
			}
			st, err := sf.clickhouse(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			dropped, err := st.DropBefore(cmd.Context(), day, dryRun)
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			verb := "dropped"
			if dryRun {
				verb = "would drop"
			}
			for _, d := range dropped {
				fmt.Fprintf(tw, "%s\t%s\tpartition %s\t%d rows\n", verb, d.Table, d.Partition, d.Rows)
			}
			tw.Flush()
			if len(dropped) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "nothing before %s\n", day.Format("2006-01-02"))
			}
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
			n, refused, err := loadFiles(cmd.Context(), st, dir)
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

// loadFiles reads the file store's tables and inserts the rows ClickHouse
// does not hold yet. It also returns the rows it refused (a time
// ClickHouse's DateTime cannot hold), each named by file and line: one such
// row must not keep the others out, as it would fail the whole insert.
func loadFiles(ctx context.Context, st *clickhouse.Store, dir string) (map[string]int, []string, error) {
	if _, err := st.Migrate(ctx); err != nil {
		return nil, nil, err
	}
	files, err := jsonfile.Open(dir)
	if err != nil {
		return nil, nil, err
	}
	out := map[string]int{}
	var refused []string
	for _, t := range sinks.Tables() {
		have, err := st.Resume(ctx, t)
		if err != nil {
			return out, refused, err
		}
		paths, err := files.Files(t)
		if err != nil {
			return out, refused, err
		}
		for _, p := range paths {
			rows, err := jsonfile.ReadRows(p, t)
			if err != nil {
				return out, refused, fmt.Errorf("load %s: %w", filepath.Base(p), err)
			}
			keep := rows[:0]
			pc, oc := len(t.Columns)-2, len(t.Columns)-1
			for i, r := range rows {
				if o, ok := have[r[pc].(int32)]; ok && r[oc].(int64) <= o {
					continue
				}
				if err := t.CheckRow(r); err != nil {
					refused = append(refused, fmt.Sprintf("%s line %d: %v", p, i+1, err))
					continue
				}
				keep = append(keep, r)
			}
			// One insert per day, as the sink does.
			for len(keep) > 0 {
				day := t.Day(keep[0])
				n := 0
				for n < len(keep) && t.Day(keep[n]) == day {
					n++
				}
				if err := st.Insert(ctx, t, keep[:n]); err != nil {
					return out, refused, err
				}
				out[t.Name] += n
				keep = keep[n:]
			}
		}
	}
	return out, refused, nil
}
