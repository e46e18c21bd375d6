package inference

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>

// Slots of the C API's OrtApi function table (append-only, so stable across
// releases; read with offsetof from onnxruntime_c_api.h of API 24).
enum { slotGetErrorMessage = 2, slotReleaseStatus = 93, slotSetEpSelectionPolicy = 305 };

typedef const void* (*get_api_fn)(uint32_t);
typedef const void* const* (*get_base_fn)(void);
typedef void* (*set_policy_fn)(void*, int);
typedef const char* (*err_msg_fn)(const void*);
typedef void (*release_fn)(void*);

// prefer_gpu sets the session options' execution-provider selection policy
// to PREFER_GPU (3), which onnxruntime_go does not expose. Returns NULL or
// the error message (static or in msg).
static const char* prefer_gpu(void* opts, const char* lib, char* msg, int n) {
	void* h = dlopen(lib, RTLD_NOW | RTLD_NOLOAD);
	if (!h) return "library not loaded";
	get_base_fn base = (get_base_fn)dlsym(h, "OrtGetApiBase");
	if (!base) return "no OrtGetApiBase";
	const void* const* api = (const void* const*)((get_api_fn)base()[0])(24);
	if (!api) return "API version 24 not supported";
	void* st = ((set_policy_fn)api[slotSetEpSelectionPolicy])(opts, 3);
	if (!st) return 0;
	const char* m = ((err_msg_fn)api[slotGetErrorMessage])(st);
	int i = 0;
	for (; m && m[i] && i < n - 1; i++) msg[i] = m[i];
	msg[i] = 0;
	((release_fn)api[slotReleaseStatus])(st);
	return msg;
}
*/
import "C"

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"
)

// CUDALibEnv names the environment variable with the CUDA provider's path.
const CUDALibEnv = "CROPSTREAM_ORT_CUDA_LIB"

// cudaOptionPrefix is how the CUDA plugin provider of ORT 1.29 finds its
// options among the session's config entries. ONNX Runtime's documentation
// gives "ep." + the provider's name in lower case + "."; with
// "ep.cudaexecutionprovider.prefer_nhwc" nothing changed on an H100, with
// "ep.cuda.prefer_nhwc" inference ran a fifth faster (benchmarks/results.md).
const cudaOptionPrefix = "ep.cuda."

// defaultCUDAOptions apply unless Config.ProviderOptions sets the key:
// NHWC convolutions let cuDNN use the tensor cores without transposing each
// layer (faster in fp16 and fp32: benchmarks/results.md).
var defaultCUDAOptions = map[string]string{"prefer_nhwc": "1"}

// DefaultCUDALib is the CUDA plugin provider next to the core library.
const DefaultCUDALib = "third_party/onnxruntime/libonnxruntime_providers_cuda.so"

var (
	cudaOnce sync.Once
	cudaErr  error
)

// registerCUDA loads ONNX Runtime 1.29's CUDA plugin execution provider
// once per process. It needs CUDA 13 and cuDNN 9 on the library path.
func registerCUDA(path string) error {
	cudaOnce.Do(func() {
		if path == "" {
			path = os.Getenv(CUDALibEnv)
		}
		if path == "" {
			p, ok := findUp(DefaultCUDALib)
			if !ok {
				cudaErr = fmt.Errorf("%w: CUDA provider %s not found (set $%s)", ErrLibrary, DefaultCUDALib, CUDALibEnv)
				return
			}
			path = p
		}
		if err := ort.RegisterExecutionProviderLibrary("CUDA", path); err != nil {
			cudaErr = fmt.Errorf("%w: register CUDA provider %s: %v (CUDA 13 and cuDNN 9 must be on LD_LIBRARY_PATH)", ErrLibrary, path, err)
		}
	})
	return cudaErr
}

// preferGPU selects the GPU provider for sessions made with opts.
func preferGPU(opts *ort.SessionOptions, lib string) error {
	// onnxruntime_go's SessionOptions holds only the *OrtSessionOptions.
	raw := *(*unsafe.Pointer)(unsafe.Pointer(opts))
	clib := C.CString(lib)
	defer C.free(unsafe.Pointer(clib))
	buf := (*C.char)(C.malloc(512))
	defer C.free(unsafe.Pointer(buf))
	if msg := C.prefer_gpu(raw, clib, buf, 512); msg != nil {
		return fmt.Errorf("inference: select the GPU provider: %s", C.GoString(msg))
	}
	return nil
}

// cudaOptions returns the session config entries for the CUDA provider's
// options: the defaults, then opts.
func cudaOptions(opts map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range defaultCUDAOptions {
		out[cudaOptionPrefix+k] = v
	}
	for k, v := range opts {
		if !strings.HasPrefix(k, "ep.") && !strings.HasPrefix(k, "session.") {
			k = cudaOptionPrefix + k
		}
		out[k] = v
	}
	return out
}
