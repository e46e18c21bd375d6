package dataset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLabelPath(t *testing.T) {
	for in, want := range map[string]string{
		"/d/images/val/x.jpg":        "/d/labels/val/x.txt",
		"/images/d/images/a.b.png":   "/images/d/labels/a.b.txt",
		"rel/images/train/sub/y.JPG": "rel/labels/train/sub/y.txt",
		"/flat/z.jpg":                "/flat/z.txt",
	} {
		if got := LabelPath(in); got != want {
			t.Errorf("LabelPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Names as a list or as a map; splits relative to path, itself relative
// to the yaml.
func TestReadConfig(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.yaml"), "path: sets\ntest: images/test\nnames: [apple, 'pear']\n")
	c, err := ReadConfig(filepath.Join(dir, "a.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Names, ",") != "apple,pear" {
		t.Errorf("names %v", c.Names)
	}
	if p, err := c.Split("test"); err != nil || p != filepath.Join(dir, "sets", "images", "test") {
		t.Errorf("test split %q, %v", p, err)
	}
	if _, err := c.Split("val"); err == nil {
		t.Error("a missing split gave no error")
	}
	write(t, filepath.Join(dir, "b.yaml"), "names:\n  1: pear\n  0: apple\n")
	if c, err = ReadConfig(filepath.Join(dir, "b.yaml")); err != nil || strings.Join(c.Names, ",") != "apple,pear" {
		t.Errorf("map names %v, %v", c, err)
	}
	write(t, filepath.Join(dir, "c.yaml"), "names:\n  0: apple\n  2: pear\n")
	if _, err = ReadConfig(filepath.Join(dir, "c.yaml")); err == nil {
		t.Error("a gap in the class indices gave no error")
	}
}

// An image without a label file and one with an empty file have no boxes;
// a class beyond the names and a segmentation line are errors naming the
// file and line.
func TestReadDir(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "images", "a.jpg"), "x")
	write(t, filepath.Join(dir, "images", "b.jpg"), "x")
	write(t, filepath.Join(dir, "images", "c.png"), "x")
	write(t, filepath.Join(dir, "labels", "a.txt"), "0 0.5 0.5 0.2 0.2\n\n1 0.1 0.1 0.1 0.1\n")
	write(t, filepath.Join(dir, "labels", "b.txt"), "")
	s, err := ReadDir(dir, []string{"apple", "pear"})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Images) != 3 || len(s.Images[0].Boxes) != 2 || s.Images[1].Label == "" || len(s.Images[1].Boxes) != 0 || s.Images[2].Label != "" {
		t.Fatalf("%+v", s.Images)
	}
	if x1, y1, x2, y2 := s.Images[0].Boxes[0].Rect(100, 50); x1 != 40 || y1 != 20 || x2 != 60 || y2 != 30 {
		t.Errorf("rect %v %v %v %v", x1, y1, x2, y2)
	}
	if _, err := ReadDir(dir, []string{"apple"}); err == nil || !strings.Contains(err.Error(), "a.txt:3") {
		t.Errorf("class 1 with one name: %v", err)
	}
	write(t, filepath.Join(dir, "labels", "b.txt"), "0 0.1 0.1 0.2 0.1 0.2 0.2\n")
	if _, err := ReadDir(dir, []string{"apple", "pear"}); err == nil || !strings.Contains(err.Error(), "b.txt:1") {
		t.Errorf("segmentation line: %v", err)
	}
}
