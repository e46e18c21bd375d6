package topology

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Formats accepted by Write.
var Formats = []string{"text", "json", "dot", "mermaid"}

// Write prints the topology in format (text, json, dot or mermaid).
func (t *Topology) Write(w io.Writer, format string) error {
	switch format {
	case "text":
		return t.writeText(w)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(t)
	case "dot":
		return t.writeDot(w)
	case "mermaid":
		return t.writeMermaid(w)
	}
	return fmt.Errorf("unknown format %q, want one of %s", format, strings.Join(Formats, ", "))
}

func retention(ms int64) string {
	if ms < 0 {
		return "forever"
	}
	return time.Duration(ms * int64(time.Millisecond)).String()
}

func (t *Topology) writeText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPARTITIONS\tKEY\tCODEC\tCLEANUP\tRETENTION\tMAX BYTES")
	for _, s := range t.Topics {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%d\n", s.Name, s.Partitions, s.Key, s.Codec, s.Cleanup, retention(s.RetentionMs), s.MaxMessageBytes)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "GROUP\tINPUTS\tOUTPUTS\tTABLE\tDOES")
	for _, g := range t.Groups {
		table := "-"
		if g.Table != nil {
			table = string(*g.Table)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", g.Name, join(g.Inputs), join(g.Outputs), table, g.Doc)
	}
	return tw.Flush()
}

func join(ts []Topic) string {
	if len(ts) == 0 {
		return "-"
	}
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ",")
}

// id makes a name usable as a dot or mermaid node id ("track-table" has a dash).
func id(prefix, name string) string {
	return prefix + "_" + strings.NewReplacer("-", "_", ".", "_").Replace(name)
}

func (t *Topology) writeDot(w io.Writer) error {
	var b strings.Builder
	b.WriteString("digraph cropstream {\n  rankdir=TB;\n")
	for _, s := range t.Topics {
		fmt.Fprintf(&b, "  %s [shape=box, label=\"%s\\n%d partitions, key %s\"];\n", id("t", string(s.Name)), s.Name, s.Partitions, s.Key)
	}
	for _, g := range t.Groups {
		fmt.Fprintf(&b, "  %s [shape=ellipse, style=bold, label=\"%s\"];\n", id("g", string(g.Name)), g.Name)
		for _, in := range g.Inputs {
			fmt.Fprintf(&b, "  %s -> %s;\n", id("t", string(in)), id("g", string(g.Name)))
		}
		for _, out := range g.Outputs {
			fmt.Fprintf(&b, "  %s -> %s;\n", id("g", string(g.Name)), id("t", string(out)))
		}
		if g.Table != nil {
			fmt.Fprintf(&b, "  %s -> %s [dir=both, style=dashed, label=\"state\"];\n", id("g", string(g.Name)), id("t", string(*g.Table)))
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func (t *Topology) writeMermaid(w io.Writer) error {
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	for _, s := range t.Topics {
		fmt.Fprintf(&b, "  %s[\"%s<br/>%d partitions, key %s\"]\n", id("t", string(s.Name)), s.Name, s.Partitions, s.Key)
	}
	for _, g := range t.Groups {
		fmt.Fprintf(&b, "  %s((%s))\n", id("g", string(g.Name)), g.Name)
		for _, in := range g.Inputs {
			fmt.Fprintf(&b, "  %s --> %s\n", id("t", string(in)), id("g", string(g.Name)))
		}
		for _, out := range g.Outputs {
			fmt.Fprintf(&b, "  %s --> %s\n", id("g", string(g.Name)), id("t", string(out)))
		}
		if g.Table != nil {
			fmt.Fprintf(&b, "  %s <-.state.-> %s\n", id("g", string(g.Name)), id("t", string(*g.Table)))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
