package inference

import (
	"fmt"

	"gocv.io/x/gocv"
)

// Batch holds a batch of model inputs, one image per slot: floats, or bytes
// for a model with the UInt8Input rewrite (the GPU path). Decode fills a
// slot, Run infers the first n.
type Batch struct {
	f32 []float32
	u8  []byte
	per int
	// w and h are the input's size, for ImageStats.
	w, h int
}

// NewBatch makes a batch of slots images for the model info describes.
func NewBatch(info ModelInfo, slots int) *Batch {
	per := 3 * info.Width * info.Height
	if info.UInt8 {
		return &Batch{u8: make([]byte, slots*per), per: per, w: info.Width, h: info.Height}
	}
	return &Batch{f32: make([]float32, slots*per), per: per, w: info.Width, h: info.Height}
}

// Move copies slot from to slot to.
func (b *Batch) Move(from, to int) {
	if b.u8 != nil {
		copy(b.u8[to*b.per:(to+1)*b.per], b.u8[from*b.per:(from+1)*b.per])
		return
	}
	copy(b.f32[to*b.per:(to+1)*b.per], b.f32[from*b.per:(from+1)*b.per])
}

// Runner infers batches: an *Engine.
type Runner interface {
	Run(input []float32, n int) ([][]Detection, error)
	RunUInt8(input []byte, n int) ([][]Detection, error)
}

// Run infers the first n slots with r.
func (b *Batch) Run(r Runner, n int) ([][]Detection, error) {
	if b.u8 != nil {
		return r.RunUInt8(b.u8[:n*b.per], n)
	}
	return r.Run(b.f32[:n*b.per], n)
}

// Decode decodes a w x h JPEG frame into slot of b, letterboxed for the
// model, and returns the mapping back to frame pixels.
func (p *Preprocessor) Decode(jpg []byte, w, h int, b *Batch, slot int) (Letterbox, error) {
	if b.per != 3*p.w*p.h {
		return Letterbox{}, fmt.Errorf("preprocess: batch slots of %d values, want %d", b.per, 3*p.w*p.h)
	}
	if b.u8 != nil {
		return p.DecodeUInt8(jpg, w, h, b.u8[slot*b.per:(slot+1)*b.per])
	}
	m, r, err := DecodeForInput(jpg, w, h, p.w, p.h)
	if err != nil {
		return Letterbox{}, err
	}
	defer m.Close()
	lb, err := p.Into(m, b.f32[slot*b.per:(slot+1)*b.per])
	return lb.Scaled(r), err
}

// IntoBatch letterboxes a decoded image into slot of b, as floats or bytes
// as the batch holds them.
func (p *Preprocessor) IntoBatch(img gocv.Mat, b *Batch, slot int) (Letterbox, error) {
	if b.per != 3*p.w*p.h {
		return Letterbox{}, fmt.Errorf("preprocess: batch slots of %d values, want %d", b.per, 3*p.w*p.h)
	}
	if b.u8 != nil {
		return p.IntoUInt8(img, b.u8[slot*b.per:(slot+1)*b.per])
	}
	return p.Into(img, b.f32[slot*b.per:(slot+1)*b.per])
}
