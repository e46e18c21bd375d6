// Package dataset reads labelled image sets in the YOLO (Ultralytics)
// layout: images in an images/ folder, one labels/ .txt per image with a
// line "class cx cy w h" per box (normalised to the image size), class
// names in a data.yaml.
package dataset

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Box is one labelled object, centre and size as fractions of the image.
type Box struct {
	Class        int
	CX, CY, W, H float64
}

// Rect is the box in pixels of a w x h image: x1, y1, x2, y2.
func (b Box) Rect(w, h int) (x1, y1, x2, y2 float64) {
	fw, fh := float64(w), float64(h)
	return (b.CX - b.W/2) * fw, (b.CY - b.H/2) * fh, (b.CX + b.W/2) * fw, (b.CY + b.H/2) * fh
}

// Image is one labelled image.
type Image struct {
	Path string
	// Label is its label file; "" when it has none (no objects, as
	// Ultralytics reads a missing file).
	Label string
	Boxes []Box
}

// Set is a labelled image set.
type Set struct {
	// Names are the class names by index.
	Names  []string
	Images []Image
}

var imageExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".bmp": true, ".webp": true}

// LabelPath is where Ultralytics looks for an image's labels: the last
// /images/ of the path replaced by /labels/, the extension by .txt.
func LabelPath(image string) string {
	dir, file := filepath.Split(image)
	sep := string(filepath.Separator)
	d := sep + filepath.Clean(dir) + sep
	if i := strings.LastIndex(d, sep+"images"+sep); i >= 0 {
		d = d[:i] + sep + "labels" + sep + d[i+len(sep+"images"+sep):]
	}
	return filepath.Join(strings.TrimPrefix(d, sep), strings.TrimSuffix(file, filepath.Ext(file))+".txt")
}

// ReadDir reads the images under dir (recursively) and their labels. When
// dir holds an images/ folder, that is where the images are. Class indices
// must be below len(names).
func ReadDir(dir string, names []string) (*Set, error) {
	if fi, err := os.Stat(filepath.Join(dir, "images")); err == nil && fi.IsDir() {
		dir = filepath.Join(dir, "images")
	}
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && imageExts[strings.ToLower(filepath.Ext(p))] {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dataset: listing %s: %w", dir, err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("dataset: no images (%s) under %s", strings.Join(extList(), ", "), dir)
	}
	sort.Strings(paths)
	s := &Set{Names: names}
	for _, p := range paths {
		im := Image{Path: p}
		lp := LabelPath(p)
		boxes, err := ReadLabels(lp, len(names))
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, err
		default:
			im.Label, im.Boxes = lp, boxes
		}
		s.Images = append(s.Images, im)
	}
	return s, nil
}

func extList() []string {
	var l []string
	for e := range imageExts {
		l = append(l, e)
	}
	sort.Strings(l)
	return l
}

// ReadLabels reads a YOLO label file; classes are checked against nc (when
// positive). An empty file is an image without objects.
func ReadLabels(path string, nc int) ([]Box, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var boxes []Box
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		// Segmentation labels (class and a polygon) are not boxes.
		if len(fields) != 5 {
			return nil, fmt.Errorf("dataset: %s:%d: %d fields, want class cx cy w h", path, n, len(fields))
		}
		c, err := strconv.Atoi(fields[0])
		if err != nil || c < 0 || (nc > 0 && c >= nc) {
			return nil, fmt.Errorf("dataset: %s:%d: class %q is not one of the %d named classes", path, n, fields[0], nc)
		}
		var v [4]float64
		for i := range v {
			if v[i], err = strconv.ParseFloat(fields[i+1], 64); err != nil {
				return nil, fmt.Errorf("dataset: %s:%d: %w", path, n, err)
			}
		}
		boxes = append(boxes, Box{Class: c, CX: v[0], CY: v[1], W: v[2], H: v[3]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("dataset: reading %s: %w", path, err)
	}
	return boxes, nil
}

// Config is an Ultralytics data.yaml: the root path, the splits' image
// folders relative to it, and the class names.
type Config struct {
	Path  string
	Train string
	Val   string
	Test  string
	Names []string
}

// ReadConfig reads a data.yaml. Names may be a list or a map from index to
// name; a relative path is relative to the yaml's folder (as a data set's
// own yaml means it; Ultralytics itself resolves it against its datasets
// directory).
func ReadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	var raw struct {
		Path  string    `yaml:"path"`
		Train string    `yaml:"train"`
		Val   string    `yaml:"val"`
		Test  string    `yaml:"test"`
		Names yaml.Node `yaml:"names"`
	}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", path, err)
	}
	c := &Config{Train: raw.Train, Val: raw.Val, Test: raw.Test}
	switch raw.Names.Kind {
	case yaml.SequenceNode:
		if err := raw.Names.Decode(&c.Names); err != nil {
			return nil, fmt.Errorf("dataset: %s: names: %w", path, err)
		}
	case yaml.MappingNode:
		var m map[int]string
		if err := raw.Names.Decode(&m); err != nil {
			return nil, fmt.Errorf("dataset: %s: names: %w", path, err)
		}
		c.Names = make([]string, len(m))
		for i, n := range m {
			if i < 0 || i >= len(m) {
				return nil, fmt.Errorf("dataset: %s: names: indices must run 0..%d, got %d", path, len(m)-1, i)
			}
			c.Names[i] = n
		}
	default:
		return nil, fmt.Errorf("dataset: %s: no names", path)
	}
	base := filepath.Dir(path)
	c.Path = raw.Path
	if c.Path == "" || !filepath.IsAbs(c.Path) {
		c.Path = filepath.Join(base, c.Path)
	}
	return c, nil
}

// Split is the image folder of split train, val or test.
func (c *Config) Split(split string) (string, error) {
	var rel string
	switch split {
	case "train":
		rel = c.Train
	case "val":
		rel = c.Val
	case "test":
		rel = c.Test
	default:
		return "", fmt.Errorf("dataset: split %q: want train, val or test", split)
	}
	if rel == "" {
		return "", fmt.Errorf("dataset: the data set has no %s split", split)
	}
	if filepath.IsAbs(rel) {
		return rel, nil
	}
	return filepath.Join(c.Path, rel), nil
}
