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
		return t.writeGraph(w, dot)
	case "mermaid":
		return t.writeGraph(w, mermaid)
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

// graphSyntax is how one diagram language writes the topology: Printf
// formats for a topic (id, name, partitions, key), a group (id, name), a
// data edge (from, to) and a group's state table (group, table).
type graphSyntax struct {
	head, tail, topic, group, edge, state string
}

var (
	dot = graphSyntax{
		head:  "digraph cropstream {\n  rankdir=TB;\n",
		tail:  "}\n",
		topic: "  %s [shape=box, label=\"%s\\n%d partitions, key %s\"];\n",
		group: "  %s [shape=ellipse, style=bold, label=\"%s\"];\n",
		edge:  "  %s -> %s;\n",
		state: "  %s -> %s [dir=both, style=dashed, label=\"state\"];\n",
	}
	mermaid = graphSyntax{
		head:  "flowchart TD\n",
		topic: "  %s[\"%s<br/>%d partitions, key %s\"]\n",
		group: "  %s((%s))\n",
		edge:  "  %s --> %s\n",
		state: "  %s <-.state.-> %s\n",
	}
)

func (t *Topology) writeGraph(w io.Writer, syn graphSyntax) error {
	var b strings.Builder
	b.WriteString(syn.head)
	for _, s := range t.Topics {
		fmt.Fprintf(&b, syn.topic, id("t", string(s.Name)), s.Name, s.Partitions, s.Key)
	}
	for _, g := range t.Groups {
		gid := id("g", string(g.Name))
		fmt.Fprintf(&b, syn.group, gid, g.Name)
		for _, in := range g.Inputs {
			fmt.Fprintf(&b, syn.edge, id("t", string(in)), gid)
		}
		for _, out := range g.Outputs {
			fmt.Fprintf(&b, syn.edge, gid, id("t", string(out)))
		}
		if g.Table != nil {
			fmt.Fprintf(&b, syn.state, gid, id("t", string(*g.Table)))
		}
	}
	b.WriteString(syn.tail)
	_, err := io.WriteString(w, b.String())
	return err
}
