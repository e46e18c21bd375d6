package shadow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// ErrNoShadow is returned by CompareTopics when the shadow-detections topic
// holds nothing.
var ErrNoShadow = errors.New("no shadow detections: deploy a shadow first (cropstream model deploy FILE --shadow)")

// CompareTopics reads the detections and shadow-detections topics to their
// ends and compares them (Compare); records that do not decode are left out.
func CompareTopics(ctx context.Context, conn *broker.Conn, iou float64) (Report, error) {
	sv, err := readDetections(ctx, conn, topology.Detections)
	if err != nil {
		return Report{}, err
	}
	sh, err := readDetections(ctx, conn, topology.ShadowDetections)
	if err != nil {
		return Report{}, err
	}
	if len(sh) == 0 {
		return Report{}, ErrNoShadow
	}
	return Compare(sv, sh, iou), nil
}

func readDetections(ctx context.Context, conn *broker.Conn, t topology.Topic) ([]*schema.Detections, error) {
	recs, err := broker.ReadAll(ctx, conn, t, time.Second)
	if err != nil {
		return nil, fmt.Errorf("shadow: read %s: %w", t, err)
	}
	out := make([]*schema.Detections, 0, len(recs))
	for _, r := range recs {
		if d, err := schema.DecodeDetections(r.Value); err == nil {
			out = append(out, d)
		}
	}
	return out, nil
}

// Print writes the report as a table, a line per camera and one for all,
// then the tracked counts where there are any.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "serving %s, shadow %s, IoU >= %.2f\n", strings.Join(r.ServingModels, " "), strings.Join(r.ShadowModels, " "), r.IoU)
	fmt.Fprintf(w, "%-16s %7s %9s %9s %8s %9s %7s %10s %10s\n", "camera", "frames", "serving", "shadow", "matched", "precision", "recall", "serving ms", "shadow ms")
	cams := make([]string, 0, len(r.Cameras))
	for c := range r.Cameras {
		cams = append(cams, c)
	}
	slices.Sort(cams)
	line := func(name string, s *Stats) {
		fmt.Fprintf(w, "%-16s %7d %9d %9d %8d %9.3f %7.3f %10.1f %10.1f\n", name, s.Frames, s.ServingBoxes, s.ShadowBoxes, s.Matched, s.Precision, s.Recall, s.ServingMs, s.ShadowMs)
	}
	for _, c := range cams {
		line(c, r.Cameras[c])
	}
	line("all", &r.Total)
	if r.Total.Tracked {
		fmt.Fprintf(w, "objects the tracker counts (cameras whose every frame the shadow saw): serving %d, shadow %d\n", r.Total.ServingObjects, r.Total.ShadowObjects)
		for _, c := range cams {
			if s := r.Cameras[c]; s.Tracked {
				fmt.Fprintf(w, "  %-16s serving %d, shadow %d\n", c, s.ServingObjects, s.ShadowObjects)
			}
		}
	}
	if r.Unmatched > 0 {
		fmt.Fprintf(w, "%d shadow frames without a serving record (not detected yet, or expired)\n", r.Unmatched)
	}
}
