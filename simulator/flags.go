package simulator

import "github.com/spf13/pflag"

// RegisterFlags registers `cropstream sim`'s flags of the output.
func (c *OutputConfig) RegisterFlags(f *pflag.FlagSet) {
	f.StringVar(&c.Dir, "out", "", "output directory (required)")
	f.StringVar(&c.Video, "video", "video.avi", "video file name in --out: .avi (MJPG) or .mp4 (mp4v)")
	f.BoolVar(&c.ExportYOLO, "export-yolo", false, "also write YOLO training images and labels under --out/yolo")
	f.IntVar(&c.YOLOEvery, "yolo-every", 1, "keep every n-th frame for the YOLO export")
	f.IntVar(&c.JPEGQuality, "jpeg-quality", 90, "JPEG quality of exported images (1-100)")
	f.IntVar(&c.Snapshot, "snapshot", 0, "write snapshot.png: frame N with its ground truth drawn")
}
