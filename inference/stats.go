package inference

import "math"

// statsStep samples every statsStep-th pixel of every statsStep-th row: the
// drift monitor needs the level of a frame, not its detail, and a full pass
// over each input would cost as much as the letterbox itself.
const statsStep = 4

// ImageStats returns the mean and the standard deviation (contrast) of the
// luma, 0..1, of slot's image as the model sees it: over the frame's area
// lb places in the input, without the padding.
func (b *Batch) ImageStats(slot int, lb Letterbox) (mean, std float32) {
	nw, nh := lb.Size()
	x0, y0 := int(lb.PadX), int(lb.PadY)
	x1, y1 := min(x0+nw, b.w), min(y0+nh, b.h)
	var sum, sq float64
	n := 0
	plane := b.w * b.h
	for y := max(y0, 0); y < y1; y += statsStep {
		for x := max(x0, 0); x < x1; x += statsStep {
			var l float64
			if b.u8 != nil {
				px := b.u8[slot*b.per+3*(y*b.w+x):]
				l = (0.114*float64(px[0]) + 0.587*float64(px[1]) + 0.299*float64(px[2])) / 255
			} else {
				img := b.f32[slot*b.per:]
				i := y*b.w + x
				l = 0.299*float64(img[i]) + 0.587*float64(img[plane+i]) + 0.114*float64(img[2*plane+i])
			}
			sum += l
			sq += l * l
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	m := sum / float64(n)
	return float32(m), float32(math.Sqrt(max(sq/float64(n)-m*m, 0)))
}
