package aggregate

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/cropstream/cropstream/schema"
)

// windowWords is how many 64-bit words of track ids a camera's window keeps:
// 16,384 ids. Duplicates only arrive as replays of the track stage's last
// ReplayWindow (512) frames, whose objects' ids are among the camera's
// latest (about 10 tracks start a frame on a dense canopy: 16k ids are
// some 1,600 frames). A whole season's bitset was hundreds of KB, rewritten
// to the table with every object: 9,400 objects/s fell to 3,000 between
// 20k and 100k objects (BenchmarkAggregateStage).
const windowWords = 256

// seen remembers which objects a block has counted, to skip replays.
//
// Objects that name their place (the detections partition and offset that
// counted them, and their index among that record's objects: every object
// of this build's track stage) are deduplicated by a mark per detections
// partition: the highest place counted. The track stage processes a
// partition in offset order and its producer keeps each output partition a
// gapless prefix of what it sent (broker's goka producer: no record fails
// while a later one lands), so the objects from one detections partition
// reach a block in place order, and anything at or below the mark is a
// replay: the track stage's (a frame
// applied again or its objects re-sent) or this stage's own (input read
// again after a crash). A mark per detections partition does not grow with
// the cameras of a block: a set per camera made every object rewrite the
// whole block state (98 KB at 5,000 cameras per block).
//
// Objects without a place (other producers, earlier builds) fall back to
// per-camera windows over "<camera>-<track id>" ids, and a plain set for
// ids of any other form.
type seen struct {
	Marks   map[int32]place      `json:"marks,omitempty"`
	Windows map[string]*idWindow `json:"windows"`
	Other   map[string]bool      `json:"other,omitempty"`
	// OtherOrder is Other's ids oldest first, to forget the oldest past
	// maxOther (replays are recent, as for the windows).
	OtherOrder []string `json:"other_order,omitempty"`
}

// maxOther bounds the ids of other forms a block remembers.
const maxOther = 16_384

func newSeen() *seen { return &seen{Windows: map[string]*idWindow{}} }

// idWindow is a bitset over track ids [Base, Base+64*len(Words)); it slides
// up to keep the highest id seen, forgetting the oldest.
type idWindow struct {
	Base  uint64
	Words []uint64
}

// windowJSON is idWindow in the JSON tables of state version 3: the words as
// little-endian bytes in base64.
type windowJSON struct {
	Base uint64 `json:"base"`
	Bits string `json:"bits"`
}

func (w *idWindow) UnmarshalJSON(data []byte) error {
	var j windowJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	b, err := base64.StdEncoding.DecodeString(j.Bits)
	if err != nil || len(b)%8 != 0 || j.Base%64 != 0 {
		return fmt.Errorf("seen window: bad bits (base %d, %d bytes)", j.Base, len(b))
	}
	w.Base, w.Words = j.Base, make([]uint64, len(b)/8)
	for i := range w.Words {
		w.Words[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return nil
}

// add records id n and reports whether it is new. Ids below the window
// count as new: they cannot be replays (see windowWords).
func (w *idWindow) add(n uint64) bool {
	if n < w.Base {
		return true
	}
	word := (n - w.Base) / 64
	if word >= windowWords {
		// Slide up so word is the window's last.
		drop := word - windowWords + 1
		if drop >= uint64(len(w.Words)) {
			w.Words = w.Words[:0]
		} else {
			w.Words = append(w.Words[:0], w.Words[drop:]...)
		}
		w.Base += 64 * drop
		word = windowWords - 1
	}
	for uint64(len(w.Words)) <= word {
		w.Words = append(w.Words, 0)
	}
	bit := uint64(1) << ((n - w.Base) % 64)
	if w.Words[word]&bit != 0 {
		return false
	}
	w.Words[word] |= bit
	return true
}

// split parses "<camera>-<n>" when camera matches the object's camera.
func split(objectID, camera string) (uint64, bool) {
	rest, ok := strings.CutPrefix(objectID, camera+"-")
	if !ok || camera == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(rest, 10, 32)
	return n, err == nil
}

// place is where an object was counted: detections offset and the index
// among the objects of that record.
type place struct {
	Offset int64
	Index  uint32
}

func (a place) after(b place) bool {
	return a.Offset > b.Offset || a.Offset == b.Offset && a.Index > b.Index
}

// addObject records o and reports whether it was new.
func (s *seen) addObject(o *schema.CountedObject) bool {
	if o.SourceOffset == nil {
		return s.add(o.ObjectId, o.CameraId)
	}
	at := place{Offset: o.GetSourceOffset(), Index: o.SourceIndex}
	mark, ok := s.Marks[o.SourcePartition]
	if ok && !at.after(mark) {
		return false
	}
	if s.Marks == nil {
		s.Marks = map[int32]place{}
	}
	s.Marks[o.SourcePartition] = at
	return true
}

// add records the object and reports whether it was new.
func (s *seen) add(objectID, camera string) bool {
	if n, ok := split(objectID, camera); ok {
		w := s.Windows[camera]
		if w == nil {
			w = &idWindow{}
			s.Windows[camera] = w
		}
		return w.add(n)
	}
	if s.Other == nil {
		s.Other = map[string]bool{}
	}
	if s.Other[objectID] {
		return false
	}
	s.Other[objectID] = true
	s.OtherOrder = append(s.OtherOrder, objectID)
	if len(s.OtherOrder) > maxOther {
		delete(s.Other, s.OtherOrder[0])
		s.OtherOrder = append(s.OtherOrder[:0], s.OtherOrder[1:]...)
	}
	return true
}

// fromV2 reads the seen set of state version 2: a whole bitset per camera
// from id 0, kept as its latest window.
func fromV2(cameras map[string][]uint64, other map[string]bool) *seen {
	s := &seen{Windows: map[string]*idWindow{}, Other: other}
	for cam, words := range cameras {
		w := &idWindow{}
		if len(words) > windowWords {
			w.Base = 64 * uint64(len(words)-windowWords)
			words = words[len(words)-windowWords:]
		}
		w.Words = append([]uint64(nil), words...)
		s.Windows[cam] = w
	}
	return s
}

// plantCounts are a row's counts by plant index.
type plantCounts []int32

// addPlant adds n to plant i of row, growing the row as needed.
func addPlant(plants map[string]plantCounts, row string, i int, n int32) {
	r := plants[row]
	for len(r) <= i {
		r = append(r, 0)
	}
	r[i] += n
	plants[row] = r
}
