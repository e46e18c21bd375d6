// Package inferencetest builds stand-ins for the CUDA libraries the GPU
// JPEG decoder opens, so that its path runs in tests on machines without a GPU.
package inferencetest

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// FakeCUDA builds inference/testdata/fakecuda.c with the C compiler into a
// new directory: libcuda.so.1, and libnvjpeg and libnvrtc with the soname
// version given ("13" or "12"); flags are passed to the compiler (the file
// lists its -D options). It returns the directory: the decoder's LibDir,
// with Driver the libcuda.so.1 in it.
func FakeCUDA(t testing.TB, version string, flags ...string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	pkg := filepath.Join(filepath.Dir(file), "..")
	dir := t.TempDir()
	for _, l := range []struct{ def, name string }{{"FAKE_DRIVER", "libcuda.so.1"}, {"FAKE_NVJPEG", "libnvjpeg.so." + version}, {"FAKE_NVRTC", "libnvrtc.so." + version}} {
		args := append([]string{"-shared", "-fPIC", "-O1", "-I" + pkg, "-D" + l.def, "-o", filepath.Join(dir, l.name), filepath.Join(pkg, "testdata", "fakecuda.c"), "-ljpeg"}, flags...)
		if out, err := exec.Command("cc", args...).CombinedOutput(); err != nil {
			t.Fatalf("cc %v: %v\n%s", args, err, out)
		}
	}
	return dir
}
