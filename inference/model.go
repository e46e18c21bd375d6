package inference

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Layout is how a model lays out its output.
type Layout int

const (
	// LayoutYOLOv8 is [batch, 4+classes, anchors]: cx, cy, w, h in input
	// pixels, then one score per class (Ultralytics YOLOv8/YOLO11).
	LayoutYOLOv8 Layout = iota
	// LayoutYOLOv8T is the same transposed: [batch, anchors, 4+classes].
	LayoutYOLOv8T
	// LayoutEndToEnd is [batch, N, 6]: x1, y1, x2, y2, score, class, already
	// suppressed (Ultralytics end-to-end exports).
	LayoutEndToEnd
	// LayoutReduced is [batch, 6, anchors]: cx, cy, w, h, best score, its
	// class, per anchor (the engine's ReduceOutput rewrite).
	LayoutReduced
)

func (l Layout) String() string {
	return [...]string{"yolov8 [B,4+C,A]", "yolov8 [B,A,4+C]", "end-to-end [B,N,6]", "reduced [B,6,A]"}[l]
}

// ModelInfo is what the engine learns from a model file.
type ModelInfo struct {
	Input, Output string
	// Width and Height of the input, from its shape, Config's or the imgsz
	// metadata.
	Width, Height int
	// OpenSize is set when the model's input height and width are open, so
	// that Config may choose them.
	OpenSize bool
	// MaxBatch is the fixed batch size, or 0 when the batch is dynamic.
	FixedBatch int
	Names      []string
	Layout     Layout
	// Anchors is the size of the output's box axis.
	Anchors int
	// UInt8 is set when the (rewritten) model takes [batch, h, w, 3] BGR
	// bytes instead of [batch, 3, h, w] floats.
	UInt8 bool
	// CountScores is the metadata count_scores, one per class: the median
	// score over a track at which the tracker counts an object as visible
	// from the camera, calibrated on validation data (`cropstream eval
	// calibrate`); nil when absent.
	CountScores []float32
	// Conf is the metadata conf: the score at which a box is taken as an
	// object, the model's operating point chosen on validation data (what
	// eval detect reports precision and recall at); 0 when absent.
	Conf float32
	// Version is the model_version metadata; empty when absent.
	Version string
}

// parseCountScores reads the count_scores metadata, "0.70,0.74,0.65": one
// score in (0, 1) per class.
func parseCountScores(s string, classes int) ([]float32, error) {
	var out []float32
	for _, f := range strings.Split(s, ",") {
		v, ok := parseScore(f)
		if !ok {
			return nil, fmt.Errorf("count_scores metadata %q: %q is not a score in (0, 1)", s, f)
		}
		out = append(out, v)
	}
	if classes > 0 && len(out) != classes {
		return nil, fmt.Errorf("count_scores metadata %q has %d scores for %d classes", s, len(out), classes)
	}
	return out, nil
}

// parseConf reads the conf metadata, one score in (0, 1).
func parseConf(s string) (float32, error) {
	v, ok := parseScore(s)
	if !ok {
		return 0, fmt.Errorf("conf metadata %q is not a score in (0, 1)", s)
	}
	return v, nil
}

// parseScore reads one score in (0, 1), spaces around it allowed.
func parseScore(s string) (float32, bool) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 32)
	return float32(v), err == nil && v > 0 && v < 1
}

var namesEntry = regexp.MustCompile(`(\d+)\s*:\s*['"]([^'"]*)['"]`)

// parseNames reads Ultralytics' names metadata, a Python dict literal:
// "{0: 'apple', 1: 'citrus'}".
func parseNames(s string) ([]string, error) {
	m := namesEntry.FindAllStringSubmatch(s, -1)
	if len(m) == 0 {
		return nil, fmt.Errorf("names metadata %q is not a {index: 'name'} dict", s)
	}
	byIdx := map[int]string{}
	var idx []int
	for _, e := range m {
		i, _ := strconv.Atoi(e[1])
		byIdx[i] = e[2]
		idx = append(idx, i)
	}
	sort.Ints(idx)
	names := make([]string, idx[len(idx)-1]+1)
	for i := range names {
		n, ok := byIdx[i]
		if !ok {
			n = "class" + strconv.Itoa(i)
		}
		names[i] = n
	}
	return names, nil
}

// resized is info with the input size a Config asks for (0x0: as it is):
// any multiple of 32 where the model's size is open, else only its own.
func (info ModelInfo) resized(h, w int) (ModelInfo, error) {
	switch {
	case h == 0 && w == 0 || h == info.Height && w == info.Width:
		return info, nil
	case h <= 0 || w <= 0 || h%32 != 0 || w%32 != 0 || h*w > 4096*4096:
		return info, fmt.Errorf("input size %dx%d: want height and width multiples of 32 (the detectors' largest stride), at most 4096x4096", h, w)
	case !info.OpenSize:
		return info, fmt.Errorf("its input is fixed at %dx%d, not %dx%d (export it with open height and width, as Ultralytics dynamic=True does)", info.Height, info.Width, h, w)
	}
	info.Height, info.Width = h, w
	return info, nil
}

// ParseImageSize reads an input size as "640" (square) or "384x640"
// (height x width).
func ParseImageSize(s string) (h, w int, err error) {
	if s == "" {
		return 0, 0, nil
	}
	hs, ws, ok := strings.Cut(s, "x")
	if !ok {
		ws = hs
	}
	if h, err = strconv.Atoi(hs); err == nil {
		w, err = strconv.Atoi(ws)
	}
	if err != nil || h <= 0 || w <= 0 {
		return 0, 0, fmt.Errorf("input size %q: want N or HEIGHTxWIDTH in pixels", s)
	}
	return h, w, nil
}

// parseImgsz reads "[h, w]" or "640".
func parseImgsz(s string) (h, w int, err error) {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == '[' || r == ']' || r == ',' || r == ' ' || r == '(' || r == ')' })
	switch len(f) {
	case 1:
		h, err = strconv.Atoi(f[0])
		return h, h, err
	case 2:
		if h, err = strconv.Atoi(f[0]); err == nil {
			w, err = strconv.Atoi(f[1])
		}
		return h, w, err
	}
	return 0, 0, fmt.Errorf("imgsz metadata %q: want [h, w] or a single size", s)
}

// resolveLayout works out the output layout from its shape and class count
// (nc is 0 when the model carries no names).
func resolveLayout(dims []int64, nc int) (Layout, int, int, error) {
	if len(dims) != 3 {
		return 0, 0, 0, fmt.Errorf("output has %d dimensions, want 3 ([batch, 4+classes, anchors] or [batch, N, 6])", len(dims))
	}
	a, b := int(dims[1]), int(dims[2])
	switch {
	case nc > 0 && a == 4+nc:
		return LayoutYOLOv8, nc, b, nil
	case nc > 0 && b == 4+nc && b != 6:
		return LayoutYOLOv8T, nc, a, nil
	case b == 6 && a != 10: // [B, N, 6]; a 6-class [B,10,A] model is not end-to-end
		return LayoutEndToEnd, nc, a, nil
	case nc == 0 && a > 4 && b > a:
		return LayoutYOLOv8, a - 4, b, nil
	}
	return 0, 0, 0, fmt.Errorf("output shape %v does not fit %d classes in any known layout", dims, nc)
}
