package inference

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include "nvjpeg.h"

// cs_dl_try says whether dlopen finds path, and why not.
static int cs_dl_try(const char *path, char *msg, int n) {
	void *h = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		int i = 0;
		for (; e && e[i] && i < n - 1; i++) msg[i] = e[i];
		msg[i] = 0;
		return -1;
	}
	dlclose(h);
	return 0;
}
*/
import "C"

import (
	_ "embed"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// NVJPEGDirEnv names the environment variable with the directory of the
// CUDA libraries the GPU decoder opens (DecoderConfig.LibDir).
const NVJPEGDirEnv = "CROPSTREAM_NVJPEG_DIR"

// letterboxKernel is the kernel's source, compiled by NVRTC for the device
// when a GPU decoder opens.
//
//go:embed letterbox_kernel.h
var letterboxKernel string

// The sonames tried, newest first: CUDA 13's, then CUDA 12's.
var (
	nvjpegNames = []string{"libnvjpeg.so.13", "libnvjpeg.so.12"}
	nvrtcNames  = []string{"libnvrtc.so.13", "libnvrtc.so.12"}
)

const defaultDriver = "libcuda.so.1"

const msgLen = 1024

var (
	// gpuLibsMu guards gpuLibs and the compiled kernel each holds.
	gpuLibsMu sync.Mutex
	// gpuLibs are the opened libraries by where they came from: dlopen is
	// process-wide, and every lane's decoder shares them.
	gpuLibs = map[[3]string]*C.cs_gpu_lib{}
)

// findLib returns the first of names that dlopen opens: in dir, or by
// soname on the system's library path when dir is empty.
func findLib(dir string, names []string) (string, error) {
	msg := (*C.char)(C.malloc(msgLen))
	defer C.free(unsafe.Pointer(msg))
	var why []string
	for _, n := range names {
		p := n
		if dir != "" {
			p = filepath.Join(dir, n)
		}
		cp := C.CString(p)
		rc := C.cs_dl_try(cp, msg, msgLen)
		C.free(unsafe.Pointer(cp))
		if rc == 0 {
			return p, nil
		}
		why = append(why, C.GoString(msg))
	}
	return "", fmt.Errorf("%s: %s", strings.Join(names, " or "), strings.Join(why, "; "))
}

// openGPULibs opens the CUDA driver, nvJPEG and NVRTC and resolves the
// entry points the decoder calls, once per process for each set of paths.
func openGPULibs(cfg DecoderConfig) (*C.cs_gpu_lib, error) {
	dir := cfg.LibDir
	if dir == "" {
		dir = os.Getenv(NVJPEGDirEnv)
	}
	driver := cfg.Driver
	if driver == "" {
		driver = defaultDriver
	}
	hint := "set $" + NVJPEGDirEnv + " to the directory of the CUDA 13 or 12 libraries, or decode on the CPU"
	if dir == "" {
		hint = "put the CUDA 13 or 12 libraries on LD_LIBRARY_PATH or set $" + NVJPEGDirEnv + ", or decode on the CPU"
	}
	nvjpeg, err := findLib(dir, nvjpegNames)
	if err != nil {
		return nil, fmt.Errorf("%w: %v (%s)", ErrNoGPUDecoder, err, hint)
	}
	nvrtc, err := findLib(dir, nvrtcNames)
	if err != nil {
		return nil, fmt.Errorf("%w: %v (%s)", ErrNoGPUDecoder, err, hint)
	}
	key := [3]string{driver, nvjpeg, nvrtc}
	gpuLibsMu.Lock()
	defer gpuLibsMu.Unlock()
	if L := gpuLibs[key]; L != nil {
		return L, nil
	}
	// C memory: each decoder's C state keeps a pointer to it.
	L := (*C.cs_gpu_lib)(C.calloc(1, C.sizeof_cs_gpu_lib))
	msg := (*C.char)(C.malloc(msgLen))
	defer C.free(unsafe.Pointer(msg))
	cd, cj, cr := C.CString(driver), C.CString(nvjpeg), C.CString(nvrtc)
	defer C.free(unsafe.Pointer(cd))
	defer C.free(unsafe.Pointer(cj))
	defer C.free(unsafe.Pointer(cr))
	if C.cs_gpu_open_lib(L, cd, cj, cr, msg, msgLen) != 0 {
		C.free(unsafe.Pointer(L))
		return nil, fmt.Errorf("%w: %s (the CUDA driver comes with the NVIDIA driver; %s)", ErrNoGPUDecoder, C.GoString(msg), hint)
	}
	gpuLibs[key] = L
	return L, nil
}

// nvjpegDecoder decodes batches with nvJPEG's batched decode into device
// memory, letterboxes them there with the kernel NVRTC compiled and copies
// the inputs into the batch. Frames nvJPEG should not take (see gpuTakes),
// and whole batches it failed, go to the CPU decoder.
type nvjpegDecoder struct {
	g      *C.cs_gpu // C memory: it holds the libraries' pointer
	w, h   int
	cpu    *CPUDecoder
	frames []C.cs_gpu_frame
	msg    *C.char
	// failed counts batches nvJPEG refused; the first is logged.
	failed int
}

func newNVJPEGDecoder(cfg DecoderConfig, info ModelInfo, workers int) (*nvjpegDecoder, error) {
	if !info.UInt8 {
		return nil, fmt.Errorf("%w: the model takes float input; the GPU decoder fills the GPU graph's byte input (the CUDA provider's default rewrite)", ErrNoGPUDecoder)
	}
	L, err := openGPULibs(cfg)
	if err != nil {
		return nil, err
	}
	d := &nvjpegDecoder{w: info.Width, h: info.Height, msg: (*C.char)(C.malloc(msgLen))}
	d.g = (*C.cs_gpu)(C.calloc(1, C.sizeof_cs_gpu))
	src := C.CString(letterboxKernel)
	defer C.free(unsafe.Pointer(src))
	gpuLibsMu.Lock() // the kernel compiled once, kept in L
	rc := C.cs_gpu_open(d.g, L, C.int(cfg.Device), src, d.msg, msgLen)
	gpuLibsMu.Unlock()
	if rc != 0 {
		err := fmt.Errorf("%w: CUDA device %d: %s", ErrNoGPUDecoder, cfg.Device, C.GoString(d.msg))
		C.free(unsafe.Pointer(d.g))
		C.free(unsafe.Pointer(d.msg))
		return nil, err
	}
	// The CPU takes what nvJPEG does not: a worker or two is enough.
	d.cpu = NewCPUDecoder(min(max(workers, 1), 2), info.Width, info.Height)
	return d, nil
}

// Kind is DecoderNVJPEG.
func (d *nvjpegDecoder) Kind() string { return DecoderNVJPEG }

// Decode decodes the jobs nvJPEG takes as one batch on the device and the
// others on the CPU.
func (d *nvjpegDecoder) Decode(jobs []*DecodeJob, b *Batch) {
	var gpu, cpu []*DecodeJob
	for _, j := range jobs {
		if b.u8 != nil && b.per == 3*d.w*d.h && j.Slot >= 0 && (j.Slot+1)*b.per <= len(b.u8) && gpuTakes(j.JPEG) {
			gpu = append(gpu, j)
		} else {
			cpu = append(cpu, j)
		}
	}
	if len(gpu) > 0 {
		if err := d.decodeGPU(gpu, b); err != nil {
			if d.failed++; d.failed == 1 {
				slog.Warn("nvJPEG failed a batch; it and later failed ones are decoded on the CPU", "frames", len(gpu), "err", err)
			}
			cpu = append(cpu, gpu...)
		}
	}
	if len(cpu) > 0 {
		d.cpu.Decode(cpu, b)
	}
}

func (d *nvjpegDecoder) decodeGPU(jobs []*DecodeJob, b *Batch) error {
	start := time.Now()
	total := 0
	for _, j := range jobs {
		total += len(j.JPEG)
	}
	p := C.cs_gpu_stage(d.g, C.size_t(total), d.msg, msgLen)
	if p == nil {
		return fmt.Errorf("stage %d bytes: %s", total, C.GoString(d.msg))
	}
	staged := unsafe.Slice((*byte)(unsafe.Pointer(p)), total)
	d.frames = d.frames[:0]
	lbs := make([]Letterbox, len(jobs))
	at := 0
	for i, j := range jobs {
		copy(staged[at:], j.JPEG)
		lbs[i] = NewLetterbox(j.W, j.H, d.w, d.h)
		nw, nh := lbs[i].Size()
		d.frames = append(d.frames, C.cs_gpu_frame{offset: C.size_t(at), length: C.size_t(len(j.JPEG)),
			w: C.int(j.W), h: C.int(j.H), slot: C.int(j.Slot), px: C.int(lbs[i].PadX), py: C.int(lbs[i].PadY), nw: C.int(nw), nh: C.int(nh)})
		at += len(j.JPEG)
	}
	if C.cs_gpu_decode(d.g, &d.frames[0], C.int(len(jobs)), C.int(d.w), C.int(d.h), (*C.uchar)(unsafe.Pointer(&b.u8[0])), d.msg, msgLen) != 0 {
		return fmt.Errorf("%s", C.GoString(d.msg))
	}
	share := time.Since(start) / time.Duration(len(jobs))
	for i, j := range jobs {
		j.LB, j.Err = lbs[i], nil
		j.finish(b, DecoderNVJPEG, share)
	}
	return nil
}

// Close releases the device's resources.
func (d *nvjpegDecoder) Close() error {
	if d.g != nil {
		C.cs_gpu_close(d.g)
		C.free(unsafe.Pointer(d.g))
		C.free(unsafe.Pointer(d.msg))
		d.g = nil
	}
	return d.cpu.Close()
}

// gpuTakes says whether nvJPEG's batched decode is given jpg: a sequential
// (SOF0/SOF1) JPEG that ends with its EOI marker. The rest (progressive or
// arithmetic-coded, cut short, trailing bytes) goes to libjpeg, which
// decodes it or says what is wrong: a frame cut short must be an error
// (ErrTruncatedJPEG), which nvJPEG does not report.
func gpuTakes(jpg []byte) bool {
	n := len(jpg)
	if n < 4 || jpg[0] != 0xFF || jpg[1] != 0xD8 || jpg[n-2] != 0xFF || jpg[n-1] != 0xD9 {
		return false
	}
	for i := 2; i+4 <= n; {
		if jpg[i] != 0xFF {
			return false
		}
		m := jpg[i+1]
		switch {
		case m == 0xFF: // fill byte
			i++
			continue
		case m == 0xC0 || m == 0xC1:
			return true
		case m >= 0xC2 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC, m == 0xDA:
			return false
		}
		i += 2 + (int(jpg[i+2])<<8 | int(jpg[i+3]))
	}
	return false
}

// letterboxOnCPU runs the letterbox kernel's per-pixel function over a whole
// dw x dh input: the tests' view of what the device computes.
func letterboxOnCPU(src []byte, sw, sh int, dst []byte, dw, dh int, lb Letterbox) {
	nw, nh := lb.Size()
	C.cs_letterbox_cpu((*C.uchar)(unsafe.Pointer(&src[0])), C.int(sw), C.int(sh), C.int(3*sw),
		(*C.uchar)(unsafe.Pointer(&dst[0])), C.int(dw), C.int(dh), C.int(lb.PadX), C.int(lb.PadY), C.int(nw), C.int(nh))
}
