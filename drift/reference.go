package drift

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
)

// The features, in the order reports list them.
const (
	Score         = "score"
	BoxesPerFrame = "boxes_per_frame"
	BoxSize       = "box_size"
	Brightness    = "brightness"
	Contrast      = "contrast"
)

// Features lists every feature.
var Features = []string{Score, BoxesPerFrame, BoxSize, Brightness, Contrast}

// Frame is what one detected frame contributes.
type Frame struct {
	Scores []float64
	// BoxSizes are sqrt(box area) / frame width: the same fruit at the same
	// distance gives the same size whatever the camera's resolution.
	BoxSizes   []float64
	Brightness float64
	Contrast   float64
}

// Reference holds, per feature, a sorted sample of the values seen at
// calibration. A sample rather than a histogram: KS needs the distribution,
// and PSI's bins are cut at the sample's deciles when compared.
type Reference struct {
	// ModelSHA256 ties the reference to the model file it was made with.
	ModelSHA256 string               `json:"model_sha256,omitempty"`
	Frames      int                  `json:"frames"`
	Samples     map[string][]float64 `json:"samples"`
}

// SidecarPath is where the reference of a model file lives.
func SidecarPath(model string) string { return strings.TrimSuffix(model, ".onnx") + ".drift.json" }

// Load reads a reference; a missing file is (nil, nil): a model without a
// reference is served, without drift statistics.
func Load(path string) (*Reference, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("drift: %w", err)
	}
	var r Reference
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("drift: reference %s: %w", path, err)
	}
	for _, f := range Features {
		if !slices.IsSorted(r.Samples[f]) {
			return nil, fmt.Errorf("drift: reference %s: feature %s is not a sorted sample", path, f)
		}
	}
	return &r, nil
}

// LoadFor reads the reference stored beside the model file (SidecarPath)
// if it was recorded with the file of hash sha; a reference of another file
// is logged and left out (nil, nil), as a missing one is.
func LoadFor(model, sha string) (*Reference, error) {
	ref, err := Load(SidecarPath(model))
	if err != nil || ref.Matches(sha) {
		return ref, err
	}
	slog.Warn("drift reference recorded with another model file; serving without drift statistics", "sha256", sha, "reference", SidecarPath(model))
	return nil, nil
}

// Save writes the reference as JSON.
func (r *Reference) Save(path string) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("drift: %w", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("drift: save reference: %w", err)
	}
	return nil
}

// Recorder builds a reference from frames. It keeps a uniform sample of at
// most Max values per feature (reservoir sampling), so calibrating on a
// season's video costs bounded memory.
type Recorder struct {
	Max     int
	frames  int
	seen    map[string]int
	samples map[string][]float64
	rng     *rand.Rand
}

// NewRecorder keeps up to max values per feature (0: 2000, which puts the
// KS statistic's sampling error of the reference well below a window's).
func NewRecorder(max int) *Recorder {
	if max <= 0 {
		max = 2000
	}
	return &Recorder{Max: max, seen: map[string]int{}, samples: map[string][]float64{}, rng: rand.New(rand.NewPCG(1, 2))}
}

// Add records one frame.
func (r *Recorder) Add(f Frame) {
	r.frames++
	r.add(BoxesPerFrame, float64(len(f.Scores)))
	r.add(Brightness, f.Brightness)
	r.add(Contrast, f.Contrast)
	for _, s := range f.Scores {
		r.add(Score, s)
	}
	for _, s := range f.BoxSizes {
		r.add(BoxSize, s)
	}
}

func (r *Recorder) add(feature string, v float64) {
	r.seen[feature]++
	s := r.samples[feature]
	if len(s) < r.Max {
		r.samples[feature] = append(s, v)
		return
	}
	if i := r.rng.IntN(r.seen[feature]); i < r.Max {
		s[i] = v
	}
}

// Reference returns what was recorded, each sample sorted.
func (r *Recorder) Reference() *Reference {
	ref := &Reference{Frames: r.frames, Samples: map[string][]float64{}}
	for _, f := range Features {
		s := slices.Clone(r.samples[f])
		slices.Sort(s)
		ref.Samples[f] = s
	}
	return ref
}

// Matches says the reference was recorded with the model file of hash sha
// (a reference that names no model is taken as it is).
func (r *Reference) Matches(sha string) bool {
	return r == nil || r.ModelSHA256 == "" || strings.EqualFold(r.ModelSHA256, sha)
}
