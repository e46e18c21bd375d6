package fleet

import (
	"strings"
	"testing"
	"time"

	"github.com/cropstream/cropstream/topology"
)

func TestBackoffGrowsCapsAndJitters(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
	var waits []time.Duration
	for i := 0; i < 40; i++ {
		waits = append(waits, b.Next())
	}
	for i, w := range waits {
		ceil := min(time.Second, 100*time.Millisecond<<min(i, 20))
		if w < ceil/2 || w > ceil {
			t.Fatalf("wait %d = %s, want within [%s, %s]", i, w, ceil/2, ceil)
		}
	}
	distinct := map[time.Duration]bool{}
	for _, w := range waits[10:] {
		distinct[w] = true
	}
	if len(distinct) < 10 {
		t.Fatalf("capped waits not jittered: %v", waits[10:])
	}
	b.Reset()
	if w := b.Next(); w > 100*time.Millisecond {
		t.Fatalf("after Reset wait %s, want <= 100ms", w)
	}
}

func TestConfigValidate(t *testing.T) {
	top, err := topology.New(topology.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{}, ""},
		{Config{SessionTimeout: 100 * time.Millisecond}, "session timeout"},
		{Config{ReportEvery: -time.Second}, "report interval"},
		{Config{Backoff: Backoff{Initial: 2 * time.Second, Max: time.Second}}, "backoff"},
		{Config{JPEGQuality: 101}, "jpeg quality"},
		{Config{MaxBufferedBytes: 1000}, "buffer per camera"},
	}
	for _, c := range cases {
		err := c.cfg.withDefaults(top).Validate(top)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}
