package inference

import "testing"

// The CUDA provider's options go under the prefix it reads, over the
// defaults; full keys pass as they are.
func TestCUDAOptions(t *testing.T) {
	got := cudaOptions(map[string]string{"use_tf32": "0", "prefer_nhwc": "0", "session.x": "1"})
	want := map[string]string{"ep.cuda.use_tf32": "0", "ep.cuda.prefer_nhwc": "0", "session.x": "1"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if cudaOptions(nil)["ep.cuda.prefer_nhwc"] != "1" {
		t.Fatal("NHWC is not the default")
	}
}
