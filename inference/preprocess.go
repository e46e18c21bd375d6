package inference

/*
#include <malloc.h>
static void tune_malloc(void) {
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
}
*/
import "C"

import (
	"fmt"
	"image"
	"sync"

	"gocv.io/x/gocv"
)

var tuneOnce sync.Once

// TuneMalloc keeps glibc from returning frame-sized buffers to the kernel
// after every frame: without it the decode loop spends most of its time in
// page faults (measured 5x slower). Safe to call more than once.
func TuneMalloc() { tuneOnce.Do(func() { C.tune_malloc() }) }

// Letterbox maps between frame pixels and the model's input: the frame is
// scaled by Scale and placed at (PadX, PadY) in an input of the model's size.
type Letterbox struct {
	Scale      float32
	PadX, PadY float32
	SrcW, SrcH int
}

// NewLetterbox fits a srcW x srcH frame into dstW x dstH keeping its aspect.
func NewLetterbox(srcW, srcH, dstW, dstH int) Letterbox {
	l := Letterbox{Scale: min(float32(dstW)/float32(srcW), float32(dstH)/float32(srcH)), SrcW: srcW, SrcH: srcH}
	nw, nh := l.Size()
	l.PadX, l.PadY = float32((dstW-nw)/2), float32((dstH-nh)/2)
	return l
}

// Size is the frame's size inside the input.
func (l Letterbox) Size() (w, h int) {
	return int(float32(l.SrcW)*l.Scale + 0.5), int(float32(l.SrcH)*l.Scale + 0.5)
}

// ToFrame maps a box from input to frame pixels, clipped to the frame.
func (l Letterbox) ToFrame(d Detection) Detection {
	f := func(v, pad float32, lim int) float32 { return min(max((v-pad)/l.Scale, 0), float32(lim)) }
	d.X1, d.X2 = f(d.X1, l.PadX, l.SrcW), f(d.X2, l.PadX, l.SrcW)
	d.Y1, d.Y2 = f(d.Y1, l.PadY, l.SrcH), f(d.Y2, l.PadY, l.SrcH)
	return d
}

// Scaled maps to a frame r times larger than the one it was made for: a
// frame decoded at 1/r scale (see DecodeForInput) maps boxes back to full size.
func (l Letterbox) Scaled(r int) Letterbox {
	l.Scale /= float32(r)
	l.SrcW *= r
	l.SrcH *= r
	return l
}

// DecodeForInput decodes a w x h JPEG for a model input of inW x inH. JPEG
// decodes at 1/2, 1/4 or 1/8 scale in the DCT domain at a fraction of the
// cost, so it does whenever the smaller image still covers the input
// (entropy decoding, which no scale skips, is most of what remains). It
// returns the image and the reduction factor.
func DecodeForInput(jpg []byte, w, h, inW, inH int) (gocv.Mat, int, error) {
	r := decodeFactor(w, h, inW, inH)
	m, err := decodeJPEG(jpg, r)
	if err != nil {
		return gocv.Mat{}, 0, err
	}
	return m, r, nil
}

// decodeFactor is the largest JPEG reduction (8, 4, 2, 1) whose image still
// covers what the letterbox keeps of a w x h frame in an inW x inH input: a
// 720p frame in a 640x640 input is 640x360, so half scale suffices although
// 360 < 640.
func decodeFactor(w, h, inW, inH int) int {
	if lb := NewLetterbox(w, h, inW, inH); lb.Scale < 1 {
		inW, inH = lb.Size()
	}
	for _, c := range []int{8, 4, 2} {
		if w/c >= inW && h/c >= inH {
			return c
		}
	}
	return 1
}

// DecodeUInt8 decodes a w x h JPEG frame into dst, the letterboxed h*w*3
// BGR input of a model with the UInt8Input rewrite, and returns the mapping
// back to frame pixels. Where the reduced decode has exactly the size the
// frame takes in the input (a 720p frame in 640x640, at half scale), libjpeg
// writes its rows in place and only the bars are filled: no image buffer,
// no copy. Otherwise it decodes, resizes and copies (IntoUInt8).
func (p *Preprocessor) DecodeUInt8(jpg []byte, w, h int, dst []byte) (Letterbox, error) {
	if len(dst) != 3*p.w*p.h {
		return Letterbox{}, fmt.Errorf("preprocess: destination holds %d bytes, want %d", len(dst), 3*p.w*p.h)
	}
	r := decodeFactor(w, h, p.w, p.h)
	dw, dh, err := jpegSize(jpg, r)
	if err != nil {
		return Letterbox{}, err
	}
	lb := NewLetterbox(dw, dh, p.w, p.h)
	if nw, nh := lb.Size(); nw != dw || nh != dh {
		m, err := decodeJPEG(jpg, r)
		if err != nil {
			return Letterbox{}, err
		}
		defer m.Close()
		lb, err := p.IntoUInt8(m, dst)
		return lb.Scaled(r), err
	}
	px, py := int(lb.PadX), int(lb.PadY)
	if err := decodeRows(jpg, r, dst[(py*p.w+px)*3:], 3*p.w); err != nil {
		return Letterbox{}, err
	}
	p.bars(dst, px, py, dw, dh)
	return lb.Scaled(r), nil
}

// ToInput maps a box from frame to input pixels.
func (l Letterbox) ToInput(d Detection) Detection {
	d.X1, d.X2 = d.X1*l.Scale+l.PadX, d.X2*l.Scale+l.PadX
	d.Y1, d.Y2 = d.Y1*l.Scale+l.PadY, d.Y2*l.Scale+l.PadY
	return d
}

// Preprocessor turns BGR frames into the model's float32 NCHW RGB input
// (0..1, grey 114 padding, as Ultralytics trains). It reuses its Mats, so one
// Preprocessor serves one goroutine.
type Preprocessor struct {
	w, h    int
	resized gocv.Mat
}

// NewPreprocessor makes a preprocessor for a w x h model input.
func NewPreprocessor(w, h int) *Preprocessor {
	return &Preprocessor{w: w, h: h, resized: gocv.NewMat()}
}

// Into letterboxes img into dst, which holds 3*h*w floats (one image of a
// batch), and returns the mapping back to frame pixels.
func (p *Preprocessor) Into(img gocv.Mat, dst []float32) (Letterbox, error) {
	if err := p.fits(img, len(dst), "floats"); err != nil {
		return Letterbox{}, err
	}
	lb, src, nw, nh := p.scale(img)
	if !src.IsContinuous() {
		src = src.Clone()
		defer src.Close()
	}
	bgr, err := src.DataPtrUint8()
	if err != nil {
		return Letterbox{}, fmt.Errorf("preprocess: %w", err)
	}
	// BGR bytes to RGB planes of floats, with the padding, in one pass:
	// OpenCV's border + blob + copy was a visible share of a 2-core frame
	// budget.
	px, py := int(lb.PadX), int(lb.PadY)
	plane := p.w * p.h
	r, g, b := dst[:plane], dst[plane:2*plane], dst[2*plane:3*plane]
	const pad = pad114 / 255.0
	for y := 0; y < p.h; y++ {
		row := y * p.w
		sy := y - py
		if sy < 0 || sy >= nh {
			for x := row; x < row+p.w; x++ {
				r[x], g[x], b[x] = pad, pad, pad
			}
			continue
		}
		for x := row; x < row+px; x++ {
			r[x], g[x], b[x] = pad, pad, pad
		}
		line := bgr[sy*nw*3 : (sy+1)*nw*3]
		rr, gg, bb := r[row+px:row+px+nw], g[row+px:row+px+nw], b[row+px:row+px+nw]
		for i := range rr {
			bb[i] = float32(line[3*i]) * (1.0 / 255)
			gg[i] = float32(line[3*i+1]) * (1.0 / 255)
			rr[i] = float32(line[3*i+2]) * (1.0 / 255)
		}
		for x := row + px + nw; x < row+p.w; x++ {
			r[x], g[x], b[x] = pad, pad, pad
		}
	}
	return lb, nil
}

// fits says why img does not go into a destination of n values (floats or
// bytes, unit), if it does not.
func (p *Preprocessor) fits(img gocv.Mat, n int, unit string) error {
	if img.Empty() || img.Channels() != 3 {
		return fmt.Errorf("preprocess: want a 3-channel image, got %d channels", img.Channels())
	}
	if n != 3*p.w*p.h {
		return fmt.Errorf("preprocess: destination holds %d %s, want %d", n, unit, 3*p.w*p.h)
	}
	return nil
}

// IntoUInt8 letterboxes img into dst, h*w*3 BGR bytes (one image of a batch
// for a model with the UInt8Input rewrite), and returns the mapping back. One
// pass: rows copied into place between grey bars (the bytes OpenCV's
// CopyMakeBorder gives, TestIntoUInt8MatchesOpenCV), no padded copy first.
func (p *Preprocessor) IntoUInt8(img gocv.Mat, dst []byte) (Letterbox, error) {
	if err := p.fits(img, len(dst), "bytes"); err != nil {
		return Letterbox{}, err
	}
	lb, src, nw, nh := p.scale(img)
	data, err := src.DataPtrUint8()
	if err != nil || src.Step() != 3*nw {
		return Letterbox{}, fmt.Errorf("preprocess: image memory not one block (%v)", err)
	}
	px, py := int(lb.PadX), int(lb.PadY)
	for y := range nh {
		at := ((py+y)*p.w + px) * 3
		copy(dst[at:at+3*nw], data[3*nw*y:3*nw*(y+1)])
	}
	p.bars(dst, px, py, nw, nh)
	return lb, nil
}

// bars fills with grey what the nw x nh image at (px, py) leaves of dst,
// an h*w*3 byte input.
func (p *Preprocessor) bars(dst []byte, px, py, nw, nh int) {
	stride := 3 * p.w
	grey(dst[:py*stride])
	for y := range nh {
		line := dst[(py+y)*stride : (py+y+1)*stride]
		grey(line[:3*px])
		grey(line[3*(px+nw):])
	}
	grey(dst[(py+nh)*stride:])
}

// grey fills b with the padding value by doubling copies (memmove speed).
func grey(b []byte) {
	if len(b) == 0 {
		return
	}
	b[0] = pad114
	for n := 1; n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
}

// scale resizes img to its size inside the input (into p.resized, unless
// it has that size already) and returns it, nw x nh, with the letterbox.
func (p *Preprocessor) scale(img gocv.Mat) (lb Letterbox, src gocv.Mat, nw, nh int) {
	lb = NewLetterbox(img.Cols(), img.Rows(), p.w, p.h)
	nw, nh = lb.Size()
	if nw == img.Cols() && nh == img.Rows() {
		return lb, img, nw, nh
	}
	gocv.Resize(img, &p.resized, image.Pt(nw, nh), 0, 0, gocv.InterpolationLinear)
	return lb, p.resized, nw, nh
}

// Close releases the Mats.
func (p *Preprocessor) Close() {
	p.resized.Close()
}

// pad114 is the letterbox padding Ultralytics trains with.
const pad114 = 114
