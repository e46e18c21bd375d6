package schema

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Version is the schema version this build writes and the newest it reads.
// Bump it when a change is not backwards compatible for readers.
const Version uint32 = 1

// Errors returned by Decode. Each is wrapped with the message name; a stage
// that gets one sends the record to the dead-letter topic with err.Error() as
// the reason.
var (
	// ErrMalformed: the bytes are not a protobuf message of the expected type
	// (truncated, corrupt, or another format).
	ErrMalformed = errors.New("malformed record")
	// ErrMissingVersion: the message decodes but has no schema_version, so it
	// was not written by a cropstream producer.
	ErrMissingVersion = errors.New("missing schema version")
	// ErrUnknownVersion: written by a newer producer than this build knows.
	ErrUnknownVersion = errors.New("unknown schema version")
	// ErrInvalid: a well-formed message with values that make no sense
	// (no camera id, no image, zero size, ...).
	ErrInvalid = errors.New("invalid record")
)

// Message is what every topic's value type satisfies.
type Message interface {
	proto.Message
	GetSchemaVersion() uint32
}

type pointerMessage[T any] interface {
	*T
	Message
}

// validator is implemented by messages with rules beyond their wire shape.
type validator interface{ validate() error }

// Encode stamps the current schema version on m and marshals it.
func Encode(m Message) ([]byte, error) {
	r := m.ProtoReflect()
	r.Set(r.Descriptor().Fields().ByNumber(1), protoreflect.ValueOfUint32(Version))
	if v, ok := m.(validator); ok {
		if err := v.validate(); err != nil {
			return nil, fmt.Errorf("encode %s: %w", r.Descriptor().Name(), err)
		}
	}
	if f, ok := m.(*Frame); ok {
		return encodeFrame(f)
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", r.Descriptor().Name(), err)
	}
	return b, nil
}

// encodeFrame writes the end-of-stream flag and the image after every other
// field, so a record cut anywhere is rejected (no image, or an end without
// its flag). protobuf-go writes fields in number order, and stream_id (16)
// would follow them: a record cut just before it would decode as a whole
// frame, or an end, of the camera's unnamed stream. Readers accept fields in
// any order.
func encodeFrame(f *Frame) ([]byte, error) {
	img, end := f.Image, f.EndOfStream
	head := proto.Clone(f).(*Frame)
	head.Image, head.EndOfStream = nil, false
	b, err := proto.MarshalOptions{}.MarshalAppend(make([]byte, 0, len(img)+256), head)
	if err != nil {
		return nil, fmt.Errorf("encode Frame: %w", err)
	}
	if end {
		b = protowire.AppendTag(b, 14, protowire.VarintType)
		b = protowire.AppendVarint(b, 1)
	}
	if len(img) > 0 {
		b = protowire.AppendTag(b, 15, protowire.BytesType)
		b = protowire.AppendBytes(b, img)
	}
	return b, nil
}

// Decode unmarshals b into a new T and checks its version and values.
func Decode[T any, P pointerMessage[T]](b []byte) (P, error) {
	m := P(new(T))
	name := m.ProtoReflect().Descriptor().Name()
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("decode %s: %w: %v", name, ErrMalformed, err)
	}
	switch v := m.GetSchemaVersion(); {
	case v == 0:
		return nil, fmt.Errorf("decode %s: %w (%d bytes)", name, ErrMissingVersion, len(b))
	case v > Version:
		return nil, fmt.Errorf("decode %s: %w %d (this build reads up to %d)", name, ErrUnknownVersion, v, Version)
	}
	if v, ok := any(m).(validator); ok {
		if err := v.validate(); err != nil {
			return nil, fmt.Errorf("decode %s: %w", name, err)
		}
	}
	return m, nil
}

// DecodeFrame, DecodeDetections, ... are Decode for each topic's type; they
// read better at call sites than Decode's type parameters.
func DecodeFrame(b []byte) (*Frame, error)                 { return Decode[Frame](b) }
func DecodeDetections(b []byte) (*Detections, error)       { return Decode[Detections](b) }
func DecodeCountedObject(b []byte) (*CountedObject, error) { return Decode[CountedObject](b) }
func DecodeYieldEstimate(b []byte) (*YieldEstimate, error) { return Decode[YieldEstimate](b) }
func DecodeDeadLetter(b []byte) (*DeadLetter, error)       { return Decode[DeadLetter](b) }
func DecodeFieldBlock(b []byte) (*FieldBlock, error)       { return Decode[FieldBlock](b) }
func DecodeHandCounts(b []byte) (*HandCounts, error)       { return Decode[HandCounts](b) }
func DecodeLineCrossing(b []byte) (*LineCrossing, error)   { return Decode[LineCrossing](b) }
