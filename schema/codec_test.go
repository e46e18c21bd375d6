package schema

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func validFrame() *Frame {
	return &Frame{FrameId: "f1", CameraId: "cam", StreamId: "s1", Width: 640, Height: 480,
		Encoding: Encoding_ENCODING_JPEG, Image: []byte{0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4}}
}

func TestFrameRoundTrip(t *testing.T) {
	b, err := Encode(validFrame())
	if err != nil {
		t.Fatal(err)
	}
	f, err := DecodeFrame(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.GetSchemaVersion() != Version || f.GetCameraId() != "cam" || len(f.GetImage()) != 8 {
		t.Fatalf("round trip gave %v", f)
	}
}

func TestDecodeRejects(t *testing.T) {
	good, _ := Encode(validFrame())
	future := protowire.AppendTag(nil, 1, protowire.VarintType)
	future = protowire.AppendVarint(future, uint64(Version+1))
	future = append(future, good[2:]...) // the rest of a valid frame

	noVersion := append([]byte(nil), good[2:]...)

	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"truncated inside the image", good[:len(good)-3], ErrMalformed},
		{"truncated before the image", good[:len(good)-10], nil}, // checked below: any rejection
		{"random bytes", []byte{0xff, 0xff, 0xff, 0xff, 0xff}, ErrMalformed},
		{"unknown version", future, ErrUnknownVersion},
		{"no version", noVersion, ErrMissingVersion},
		{"empty", nil, ErrMissingVersion},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeFrame(c.b)
			if err == nil {
				t.Fatal("decoded without error")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
		})
	}
}

// Every prefix of a valid frame must be rejected: a record cut short anywhere
// may not pass as a frame with a missing image.
func TestEveryTruncationRejected(t *testing.T) {
	good, _ := Encode(validFrame())
	for n := 0; n < len(good); n++ {
		if _, err := DecodeFrame(good[:n]); err == nil {
			t.Fatalf("prefix of %d/%d bytes decoded as a frame", n, len(good))
		}
	}
}

// The end-of-stream record carries no image, so its flag is its last field:
// a prefix of it is a frame without an image (rejected), never an end.
func TestEndOfStreamFrame(t *testing.T) {
	end := &Frame{FrameId: "f9", CameraId: "cam", StreamId: "s1", Sequence: 9, EndOfStream: true}
	b, err := Encode(end)
	if err != nil {
		t.Fatalf("end of stream refused: %v", err)
	}
	if f, err := DecodeFrame(b); err != nil || !f.GetEndOfStream() || f.GetSequence() != 9 {
		t.Fatalf("round trip gave %v, %v", f, err)
	}
	for n := 0; n < len(b); n++ {
		if _, err := DecodeFrame(b[:n]); err == nil {
			t.Fatalf("prefix of %d/%d bytes of an end of stream decoded", n, len(b))
		}
	}
	end.Image = []byte{0xff, 0xd8}
	if _, err := Encode(end); !errors.Is(err, ErrInvalid) {
		t.Fatalf("end of stream with an image: err %v, want ErrInvalid", err)
	}
}

func TestInvalidFrames(t *testing.T) {
	for name, mutate := range map[string]func(*Frame){
		"no camera": func(f *Frame) { f.CameraId = "" },
		"no image":  func(f *Frame) { f.Image = nil },
		"absurd":    func(f *Frame) { f.Width, f.Height = 60000, 60000 },
		"encoding":  func(f *Frame) { f.Encoding = Encoding_ENCODING_UNSPECIFIED },
	} {
		f := validFrame()
		mutate(f)
		if _, err := Encode(f); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Encode err %v, want ErrInvalid", name, err)
		}
	}
}

func TestDeadLetterKeepsSmallValues(t *testing.T) {
	d := NewDeadLetter("detect", "corrupt", "frames", 3, 42, []byte("cam"), []byte("0123456789"), 5)
	if d.OriginalValue != nil || d.OriginalSize != 10 {
		t.Fatalf("large value kept: %v", d)
	}
	d = NewDeadLetter("detect", "corrupt", "frames", 3, 42, []byte("cam"), []byte("0123"), 5)
	b, err := Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeDeadLetter(b)
	if err != nil || string(back.OriginalValue) != "0123" || back.SourceOffset != 42 || back.Reason != "corrupt" {
		t.Fatalf("round trip %v %v", back, err)
	}
}
