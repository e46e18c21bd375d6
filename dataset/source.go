package dataset

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Source names a labelled set as `eval detect` is given one: a folder of
// images, a data.yaml (with a split), or both, and optionally the class
// names.
type Source struct {
	// Images is a folder of images (or one holding images/); "" takes the
	// folder of Split from Data.
	Images string
	// Data is an Ultralytics data.yaml: class names and split folders.
	Data string
	// Split is the split of Data read when Images is "": train, val, test.
	Split string
	// Names, comma-separated, replace the data.yaml's class names.
	Names string
}

// String says which images are read.
func (s Source) String() string {
	if s.Images != "" {
		return s.Images
	}
	return s.Data + " (" + s.Split + ")"
}

// Load finds the images and the class names: from Names, else from Data,
// else from a data.yaml beside Images or up to two folders above it (where
// a data set usually carries it).
func (s Source) Load() (*Set, error) {
	dir := s.Images
	var names []string
	if s.Names != "" {
		for _, n := range strings.Split(s.Names, ",") {
			names = append(names, strings.TrimSpace(n))
		}
	}
	yamlPath := s.Data
	if yamlPath == "" && names == nil {
		for _, d := range []string{dir, filepath.Dir(dir), filepath.Dir(filepath.Dir(dir))} {
			if p := filepath.Join(d, "data.yaml"); fileExists(p) {
				yamlPath = p
				break
			}
		}
		if yamlPath == "" {
			return nil, fmt.Errorf("eval detect --images %s: no data.yaml beside it; give the class names with --data or --names", dir)
		}
	}
	if yamlPath != "" {
		cfg, err := ReadConfig(yamlPath)
		if err != nil {
			return nil, err
		}
		if names == nil {
			names = cfg.Names
		}
		if dir == "" {
			if dir, err = cfg.Split(s.Split); err != nil {
				return nil, fmt.Errorf("%s: %w", yamlPath, err)
			}
		}
	}
	return ReadDir(dir, names)
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}
