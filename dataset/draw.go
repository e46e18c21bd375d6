package dataset

import (
	"fmt"
	"image"
	"image/color"

	"gocv.io/x/gocv"

	"github.com/cropstream/cropstream/inference"
)

var (
	truthColour = color.RGBA{40, 220, 40, 0}
	predColour  = color.RGBA{255, 60, 40, 0}
)

// Annotate draws truth boxes (green) and the predictions scoring at least
// conf (red, with class and score) on img, as yolo val's pictures show a
// model's errors: a green box alone is a miss, a red one alone a false
// alarm. Boxes are in img's pixels.
func Annotate(img *gocv.Mat, truth, pred []inference.Detection, names []string, conf float32) {
	// Lines stay visible when a picture is shown shrunk.
	thick := max(1, img.Cols()/320)
	for _, g := range truth {
		gocv.Rectangle(img, rect(g), truthColour, thick)
	}
	for _, d := range pred {
		if d.Score < conf {
			continue
		}
		r := rect(d)
		gocv.Rectangle(img, r, predColour, thick)
		name := fmt.Sprint(d.Class)
		if d.Class >= 0 && d.Class < len(names) {
			name = names[d.Class]
		}
		gocv.PutText(img, fmt.Sprintf("%s %.2f", name, d.Score), image.Pt(r.Min.X, max(10, r.Min.Y-3)),
			gocv.FontHersheySimplex, 0.2+0.15*float64(thick), predColour, 1)
	}
}

func rect(d inference.Detection) image.Rectangle {
	return image.Rect(int(d.X1+0.5), int(d.Y1+0.5), int(d.X2+0.5), int(d.Y2+0.5))
}
