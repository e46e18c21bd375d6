package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"gocv.io/x/gocv"

	"github.com/cropstream/cropstream/schema"
)

// ReadFrames reads up to limit frames of the source sc names as the JPEG
// frames ingest would produce, numbered from 0 and keyed by camera: footage
// for code that runs the detector without Kafka (a drift reference).
func ReadFrames(ctx context.Context, sc SourceConfig, limit int, camera string) ([]*schema.Frame, error) {
	src, err := Open(ctx, sc, &Config{}, func(string) bool { return false })
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var out []*schema.Frame
	for len(out) < limit {
		c, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		jpg := c.JPEG
		if jpg == nil {
			buf, err := gocv.IMEncode(gocv.JPEGFileExt, *c.Image)
			if err != nil {
				return nil, fmt.Errorf("encode frame %d: %w", len(out), err)
			}
			jpg = append([]byte(nil), buf.GetBytes()...)
			buf.Close()
		}
		out = append(out, &schema.Frame{FrameId: strconv.Itoa(len(out)), CameraId: camera, Width: uint32(c.Width), Height: uint32(c.Height),
			Encoding: schema.Encoding_ENCODING_JPEG, Image: jpg})
	}
	if len(out) == 0 {
		return nil, errors.New("the footage has no frames")
	}
	return out, nil
}
