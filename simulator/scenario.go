package simulator

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

//go:embed scenarios/*.yaml
var builtin embed.FS

// Dist is a normal distribution, truncated to positive values when sampled.
type Dist struct {
	Mean float64 `yaml:"mean"`
	SD   float64 `yaml:"sd"`
}

// Camera describes the moving camera.
type Camera struct {
	// ID is the camera id the frames carry. Default "sim-cam-1".
	ID string `yaml:"id"`
	// SpeedMPS is the mean speed along the row (it varies ±15 %).
	SpeedMPS float64 `yaml:"speed_mps"`
	FPS      float64 `yaml:"fps"`
	Width    int     `yaml:"width"`
	Height   int     `yaml:"height"`
	// JitterPx is the amplitude of the camera's shake, in pixels.
	JitterPx float64 `yaml:"jitter_px"`
	// DropRate is the probability that a frame is lost.
	DropRate float64 `yaml:"drop_rate"`
	// ViewWidthM is the width of the canopy the frame spans. Default 2.5 m.
	ViewWidthM float64 `yaml:"view_width_m"`
	// ExposureS is the shutter time, which sets motion blur. Default 1/125 s.
	ExposureS float64 `yaml:"exposure_s"`
}

// Lighting bounds the brightness gain, which drifts along each row.
type Lighting struct {
	Min float64 `yaml:"min"`
	Max float64 `yaml:"max"`
}

// Scenario is a simulated block. See docs/simulator.md for every field.
type Scenario struct {
	Seed          uint64  `yaml:"seed"`
	Crop          string  `yaml:"crop"`
	Field         string  `yaml:"field"`
	Block         string  `yaml:"block"`
	Rows          int     `yaml:"rows"`
	PlantsPerRow  int     `yaml:"plants_per_row"`
	PlantSpacingM float64 `yaml:"plant_spacing_m"`
	UnitsPerPlant Dist    `yaml:"units_per_plant"`
	// UnitMassG is the fruit mass (apple, citrus). For grape the cluster
	// mass follows from BerriesPerCluster and BerryMassG.
	UnitMassG         *Dist    `yaml:"unit_mass_g"`
	BerriesPerCluster *Dist    `yaml:"berries_per_cluster"`
	BerryMassG        *Dist    `yaml:"berry_mass_g"`
	Occlusion         float64  `yaml:"occlusion"`
	Camera            Camera   `yaml:"camera"`
	Lighting          Lighting `yaml:"lighting"`
	// StartTime is the capture time of the first frame. Default
	// 2026-09-01T08:00:00Z, so runs are reproducible.
	StartTime time.Time `yaml:"start_time"`
	// Name is the file name or builtin name it was loaded from.
	Name string `yaml:"-"`
}

// DefaultStartTime is the capture time of a scenario's first frame when its
// file gives none: fixed, so renders and frame ids are reproducible.
var DefaultStartTime = time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)

// StartOrNow is the capture start of a demo: the file's start_time, or now
// (to the millisecond) when it gives none, so dashboards of the last days
// show the frames.
func (s *Scenario) StartOrNow() time.Time {
	if s.StartTime.Equal(DefaultStartTime) {
		return time.Now().UTC().Truncate(time.Millisecond)
	}
	return s.StartTime
}

// Crops the simulator renders.
var Crops = []string{"apple", "citrus", "grape"}

// Load reads a scenario file, or a builtin scenario by name ("default",
// "citrus", "grape").
func Load(name string) (*Scenario, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		bb, berr := builtin.ReadFile("scenarios/" + name + ".yaml")
		if berr != nil {
			return nil, fmt.Errorf("scenario %s: %w (builtin scenarios: %s)", name, err, strings.Join(Builtin(), ", "))
		}
		b = bb
	}
	s, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", name, err)
	}
	s.Name = name
	return s, nil
}

// Builtin lists the scenarios shipped in the binary.
func Builtin() []string {
	entries, _ := builtin.ReadDir("scenarios")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), path.Ext(e.Name())))
	}
	sort.Strings(names)
	return names
}

// Parse decodes YAML strictly (unknown fields are errors), applies defaults
// and validates.
func Parse(b []byte) (*Scenario, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var s Scenario
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	s.setDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

func (s *Scenario) setDefaults() {
	if s.Field == "" {
		s.Field = "F1"
	}
	if s.Block == "" {
		s.Block = "B1"
	}
	c := &s.Camera
	if c.ID == "" {
		c.ID = "sim-cam-1"
	}
	if c.ViewWidthM == 0 {
		c.ViewWidthM = 2.5
	}
	if c.ExposureS == 0 {
		c.ExposureS = 1.0 / 125
	}
	if s.Crop == "grape" {
		if s.BerriesPerCluster == nil {
			s.BerriesPerCluster = &Dist{Mean: 90, SD: 20}
		}
		if s.BerryMassG == nil {
			s.BerryMassG = &Dist{Mean: 1.8, SD: 0.25}
		}
	}
	if s.StartTime.IsZero() {
		s.StartTime = DefaultStartTime
	}
}

// Validate checks every value; each error names its field.
func (s *Scenario) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	inRange := func(field string, v, lo, hi float64) {
		if !(v >= lo && v <= hi) {
			bad(field, "must be in [%g, %g], got %g", lo, hi, v)
		}
	}
	dist := func(field string, d *Dist, lo, hi float64) {
		if d == nil {
			bad(field, "is required")
			return
		}
		inRange(field+".mean", d.Mean, lo, hi)
		inRange(field+".sd", d.SD, 0, hi)
	}
	switch s.Crop {
	case "apple", "citrus":
		dist("unit_mass_g", s.UnitMassG, 20, 1000)
		if s.BerriesPerCluster != nil || s.BerryMassG != nil {
			bad("berries_per_cluster", "only for crop grape")
		}
	case "grape":
		if s.UnitMassG != nil {
			bad("unit_mass_g", "not used for grape: cluster mass is berries_per_cluster x berry_mass_g")
		}
		dist("berries_per_cluster", s.BerriesPerCluster, 5, 400)
		dist("berry_mass_g", s.BerryMassG, 0.3, 10)
	default:
		bad("crop", "must be one of %s, got %q", strings.Join(Crops, ", "), s.Crop)
	}
	if s.Rows < 1 || s.Rows > 100 {
		bad("rows", "must be in [1, 100], got %d", s.Rows)
	}
	if s.PlantsPerRow < 1 || s.PlantsPerRow > 500 {
		bad("plants_per_row", "must be in [1, 500], got %d", s.PlantsPerRow)
	}
	inRange("plant_spacing_m", s.PlantSpacingM, 0.3, 10)
	dist("units_per_plant", &s.UnitsPerPlant, 0, 600)
	inRange("occlusion", s.Occlusion, 0, 0.9)
	c := s.Camera
	inRange("camera.speed_mps", c.SpeedMPS, 0.05, 10)
	inRange("camera.fps", c.FPS, 1, 120)
	if c.Width < 64 || c.Width > 7680 {
		bad("camera.width", "must be in [64, 7680], got %d", c.Width)
	}
	if c.Height < 64 || c.Height > 4320 {
		bad("camera.height", "must be in [64, 4320], got %d", c.Height)
	}
	inRange("camera.jitter_px", c.JitterPx, 0, 64)
	inRange("camera.drop_rate", c.DropRate, 0, 0.5)
	inRange("camera.view_width_m", c.ViewWidthM, 0.3, 20)
	inRange("camera.exposure_s", c.ExposureS, 1e-5, 0.1)
	if c.SpeedMPS > 0 && c.FPS > 0 && c.ViewWidthM > 0 && c.SpeedMPS/c.FPS > c.ViewWidthM/2 {
		bad("camera.speed_mps", "moves %.2f m per frame, over half the %.2f m view: nothing could be tracked", c.SpeedMPS/c.FPS, c.ViewWidthM)
	}
	inRange("lighting.min", s.Lighting.Min, 0.1, 3)
	inRange("lighting.max", s.Lighting.Max, 0.1, 3)
	if s.Lighting.Max < s.Lighting.Min {
		bad("lighting.max", "must be >= lighting.min")
	}
	if len(errs) == 0 {
		// Only with sane fields, which the sizes are computed from.
		if pw, ph, fw, _ := s.rowSceneSize(); int64(fw)*int64(ph)*3 > MaxRowLayerBytes {
			rowLen := float64(s.PlantsPerRow) * s.PlantSpacingM
			maxLen := (float64(MaxRowLayerBytes)/float64(3*ph)-float64(s.Camera.Width)-2)/parallax/s.PixelsPerMetre() - 2*s.Camera.ViewWidthM
			bad("plants_per_row", "a row of %.0f m (%d plants x %g m) at %.0f px/m (camera.width / camera.view_width_m) is a %dx%d px scene needing about %.1f GB: the simulator renders a row whole and allows at most about %.0f m at this scale; use shorter rows (more rows of fewer plants) or fewer pixels per metre",
				rowLen, s.PlantsPerRow, s.PlantSpacingM, s.PixelsPerMetre(), pw, ph, float64(s.RowSceneBytes())/1e9, max(maxLen, 0))
		}
	}
	if s.Block == "" || strings.ContainsAny(s.Block, " /") {
		bad("block", "must be a non-empty id without spaces or slashes")
	}
	return errors.Join(errs...)
}

// PixelsPerMetre is the scale of the canopy plane in the frame.
func (s *Scenario) PixelsPerMetre() float64 { return float64(s.Camera.Width) / s.Camera.ViewWidthM }

// RowID names row r (0-based) of the block.
func (s *Scenario) RowID(r int) string { return fmt.Sprintf("%s-R%d", s.Block, r+1) }

// PlantID names plant p (0-based) of row r.
func (s *Scenario) PlantID(r, p int) string { return fmt.Sprintf("%s-R%d-P%03d", s.Block, r+1, p+1) }
