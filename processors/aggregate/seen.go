package aggregate

import (
	"strconv"
	"strings"
)

// seen remembers which objects a block has counted. Object ids from the
// track stage are "<camera>-<track id>" with small per-camera track ids, so a
// bitset per camera holds a season's millions of fruit in a few hundred KB of
// table record (a set of id strings would pass the 4 MB record limit at
// ~190k fruit). Ids of any other form go in a plain set.
type seen struct {
	Cameras map[string][]uint64 `json:"cameras"`
	Other   map[string]bool     `json:"other,omitempty"`
}

func newSeen() *seen { return &seen{Cameras: map[string][]uint64{}} }

// split parses "<camera>-<n>" when camera matches the object's camera.
func split(objectID, camera string) (uint64, bool) {
	rest, ok := strings.CutPrefix(objectID, camera+"-")
	if !ok || camera == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(rest, 10, 32)
	return n, err == nil
}

// add records the object and reports whether it was new.
func (s *seen) add(objectID, camera string) bool {
	if n, ok := split(objectID, camera); ok {
		words := s.Cameras[camera]
		w, bit := n/64, uint64(1)<<(n%64)
		for uint64(len(words)) <= w {
			words = append(words, 0)
		}
		if words[w]&bit != 0 {
			return false
		}
		words[w] |= bit
		s.Cameras[camera] = words
		return true
	}
	if s.Other == nil {
		s.Other = map[string]bool{}
	}
	if s.Other[objectID] {
		return false
	}
	s.Other[objectID] = true
	return true
}
