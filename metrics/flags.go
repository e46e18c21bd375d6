package metrics

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/pflag"
)

// RegisterFlags registers --metrics-addr (Addr; AddrExplicit once given)
// and --pyroscope-url.
func (c *ObserveConfig) RegisterFlags(f *pflag.FlagSet) {
	c.Addr = DefaultAddr
	f.Var(explicitAddr{c}, "metrics-addr", "serve /metrics, /healthz and /readyz here (\"\" turns it off)")
	f.StringVar(&c.Pyroscope, "pyroscope-url", "", "send continuous CPU and memory profiles to this Pyroscope server, labelled by stage")
}

// explicitAddr is --metrics-addr: setting it says the address was asked for.
type explicitAddr struct{ c *ObserveConfig }

func (a explicitAddr) String() string { return a.c.Addr }
func (a explicitAddr) Type() string   { return "string" }
func (a explicitAddr) Set(v string) error {
	a.c.Addr, a.c.AddrExplicit = v, true
	return nil
}

// LogConfig is how a process logs: text or JSON lines on stderr, from a
// level up.
type LogConfig struct {
	JSON  bool
	Level string
}

// RegisterFlags registers --log-json and --log-level.
func (c *LogConfig) RegisterFlags(f *pflag.FlagSet) {
	f.BoolVar(&c.JSON, "log-json", false, "log JSON lines instead of text")
	f.StringVar(&c.Level, "log-level", "info", "log level: debug, info, warn, error")
}

// Setup makes c the default slog logger's.
func (c LogConfig) Setup() error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.Level)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if c.JSON {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	slog.SetDefault(slog.New(h))
	return nil
}
