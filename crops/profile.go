package crops

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

//go:embed profiles/*.yaml
var builtin embed.FS

// Dist is a mean and standard deviation.
type Dist struct {
	Mean float64 `yaml:"mean"`
	SD   float64 `yaml:"sd"`
}

// Yield says how counted items become mass.
type Yield struct {
	// Strategy is "units" (mass = units x unit mass) or "clusters" (mass =
	// clusters x berries per cluster x berry mass).
	Strategy          string `yaml:"strategy"`
	UnitMassG         *Dist  `yaml:"unit_mass_g"`
	BerriesPerCluster *Dist  `yaml:"berries_per_cluster"`
	BerryMassG        *Dist  `yaml:"berry_mass_g"`
}

// Profile is one crop.
type Profile struct {
	Name      string   `yaml:"name"`
	Hierarchy []string `yaml:"hierarchy"`
	Class     string   `yaml:"class"`
	Yield     Yield    `yaml:"yield"`
	// Sampling is the prior for planning hand counts (optional).
	Sampling Sampling `yaml:"sampling"`
}

// CheckClasses says whether the model named model, which detects names,
// has the class the profile counts.
func (p *Profile) CheckClasses(model string, names []string) error {
	if !slices.Contains(names, p.Class) {
		return fmt.Errorf("crop %s counts class %q, which model %s does not have (its classes: %s): give --crop a profile of one of them, or another --model",
			p.Name, p.Class, model, strings.Join(names, ", "))
	}
	return nil
}

// Load reads a profile file, or a builtin one by crop name.
func Load(name string) (*Profile, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		bb, berr := builtin.ReadFile("profiles/" + name + ".yaml")
		if berr != nil {
			return nil, fmt.Errorf("crop profile %s: %w (builtin: apple, citrus, grape)", name, err)
		}
		b = bb
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("crop profile %s: %w", name, err)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("crop profile %s: %w", name, err)
	}
	return &p, nil
}

// Profiles is a stage's profiles by crop name, each loaded once: the stages
// meet crops by name on every record. The zero value is ready to use.
type Profiles struct {
	mu     sync.Mutex
	loaded map[string]*Profile
}

// Get is crop's profile, loaded on its first use. A crop that does not
// load gets what failed(err) returns, kept as its profile unless that is an
// error.
func (c *Profiles) Get(crop string, failed func(error) (*Profile, error)) (*Profile, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.loaded[crop]; ok {
		return p, nil
	}
	p, err := Load(crop)
	if err != nil {
		if p, err = failed(err); err != nil {
			return nil, err
		}
	}
	if c.loaded == nil {
		c.loaded = map[string]*Profile{}
	}
	c.loaded[crop] = p
	return p, nil
}

// Validate checks the profile; errors name the field.
func (p *Profile) Validate() error {
	var errs []error
	if p.Name == "" {
		errs = append(errs, errors.New("name: required"))
	}
	if p.Class == "" {
		errs = append(errs, errors.New("class: required (the detector class that is counted)"))
	}
	if len(p.Hierarchy) < 2 || p.Hierarchy[0] != "plant" || p.Hierarchy[len(p.Hierarchy)-1] != "unit" {
		errs = append(errs, fmt.Errorf("hierarchy: want [plant, ..., unit], got %v", p.Hierarchy))
	}
	pos := func(field string, d *Dist) {
		if d == nil || d.Mean <= 0 || d.SD < 0 {
			errs = append(errs, fmt.Errorf("yield.%s: want a positive mean and sd >= 0", field))
		}
	}
	switch p.Yield.Strategy {
	case "units":
		pos("unit_mass_g", p.Yield.UnitMassG)
	case "clusters":
		pos("berries_per_cluster", p.Yield.BerriesPerCluster)
		pos("berry_mass_g", p.Yield.BerryMassG)
		if !strings.Contains(strings.Join(p.Hierarchy, ","), "cluster") {
			errs = append(errs, errors.New("hierarchy: the clusters strategy needs a cluster level"))
		}
	default:
		errs = append(errs, fmt.Errorf("yield.strategy: want units or clusters, got %q", p.Yield.Strategy))
	}
	if s := p.Sampling; s.VisibilityCV < 0 || s.Visibility < 0 || s.Visibility > 1 {
		errs = append(errs, fmt.Errorf("sampling: want visibility_cv >= 0 and visibility in [0, 1], got %v, %v", s.VisibilityCV, s.Visibility))
	}
	return errors.Join(errs...)
}

// ItemMass is the mass of one counted item (a fruit, or a cluster) in grams:
// its mean, and the standard deviation of one item.
func (p *Profile) ItemMass() Dist {
	y := p.Yield
	if y.Strategy == "clusters" {
		b, m := *y.BerriesPerCluster, *y.BerryMassG
		mean := b.Mean * m.Mean
		// Var of a sum of N iid berries with random N: E[N]Var(m) + Var(N)E[m]^2.
		sd := math.Sqrt(b.Mean*m.SD*m.SD + b.SD*b.SD*m.Mean*m.Mean)
		return Dist{Mean: mean, SD: sd}
	}
	return *y.UnitMassG
}
