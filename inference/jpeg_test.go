package inference

import (
	"bytes"
	"errors"
	"image"
	"image/color"
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
	jpg, err := f.JPEG(90)
	if err != nil {
		t.Fatal(err)
	}
	return jpg
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

// renderImage is renderJPEG's frame decoded by OpenCV, for resizing into
// test frames of any shape.
func renderImage(t *testing.T) gocv.Mat {
	t.Helper()
	m, err := gocv.IMDecode(renderJPEG(t), gocv.IMReadColor)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Into's one-pass conversion equals OpenCV's letterbox + blob (what
// Ultralytics feeds its models), padding included, for frames that fill
// the input, leave bars at the sides, or at the top and bottom.
func TestIntoMatchesOpenCVBlob(t *testing.T) {
	full := renderImage(t)
	defer full.Close()
	pre := NewPreprocessor(512, 288)
	defer pre.Close()
	for _, size := range [][2]int{{640, 360}, {1280, 720}, {500, 500}, {900, 300}, {1280, 1024}} {
		img := gocv.NewMat()
		gocv.Resize(full, &img, image.Pt(size[0], size[1]), 0, 0, gocv.InterpolationArea)
		got := make([]float32, 3*512*288)
		if _, err := pre.Into(img, got); err != nil {
			t.Fatal(err)
		}
		padded := openCVLetterbox(pre, img)
		blob := gocv.BlobFromImage(padded, 1.0/255, image.Pt(512, 288), gocv.NewScalar(0, 0, 0, 0), true, false)
		want, _ := blob.DataPtrFloat32()
		for i := range got {
			if d := got[i] - want[i]; d > 1e-6 || d < -1e-6 {
				t.Fatalf("%dx%d: value %d (plane %d, y %d, x %d) is %v, OpenCV's blob %v", size[0], size[1], i, i/(512*288), i%(512*288)/512, i%512, got[i], want[i])
			}
		}
		blob.Close()
		padded.Close()
		img.Close()
	}
}

// openCVLetterbox is the letterbox as OpenCV does it: resize, then
// CopyMakeBorder with grey 114.
func openCVLetterbox(pre *Preprocessor, img gocv.Mat) gocv.Mat {
	lb, src, nw, nh := pre.scale(img)
	px, py := int(lb.PadX), int(lb.PadY)
	padded := gocv.NewMat()
	gocv.CopyMakeBorder(src, &padded, py, pre.h-nh-py, px, pre.w-nw-px, gocv.BorderConstant, color.RGBA{R: pad114, G: pad114, B: pad114})
	return padded
}

// IntoUInt8's one pass gives OpenCV's letterboxed bytes, bars included, for
// inputs the frame fills, or leaves bars at the sides or top and bottom.
func TestIntoUInt8MatchesOpenCV(t *testing.T) {
	full := renderImage(t)
	defer full.Close()
	for _, in := range [][2]int{{512, 288}, {640, 640}, {320, 480}} {
		pre := NewPreprocessor(in[0], in[1])
		for _, size := range [][2]int{{640, 360}, {1280, 720}, {500, 500}, {900, 300}, {333, 1000}} {
			img := gocv.NewMat()
			gocv.Resize(full, &img, image.Pt(size[0], size[1]), 0, 0, gocv.InterpolationArea)
			got := make([]byte, 3*in[0]*in[1])
			for i := range got {
				got[i] = 7 // what a reused batch buffer held
			}
			if _, err := pre.IntoUInt8(img, got); err != nil {
				t.Fatal(err)
			}
			padded := openCVLetterbox(pre, img)
			want, _ := padded.DataPtrUint8()
			if !bytes.Equal(got, want) {
				i := 0
				for got[i] == want[i] {
					i++
				}
				t.Fatalf("input %v, frame %v: byte %d (y %d) is %d, OpenCV's %d", in, size, i, i/(3*in[0]), got[i], want[i])
			}
			padded.Close()
			img.Close()
		}
		pre.Close()
	}
}

// DecodeUInt8 gives the bytes and mapping that decoding, resizing and
// letterboxing give, whether the reduced decode fits the input exactly
// (rows written in place) or not, and fails on broken JPEGs as decoding does.
func TestDecodeUInt8MatchesDecodeAndLetterbox(t *testing.T) {
	full := renderImage(t)
	defer full.Close()
	cases := []struct{ frame, in [2]int }{
		{[2]int{1280, 720}, [2]int{640, 640}},  // half scale, in place
		{[2]int{1280, 720}, [2]int{1280, 736}}, // full scale, in place
		{[2]int{1280, 720}, [2]int{512, 288}},  // half scale, then resized
		{[2]int{1000, 1000}, [2]int{640, 640}}, // resized
		{[2]int{640, 480}, [2]int{320, 320}},   // half scale, in place, bars at top and bottom
		{[2]int{480, 640}, [2]int{320, 320}},   // bars at the sides
	}
	for _, c := range cases {
		img := gocv.NewMat()
		gocv.Resize(full, &img, image.Pt(c.frame[0], c.frame[1]), 0, 0, gocv.InterpolationArea)
		buf, err := gocv.IMEncode(gocv.JPEGFileExt, img)
		img.Close()
		if err != nil {
			t.Fatal(err)
		}
		frame := append([]byte(nil), buf.GetBytes()...)
		buf.Close()
		pre := NewPreprocessor(c.in[0], c.in[1])
		got := make([]byte, 3*c.in[0]*c.in[1])
		for i := range got {
			got[i] = 7
		}
		lb, err := pre.DecodeUInt8(frame, c.frame[0], c.frame[1], got)
		if err != nil {
			t.Fatal(err)
		}
		m, r, err := DecodeForInput(frame, c.frame[0], c.frame[1], c.in[0], c.in[1])
		if err != nil {
			t.Fatal(err)
		}
		want := make([]byte, len(got))
		wlb, err := pre.IntoUInt8(m, want)
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		if wlb = wlb.Scaled(r); lb != wlb {
			t.Fatalf("frame %v in %v: letterbox %+v, want %+v", c.frame, c.in, lb, wlb)
		}
		if !bytes.Equal(got, want) {
			i := 0
			for got[i] == want[i] {
				i++
			}
			t.Fatalf("frame %v in %v: byte %d (y %d) is %d, want %d", c.frame, c.in, i, i/(3*c.in[0]), got[i], want[i])
		}
		if _, err := pre.DecodeUInt8(frame[:len(frame)/2], c.frame[0], c.frame[1], got); !errors.Is(err, ErrTruncatedJPEG) {
			t.Fatalf("frame %v in %v: half a JPEG gave %v, want %v", c.frame, c.in, err, ErrTruncatedJPEG)
		}
		if _, err := pre.DecodeUInt8(frame[:200], c.frame[0], c.frame[1], got); err == nil {
			t.Fatalf("frame %v in %v: a header alone decoded", c.frame, c.in)
		}
		pre.Close()
	}
}
