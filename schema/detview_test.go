package schema

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func sampleDetections(rng *rand.Rand) *Detections {
	pos := rng.Float64() * 100
	d := &Detections{FrameId: fmt.Sprintf("cam-%d-%d", rng.IntN(8), rng.IntN(1000)), CameraId: "cam", StreamId: "s", FieldId: "F", BlockId: "B1",
		RowId: "R1", CaptureUnixNs: rng.Int64(), Sequence: rng.Uint64(), Width: 1280, Height: 720, Model: "cropnet",
		ClassNames: []string{"apple", "leaf"}, DetectedUnixNs: -rng.Int64N(1e18), ModelId: "cropnet@1+sha256:0123456789ab",
		CountScores: []float32{0.4, 0.5}, Brightness: 0.5, InferNs: 1234}
	if rng.IntN(2) == 0 {
		d.PositionM = &pos
	}
	boxes := rng.IntN(5)
	if rng.IntN(20) == 0 { // more boxes and classes than the view holds in place
		boxes = 70
		for k := range 20 {
			d.ClassNames = append(d.ClassNames, fmt.Sprintf("class-%d", k))
		}
	}
	for k := range boxes {
		x := &Detection{ClassId: uint32(rng.IntN(len(d.ClassNames) + 1)), Score: rng.Float32()}
		if k != 1 {
			x.Box = &Box{X1: rng.Float32(), Y1: rng.Float32(), X2: rng.Float32(), Y2: rng.Float32()}
		}
		d.Detections = append(d.Detections, x)
	}
	return d
}

// viewOf is what a DetectionsView holds, in comparable form.
type viewOf struct {
	Header []any
	Boxes  [][6]uint32 // class and float bits (NaN equals NaN)
	Names  []string
}

func look(v *DetectionsView) viewOf {
	out := viewOf{Header: []any{string(v.FrameID), string(v.CameraID), string(v.FieldID), string(v.BlockID), string(v.RowID),
		string(v.Model), string(v.ModelID), v.CaptureUnixNs, v.DetectedUnixNs, v.Sequence, math.Float64bits(v.PositionM), v.HasPositionM}}
	for _, x := range v.Boxes() {
		f := math.Float32bits
		out.Boxes = append(out.Boxes, [6]uint32{x.ClassID, f(x.Score), f(x.X1), f(x.Y1), f(x.X2), f(x.Y2)})
		out.Names = append(out.Names, string(v.ClassName(x.ClassID)))
	}
	return out
}

// The view read in place holds what the decoded message holds, and a
// record it does not read in place (or refuses) is judged as Decode judges
// it: the same error, or the same values. Checked on whole records, every
// cut of them, and random bytes written over them.
func TestDetectionsViewAgreesWithDecode(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	inPlace, cases := 0, 0
	check := func(b []byte) {
		cases++
		var fast, slow DetectionsView
		read := fast.read(b)
		err := ReadDetections(b, &fast)
		d, derr := DecodeDetections(b)
		if (err == nil) != (derr == nil) || (err != nil && err.Error() != derr.Error()) {
			t.Fatalf("record %x: ReadDetections says %v, DecodeDetections %v", b, err, derr)
		}
		if derr != nil {
			if read {
				t.Fatalf("record %x read in place, but Decode refuses it: %v", b, derr)
			}
			return
		}
		if read {
			inPlace++
		}
		slow.set(d)
		if got, want := look(&fast), look(&slow); !reflect.DeepEqual(got, want) {
			t.Fatalf("record %x (read in place %v):\n got %+v\nwant %+v", b, read, got, want)
		}
	}
	for range 150 {
		good, err := Encode(sampleDetections(rng))
		if err != nil {
			t.Fatal(err)
		}
		var v DetectionsView
		if !v.read(good) {
			t.Fatalf("an encoder's record is not read in place: %x", good)
		}
		check(good)
		for n := range len(good) {
			check(good[:n])
		}
		for range 20 {
			bad := append([]byte(nil), good...)
			for range 1 + rng.IntN(3) {
				bad[rng.IntN(len(bad))] = byte(rng.UintN(256))
			}
			check(bad)
		}
	}
	t.Logf("%d of %d records read in place", inPlace, cases)
}

// Shapes protobuf accepts that encoders do not write: repeated scalars (the
// last wins), a Detection's box given twice (merged), unknown fields, and
// a known field with another wire type (protobuf keeps it as unknown).
func TestDetectionsViewOddShapes(t *testing.T) {
	base, err := Encode(&Detections{FrameId: "f", CameraId: "c", ClassNames: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	box := func(fields ...float32) []byte {
		var b []byte
		for i, f := range fields {
			if f != 0 {
				b = protowire.AppendTag(b, protowire.Number(i+1), protowire.Fixed32Type)
				b = protowire.AppendFixed32(b, math.Float32bits(f))
			}
		}
		return b
	}
	det := protowire.AppendTag(nil, 1, protowire.BytesType)
	det = protowire.AppendBytes(det, box(1, 2, 0, 0))
	det = protowire.AppendTag(det, 1, protowire.BytesType)
	det = protowire.AppendBytes(det, box(0, 0, 3, 4))
	det = protowire.AppendTag(det, 9, protowire.VarintType) // unknown
	det = protowire.AppendVarint(det, 5)
	rec := append([]byte(nil), base...)
	rec = protowire.AppendTag(rec, detectionsField, protowire.BytesType)
	rec = protowire.AppendBytes(rec, det)
	rec = protowire.AppendTag(rec, 3, protowire.BytesType) // camera_id again
	rec = protowire.AppendString(rec, "c2")
	wrongType := protowire.AppendTag(append([]byte(nil), rec...), 8, protowire.Fixed32Type) // sequence as fixed32
	wrongType = protowire.AppendFixed32(wrongType, 9)
	group := protowire.AppendTag(append([]byte(nil), rec...), 99, protowire.StartGroupType)
	group = protowire.AppendTag(group, 99, protowire.EndGroupType)
	for _, c := range []struct {
		name    string
		b       []byte
		inPlace bool
	}{{"merged box, last camera, unknown field", rec, true}, {"known field of another wire type", wrongType, false}, {"unknown group", group, false}} {
		var v DetectionsView
		if got := v.read(c.b); got != c.inPlace {
			t.Errorf("%s: read in place %v, want %v", c.name, got, c.inPlace)
		}
		if err := ReadDetections(c.b, &v); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		d, err := DecodeDetections(c.b)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var want DetectionsView
		want.set(d)
		if got, w := look(&v), look(&want); !reflect.DeepEqual(got, w) {
			t.Fatalf("%s:\n got %+v\nwant %+v", c.name, got, w)
		}
		if c.name == "merged box, last camera, unknown field" && (string(v.CameraID) != "c2" || look(&v).Boxes[0] != [6]uint32{0, 0, math.Float32bits(1), math.Float32bits(2), math.Float32bits(3), math.Float32bits(4)}) {
			t.Fatalf("%s: %+v", c.name, look(&v))
		}
	}
}

// A record Decode refuses gets Decode's error, wrapped as it wraps it.
func TestDetectionsViewRefuses(t *testing.T) {
	noFrame, _ := Encode(&Detections{FrameId: "f", CameraId: "c"})
	future := protowire.AppendTag(nil, 1, protowire.VarintType)
	future = protowire.AppendVarint(future, uint64(Version+1))
	future = append(future, noFrame[2:]...)
	for _, c := range []struct {
		b    []byte
		want error
	}{{noFrame[:len(noFrame)-1], ErrMalformed}, {noFrame[2:], ErrMissingVersion}, {future, ErrUnknownVersion}} {
		var v DetectionsView
		if err := ReadDetections(c.b, &v); !errors.Is(err, c.want) {
			t.Errorf("record %x: %v, want %v", c.b, err, c.want)
		}
	}
}
