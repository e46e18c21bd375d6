package schema

import (
	"math"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// DetectionsView is a Detections record as the sink stores it: the frame's
// header and its boxes, read from the wire bytes in place when they have
// the shape encoders write, so no message, Detection or Box is allocated.
type DetectionsView struct {
	FrameID, CameraID, FieldID, BlockID, RowID, Model, ModelID []byte
	CaptureUnixNs, DetectedUnixNs                              int64
	Sequence                                                   uint64
	PositionM                                                  float64
	HasPositionM                                               bool

	version uint32
	// The usual record's class names and boxes fit in nameBuf and boxBuf,
	// so reading one allocates nothing; names and boxes take over beyond.
	nameBuf        [16][]byte
	boxBuf         [64]DetectionBox
	nNames, nBoxes int
	names          [][]byte
	boxes          []DetectionBox
}

// DetectionBox is one detection of a DetectionsView.
type DetectionBox struct {
	ClassID               uint32
	Score, X1, Y1, X2, Y2 float32
}

// ReadDetections fills v from the record b and returns what DecodeDetections
// would: the same error for a record it refuses, the same values otherwise.
// v's byte slices alias b (or the decoded message) until the next call.
func ReadDetections(b []byte, v *DetectionsView) error {
	if v.read(b) {
		return nil
	}
	// Anything else (an error, or a shape the reader leaves alone: a known
	// field with another wire type, a group) is protobuf's to judge.
	d, err := DecodeDetections(b)
	if err != nil {
		return err
	}
	v.set(d)
	return nil
}

// Boxes are the detections, in order.
func (v *DetectionsView) Boxes() []DetectionBox {
	if v.boxes != nil {
		return v.boxes
	}
	return v.boxBuf[:v.nBoxes]
}

// ClassName is the name of class id, nil when the record names none.
func (v *DetectionsView) ClassName(id uint32) []byte {
	names := v.names
	if names == nil {
		names = v.nameBuf[:v.nNames]
	}
	if int64(id) < int64(len(names)) {
		return names[id]
	}
	return nil
}

func (v *DetectionsView) addName(n []byte) {
	if v.names == nil && v.nNames < len(v.nameBuf) {
		v.nameBuf[v.nNames] = n
		v.nNames++
		return
	}
	if v.names == nil {
		v.names = append([][]byte(nil), v.nameBuf[:v.nNames]...)
	}
	v.names = append(v.names, n)
}

func (v *DetectionsView) addBox(x DetectionBox) {
	if v.boxes == nil && v.nBoxes < len(v.boxBuf) {
		v.boxBuf[v.nBoxes] = x
		v.nBoxes++
		return
	}
	if v.boxes == nil {
		v.boxes = append([]DetectionBox(nil), v.boxBuf[:v.nBoxes]...)
	}
	v.boxes = append(v.boxes, x)
}

// set fills v from a decoded message.
func (v *DetectionsView) set(d *Detections) {
	*v = DetectionsView{
		FrameID: []byte(d.GetFrameId()), CameraID: []byte(d.GetCameraId()), FieldID: []byte(d.GetFieldId()),
		BlockID: []byte(d.GetBlockId()), RowID: []byte(d.GetRowId()), Model: []byte(d.GetModel()), ModelID: []byte(d.GetModelId()),
		CaptureUnixNs: d.GetCaptureUnixNs(), DetectedUnixNs: d.GetDetectedUnixNs(), Sequence: d.GetSequence(),
		PositionM: d.GetPositionM(), HasPositionM: d.PositionM != nil}
	for _, n := range d.GetClassNames() {
		v.addName([]byte(n))
	}
	for _, x := range d.GetDetections() {
		bx := x.GetBox()
		v.addBox(DetectionBox{ClassID: x.GetClassId(), Score: x.GetScore(), X1: bx.GetX1(), Y1: bx.GetY1(), X2: bx.GetX2(), Y2: bx.GetY2()})
	}
}

// Field numbers of Detections the reader takes values from or checks.
const (
	detectionsField  = 14
	countScoresField = 17
)

// read reads b in place; false when b is not a record DecodeDetections
// accepts, or has a shape it leaves to protobuf. It accepts only what
// protobuf accepts, with protobuf's rules: the last of a repeated scalar
// wins, a repeated message field merges, unknown fields are skipped, and
// strings must be UTF-8.
func (v *DetectionsView) read(b []byte) bool {
	*v = DetectionsView{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num > protowire.MaxValidNumber {
			return false
		}
		b = b[n:]
		var x uint64
		var m []byte
		ok := false
		switch typ {
		case protowire.BytesType:
			m, n = protowire.ConsumeBytes(b)
			ok = n >= 0 && v.bytesField(num, m)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
			ok = n >= 0 && v.varintField(num, x)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
			ok = n >= 0 && v.fixed64Field(num, x)
		case protowire.Fixed32Type:
			// brightness, contrast and unpacked count_scores: not stored.
			n = protowire.ConsumeFieldValue(num, typ, b)
			ok = n >= 0 && (num == countScoresField || num == 31 || num == 32 || !known(num))
		}
		if !ok {
			return false
		}
		b = b[n:]
	}
	// The checks of Decode, whose errors it words.
	return v.version != 0 && v.version <= Version && len(v.FrameID) > 0 && len(v.CameraID) > 0
}

// known says num is a field of Detections (a reserved number is not), as
// the schema's descriptor says: a field added there is known here without
// another list to keep in step. Only a record with an unusual field asks.
func known(num protowire.Number) bool {
	return (*Detections)(nil).ProtoReflect().Descriptor().Fields().ByNumber(num) != nil
}

func (v *DetectionsView) bytesField(num protowire.Number, m []byte) bool {
	stored := [...]*[]byte{2: &v.FrameID, 3: &v.CameraID, 4: &v.FieldID, 5: &v.BlockID, 6: &v.RowID, 12: &v.Model, 30: &v.ModelID}
	if int(num) < len(stored) && stored[num] != nil {
		*stored[num] = m
		return utf8.Valid(m)
	}
	switch num {
	case 13:
		v.addName(m)
		return utf8.Valid(m)
	case 19: // stream_id: not stored, but protobuf checks it
		return utf8.Valid(m)
	case detectionsField:
		x, ok := readDetection(m)
		v.addBox(x)
		return ok
	case countScoresField: // packed floats
		return len(m)%4 == 0
	}
	return !known(num)
}

func (v *DetectionsView) varintField(num protowire.Number, x uint64) bool {
	switch num {
	case 1:
		v.version = uint32(x)
	case 7:
		v.CaptureUnixNs = int64(x)
	case 8:
		v.Sequence = x
	case 15:
		v.DetectedUnixNs = int64(x)
	case 10, 11, 18, 20, 33, 34: // width, height, flags, infer_ns: not stored
	default:
		return !known(num)
	}
	return true
}

func (v *DetectionsView) fixed64Field(num protowire.Number, x uint64) bool {
	if num == 9 {
		v.PositionM, v.HasPositionM = math.Float64frombits(x), true
		return true
	}
	return !known(num)
}

// readDetection reads one Detection message (a second box merges into the
// first, as protobuf merges a repeated message field).
func readDetection(b []byte) (DetectionBox, bool) {
	var x DetectionBox
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num > protowire.MaxValidNumber {
			return x, false
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			m, n := protowire.ConsumeBytes(b)
			if n < 0 || !readBox(m, &x) {
				return x, false
			}
			b = b[n:]
		case num == 2 && typ == protowire.VarintType:
			c, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return x, false
			}
			x.ClassID, b = uint32(c), b[n:]
		case num == 3 && typ == protowire.Fixed32Type:
			s, n := protowire.ConsumeFixed32(b)
			if n < 0 {
				return x, false
			}
			x.Score, b = math.Float32frombits(s), b[n:]
		case num <= 3 || typ == protowire.StartGroupType || typ == protowire.EndGroupType:
			return x, false
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return x, false
			}
			b = b[n:]
		}
	}
	return x, true
}

func readBox(b []byte, x *DetectionBox) bool {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num > protowire.MaxValidNumber {
			return false
		}
		b = b[n:]
		if num >= 1 && num <= 4 {
			if typ != protowire.Fixed32Type {
				return false
			}
			f, n := protowire.ConsumeFixed32(b)
			if n < 0 {
				return false
			}
			switch v := math.Float32frombits(f); num {
			case 1:
				x.X1 = v
			case 2:
				x.Y1 = v
			case 3:
				x.X2 = v
			default:
				x.Y2 = v
			}
			b = b[n:]
			continue
		}
		if typ == protowire.StartGroupType || typ == protowire.EndGroupType {
			return false
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return false
		}
		b = b[n:]
	}
	return true
}
