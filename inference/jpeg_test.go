package inference

import (
	"errors"
	"testing"

	"gocv.io/x/gocv"

	"github.com/cropstream/cropstream/simulator"
)

func renderJPEG(t *testing.T) []byte {
	t.Helper()
	sc, err := simulator.Load("default")
	if err != nil {
		t.Fatal(err)
	}
	sim := simulator.New(sc)
	defer sim.Close()
	f, err := sim.Next()
	if err != nil {
		t.Fatal(err)
	}
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, *f.Image, []int{gocv.IMWriteJpegQuality, 90})
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	return append([]byte(nil), buf.GetBytes()...)
}

// The direct libjpeg decode gives OpenCV's image, at every scale.
func TestDecodeJPEGMatchesOpenCV(t *testing.T) {
	jpg := renderJPEG(t)
	for r, flag := range map[int]gocv.IMReadFlag{1: gocv.IMReadColor, 2: gocv.IMReadReducedColor2, 4: gocv.IMReadReducedColor4} {
		want, err := gocv.IMDecode(jpg, flag)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeJPEG(jpg, r)
		if err != nil {
			t.Fatalf("1/%d: %v", r, err)
		}
		if got.Rows() != want.Rows() || got.Cols() != want.Cols() || got.Channels() != 3 {
			t.Fatalf("1/%d: %dx%dx%d, OpenCV %dx%dx%d", r, got.Cols(), got.Rows(), got.Channels(), want.Cols(), want.Rows(), want.Channels())
		}
		a, _ := got.DataPtrUint8()
		b, _ := want.DataPtrUint8()
		var sum, worst int
		for i := range a {
			d := int(a[i]) - int(b[i])
			d = max(d, -d)
			sum += d
			worst = max(worst, d)
		}
		if mean := float64(sum) / float64(len(a)); mean > 0.5 || worst > 8 {
			t.Fatalf("1/%d: differs from OpenCV by %.2f on average, %d at most", r, mean, worst)
		}
		got.Close()
		want.Close()
	}
}

// Broken input is an error, never a crash (libjpeg's own handler exits the
// process) and never a half-grey image.
func TestDecodeJPEGRejectsBrokenInput(t *testing.T) {
	jpg := renderJPEG(t)
	if _, err := decodeJPEG(jpg[:len(jpg)/2], 2); !errors.Is(err, ErrTruncatedJPEG) {
		t.Fatalf("half a JPEG: %v, want %v", err, ErrTruncatedJPEG)
	}
	garbage := append(append([]byte(nil), jpg[:200]...), make([]byte, 500)...)
	for name, b := range map[string][]byte{"empty": nil, "not a JPEG": []byte("GIF89a......"), "header only": jpg[:200], "garbage after header": garbage} {
		if m, err := decodeJPEG(b, 1); err == nil {
			m.Close()
			t.Fatalf("%s: decoded", name)
		}
	}
}
