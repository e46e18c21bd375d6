package broker

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// --brokers is one comma-separated string, as it was before the flags moved
// here: absent or "" is the embedded broker, and GetString reads it back.
func TestBrokersFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{nil, nil},
		{[]string{"--brokers", ""}, nil},
		{[]string{"--brokers", "k1:9092,k2:9092"}, []string{"k1:9092", "k2:9092"}},
	} {
		var c Config
		f := pflag.NewFlagSet("t", pflag.ContinueOnError)
		c.RegisterFlags(f)
		if err := f.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		s, err := f.GetString("brokers")
		if !slices.Equal(c.Brokers, tc.want) || c.Embedded() != (tc.want == nil) || err != nil || s != strings.Join(tc.want, ",") {
			t.Errorf("%v: brokers %q (embedded %v), GetString %q %v", tc.args, c.Brokers, c.Embedded(), s, err)
		}
		if c.DataDir != "./data" || c.SaramaVersion != "2.0.0" {
			t.Errorf("%v: defaults %q %q", tc.args, c.DataDir, c.SaramaVersion)
		}
	}
}
