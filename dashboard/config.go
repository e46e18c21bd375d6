package dashboard

import (
	"errors"

	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/processors/track"
)

// Config configures the page and the API.
type Config struct {
	// Addr is where they are served, host:port. Required; a loopback
	// address keeps them to this machine.
	Addr string
	// MaxFPS is how many frames a second each camera's panel shows at most.
	// Default 5.
	MaxFPS float64
	// FrameBudget is how many bytes of frames may wait for their track state
	// before the feed pauses frames. Default 64 MiB.
	FrameBudget int64
	// Default is the crop profile of blocks not in the field map (for their
	// estimates). Default apple.
	Default *crops.Profile
	// KeepLast is for a page that outlives the pipeline (run --ui-hold):
	// detaching then first reads each camera's latest frames, so that a page
	// opened afterwards still shows them.
	KeepLast bool
	// Track are the tracker's parameters, for whether an open track would
	// count (zero: the model's count scores, as the track stage takes them).
	Track track.Params
}

// Validate reports a config that cannot serve.
func (c Config) Validate() error {
	if c.Addr == "" {
		return errors.New("dashboard: no address")
	}
	if c.MaxFPS < 0 || c.FrameBudget < 0 {
		return errors.New("dashboard: negative MaxFPS or FrameBudget")
	}
	return nil
}

func (c Config) withDefaults() (Config, error) {
	if c.MaxFPS == 0 {
		c.MaxFPS = 5
	}
	if c.FrameBudget == 0 {
		c.FrameBudget = 64 << 20
	}
	if c.Default == nil {
		p, err := crops.Load("apple")
		if err != nil {
			return c, err
		}
		c.Default = p
	}
	return c, nil
}
