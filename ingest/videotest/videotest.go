// Package videotest writes small video files for tests of the video
// source and of the commands that ingest them.
package videotest

import (
	"image"
	"image/color"
	"testing"

	"gocv.io/x/gocv"
)

// Write writes an MJPG .avi of n frames at fps with a moving square, so
// consecutive frames differ.
func Write(t testing.TB, path string, n int, fps float64, w, h int) {
	t.Helper()
	vw, err := gocv.VideoWriterFile(path, "MJPG", fps, w, h, true)
	if err != nil {
		t.Fatal(err)
	}
	defer vw.Close()
	m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	defer m.Close()
	for i := 0; i < n; i++ {
		m.SetTo(gocv.NewScalar(40, 120, 40, 0))
		x := (i * 7) % (w - 40)
		gocv.Rectangle(&m, image.Rect(x, h/3, x+40, h/3+40), color.RGBA{220, 30, 30, 0}, -1)
		if err := vw.Write(m); err != nil {
			t.Fatal(err)
		}
	}
}
