package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/sinks/clickhouse"
	"github.com/cropstream/cropstream/sinks/stores"
	"github.com/cropstream/cropstream/topology"
)

// out is what a command prints: v as JSON when the command's --json is set,
// else text (either may be nil).
type out struct {
	v    any
	text func(io.Writer) error
}

// say is an out of one line of text.
func say(format string, a ...any) out {
	return out{text: func(w io.Writer) error { _, err := fmt.Fprintf(w, format+"\n", a...); return err }}
}

// report is an out of v, printed by write as text.
func report(v any, write func(io.Writer)) out {
	return out{v: v, text: func(w io.Writer) error { write(w); return nil }}
}

// jsonOut is an out of v printed as JSON, with or without --json.
func jsonOut(v any) out {
	return out{text: func(w io.Writer) error { return printJSON(w, v) }}
}

// table is an out of v, printed by write as text.
func table[T any](v T, write func(io.Writer, T) error) out {
	return out{v: v, text: func(w io.Writer) error { return write(w, v) }}
}

// runCmd sets c to run f and print what it returns. A command that prints
// what it did before an error prints it itself.
func runCmd(c *cobra.Command, f func(cmd *cobra.Command, args []string) (out, error)) *cobra.Command {
	c.RunE = func(cmd *cobra.Command, args []string) error {
		o, err := f(cmd, args)
		switch asJSON, _ := cmd.Flags().GetBool("json"); {
		case err != nil:
			return err
		case asJSON && o.v != nil:
			return printJSON(cmd.OutOrStdout(), o.v)
		case o.text != nil:
			return o.text(cmd.OutOrStdout())
		}
		return nil
	}
	return c
}

// check makes f a PreRunE: checks of the flags before any connection. Cobra
// checks required flags only after PreRunE; check does so first, so a
// missing flag is named rather than what its absence breaks.
func check(f func(args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := cmd.ValidateRequiredFlags(); err != nil {
			return err
		}
		return f(args)
	}
}

// connCmd is runCmd of a command on the topics: f has a connection to Kafka
// whose topics exist.
func (g *globals) connCmd(c *cobra.Command, f func(cmd *cobra.Command, conn *broker.Conn, args []string) (out, error)) *cobra.Command {
	return runCmd(c, func(cmd *cobra.Command, args []string) (o out, err error) {
		err = g.withConn(cmd.Context(), func(conn *broker.Conn) error {
			o, err = f(cmd, conn, args)
			return err
		})
		return o, err
	})
}

// adminCmd is runCmd of a command on the cluster's topics and groups.
func (g *globals) adminCmd(c *cobra.Command, f func(cmd *cobra.Command, adm *kadm.Client, top *topology.Topology) (out, error)) *cobra.Command {
	return runCmd(c, func(cmd *cobra.Command, _ []string) (out, error) {
		conn, top, err := g.open(cmd.Context())
		if err != nil {
			return out{}, err
		}
		defer conn.Close()
		adm, cl, err := conn.Admin()
		if err != nil {
			return out{}, err
		}
		defer cl.Close()
		return f(cmd, adm, top)
	})
}

// storeCmd is runCmd of a command on ClickHouse, at the address sc's flags
// give.
func storeCmd(c *cobra.Command, sc *stores.Config, f func(cmd *cobra.Command, st *clickhouse.Store) (out, error)) *cobra.Command {
	return runCmd(c, func(cmd *cobra.Command, _ []string) (out, error) {
		st, err := sc.OpenClickHouse(cmd.Context())
		if err != nil {
			return out{}, err
		}
		defer st.Close()
		return f(cmd, st)
	})
}

// jsonFlag gives c the --json that runCmd reads.
func jsonFlag(c *cobra.Command, usage string) *cobra.Command {
	c.Flags().Bool("json", false, usage)
	return c
}
