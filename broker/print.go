package broker

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteStatuses prints one line per topic (created, missing, differs or ok)
// with the configs fixed and the differences left under it.
func WriteStatuses(w io.Writer, sts []TopicStatus) {
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

// Drift is ErrTopicDrift naming the topics not as declared; nil when all are.
func Drift(sts []TopicStatus) error {
	var bad []string
	for _, st := range sts {
		if !st.OK() {
			bad = append(bad, string(st.Spec.Name))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrTopicDrift, strings.Join(bad, ", "))
	}
	return nil
}

// WriteLag prints rows as the table `cropstream lag` shows.
func WriteLag(w io.Writer, rows []PartitionLag) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "no consumer groups with committed offsets")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tSTATE\tTOPIC\tPARTITION\tCOMMITTED\tEND\tLAG\tMEMBER\tCLIENT\tHOST")
	for _, r := range rows {
		member := r.Member
		if member == "" {
			member = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", r.Group, r.State, r.Topic, r.Partition, r.Committed, r.End, r.Lag, member, r.ClientID, r.Host)
	}
	return tw.Flush()
}
