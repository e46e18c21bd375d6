package simulator

import (
	"math"
	"math/rand/v2"
)

// ClassNames are the object classes the simulator labels, by class id. They
// are shared by every crop so one detector can serve them all.
var ClassNames = []string{"apple", "citrus", "grape_cluster"}

// ClassOf is the class id of a crop's unit.
func ClassOf(crop string) int {
	switch crop {
	case "citrus":
		return 1
	case "grape":
		return 2
	}
	return 0
}

// farSide is the share of a plant's units on the far side of the canopy,
// which a camera on this side never sees.
const farSide = 0.25

// Unit is one fruit (apple, citrus) or cluster (grape).
type Unit struct {
	ID      int     `json:"id"` // 1-based, unique in the scenario
	Row     int     `json:"-"`
	Plant   int     `json:"-"`
	PlantID string  `json:"plant_id"`
	RowID   string  `json:"row_id"`
	ClassID int     `json:"class_id"`
	MassG   float64 `json:"mass_g"`
	Berries int     `json:"berries,omitempty"`
	// XM is the position along the row; YM the height below the top of the
	// view, both in metres on the canopy plane.
	XM float64 `json:"x_m"`
	YM float64 `json:"y_m"`
	// DiameterM is the fruit diameter or the cluster width.
	DiameterM float64 `json:"diameter_m"`
	// FarSide units are on the other side of the canopy: never rendered.
	FarSide bool `json:"far_side"`
	// MaxVisibility is the largest visible fraction in any frame.
	MaxVisibility float64 `json:"max_visibility"`
	Visible       bool    `json:"visible"`

	occlusion float64 // target share hidden by leaves drawn over it
	ripeness  float64
	shade     float64
	depth     float64
}

// Plant is one tree or vine.
type Plant struct {
	ID    string  `json:"plant_id"`
	Row   int     `json:"-"`
	Index int     `json:"-"`
	XM    float64 `json:"x_m"`
	Units []int   `json:"-"` // indexes into Layout.Units
}

// Layout is every plant and unit of a scenario.
type Layout struct {
	Plants [][]Plant // by row
	Units  []Unit
}

func normal(r *rand.Rand, d Dist, lo float64) float64 {
	return math.Max(lo, d.Mean+d.SD*r.NormFloat64())
}

// beta samples Beta(a, b) from two gamma variates (Marsaglia-Tsang).
func beta(r *rand.Rand, a, b float64) float64 {
	x, y := gamma(r, a), gamma(r, b)
	return x / (x + y)
}

func gamma(r *rand.Rand, a float64) float64 {
	if a < 1 {
		return gamma(r, a+1) * math.Pow(r.Float64(), 1/a)
	}
	d := a - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := r.Float64()
		if math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v
		}
	}
}

// fruitDiameterM is the diameter of a sphere of massG at density g/cm³.
func fruitDiameterM(massG, density float64) float64 {
	v := massG / density // cm³
	return 2 * math.Cbrt(3*v/(4*math.Pi)) / 100
}

// NewLayout places every plant and unit; deterministic in the seed.
func NewLayout(s *Scenario) *Layout {
	l := &Layout{Plants: make([][]Plant, s.Rows)}
	viewH := float64(s.Camera.Height) / s.PixelsPerMetre()
	class := ClassOf(s.Crop)
	for row := 0; row < s.Rows; row++ {
		r := rand.New(rand.NewPCG(s.Seed, 0x1a70+uint64(row)))
		for p := 0; p < s.PlantsPerRow; p++ {
			pl := Plant{ID: s.PlantID(row, p), Row: row, Index: p, XM: (float64(p) + 0.5) * s.PlantSpacingM}
			n := int(math.Round(normal(r, s.UnitsPerPlant, 0)))
			for i := 0; i < n; i++ {
				u := Unit{ID: len(l.Units) + 1, Row: row, Plant: p, PlantID: pl.ID, RowID: s.RowID(row), ClassID: class}
				switch s.Crop {
				case "grape":
					u.Berries = max(3, int(math.Round(normal(r, *s.BerriesPerCluster, 3))))
					for b := 0; b < u.Berries; b++ {
						u.MassG += normal(r, *s.BerryMassG, 0.2)
					}
					berry := fruitDiameterM(s.BerryMassG.Mean, 1.05)
					u.DiameterM = berry * math.Sqrt(float64(u.Berries)) * 0.9
					// Clusters hang in a band below the cordon.
					u.XM = pl.XM + (r.Float64()-0.5)*s.PlantSpacingM*0.95
					u.YM = viewH * (0.42 + 0.22*r.Float64())
				default:
					u.MassG = normal(r, *s.UnitMassG, 20)
					density := 0.8
					if s.Crop == "citrus" {
						density = 0.9
					}
					u.DiameterM = fruitDiameterM(u.MassG, density)
					// Uniform in the canopy ellipse, a little denser low and outside.
					for {
						x, y := 2*r.Float64()-1, 2*r.Float64()-1
						if x*x+y*y > 1 {
							continue
						}
						u.XM = pl.XM + x*s.PlantSpacingM*0.52
						u.YM = viewH * (0.52 + 0.36*y)
						break
					}
				}
				u.FarSide = r.Float64() < farSide
				// Hidden share: Beta with the scenario's mean; its upper tail
				// is fruit buried in the canopy, never seen.
				k := 2.5
				o := s.Occlusion
				if o > 0 {
					u.occlusion = beta(r, o*k, (1-o)*k)
				}
				u.ripeness = r.Float64()
				u.shade = 0.75 + 0.35*r.Float64()
				u.depth = r.Float64()
				pl.Units = append(pl.Units, len(l.Units))
				l.Units = append(l.Units, u)
			}
			l.Plants[row] = append(l.Plants[row], pl)
		}
	}
	return l
}
