package zones

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
)

// ErrInvalid is returned (wrapped) by Validate and Decode for a camera's
// lines that break a rule.
var ErrInvalid = errors.New("invalid count lines")

// MaxLines is the most lines a camera may have: each is checked against
// every track of every frame.
const MaxLines = 16

var (
	lineName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	cameraID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
)

// CameraLines is one record of the count-lines topic: the lines a camera's
// tracks are counted across, keyed by camera id. It travels as JSON, so an
// operator can read and write it with any Kafka tool; a tombstone (or a
// record with no lines) removes the camera's lines.
type CameraLines struct {
	Camera string `json:"camera"`
	Lines  []Line `json:"lines"`
	// UpdatedUnixNs is when the lines were set.
	UpdatedUnixNs int64 `json:"updated_unix_ns"`
}

// Validate checks the record: a camera id as the registry takes it, at most
// MaxLines lines, each valid, names unique.
func (c CameraLines) Validate() error {
	var errs []error
	if !cameraID.MatchString(c.Camera) {
		errs = append(errs, fmt.Errorf("camera %q: want 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", c.Camera))
	}
	if len(c.Lines) > MaxLines {
		errs = append(errs, fmt.Errorf("%d lines, at most %d", len(c.Lines), MaxLines))
	}
	seen := map[string]bool{}
	for _, l := range c.Lines {
		if err := l.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("line %s: %w", l.Name, err))
		}
		if seen[l.Name] {
			errs = append(errs, fmt.Errorf("line %s given twice", l.Name))
		}
		seen[l.Name] = true
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("camera %s: %w: %w", c.Camera, ErrInvalid, err)
	}
	return nil
}

// ParseCameraLines makes camera's record from lines as ParseLine reads
// them, each with band, and checks it.
func ParseCameraLines(camera string, specs []string, band float64) (CameraLines, error) {
	c := CameraLines{Camera: camera}
	for _, s := range specs {
		l, err := ParseLine(s)
		if err != nil {
			return CameraLines{}, fmt.Errorf("camera %s: %w", camera, err)
		}
		l.Band = band
		c.Lines = append(c.Lines, l)
	}
	return c, c.Validate()
}

// Encode is the record value.
func Encode(c CameraLines) ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode count lines of %s: %w", c.Camera, err)
	}
	return b, nil
}

// Decode reads a record value and checks it.
func Decode(b []byte) (CameraLines, error) {
	var c CameraLines
	if err := json.Unmarshal(b, &c); err != nil {
		return CameraLines{}, fmt.Errorf("decode count lines: %w: %w", ErrInvalid, err)
	}
	return c, c.Validate()
}
