// The few entry points of the CUDA driver, nvJPEG and NVRTC the GPU decoder
// calls, declared here: the libraries are opened at run time (dlopen), so
// the binary builds and runs where no CUDA is installed.
#ifndef CS_NVJPEG_H
#define CS_NVJPEG_H

#include <stddef.h>

typedef unsigned long long cs_devptr; // CUdeviceptr

// nvjpegImage_t: for interleaved output only channel[0] and pitch[0].
typedef struct {
	unsigned char *channel[4];
	size_t pitch[4];
} cs_nvjpeg_image;

typedef struct {
	void *cuda, *nvjpeg, *nvrtc;

	int (*cuInit)(unsigned);
	int (*cuDeviceGetCount)(int *);
	int (*cuDeviceGet)(int *, int);
	int (*cuDeviceGetAttribute)(int *, int, int);
	int (*cuDevicePrimaryCtxRetain)(void **, int);
	int (*cuDevicePrimaryCtxRelease)(int);
	int (*cuCtxSetCurrent)(void *);
	int (*cuStreamCreate)(void **, unsigned);
	int (*cuStreamDestroy)(void *);
	int (*cuStreamSynchronize)(void *);
	int (*cuMemAlloc)(cs_devptr *, size_t);
	int (*cuMemFree)(cs_devptr);
	int (*cuMemAllocHost)(void **, size_t);
	int (*cuMemFreeHost)(void *);
	int (*cuMemcpyDtoHAsync)(void *, cs_devptr, size_t, void *);
	int (*cuModuleLoadData)(void **, const void *);
	int (*cuModuleUnload)(void *);
	int (*cuModuleGetFunction)(void **, void *, const char *);
	int (*cuLaunchKernel)(void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void *, void **, void **);
	int (*cuGetErrorString)(int, const char **);

	int (*nvjpegCreateEx)(int, void *, void *, unsigned, void **);
	int (*nvjpegJpegStateCreate)(void *, void **);
	int (*nvjpegDecodeBatchedInitialize)(void *, void *, int, int, int);
	int (*nvjpegDecodeBatched)(void *, void *, const unsigned char *const *, const size_t *, cs_nvjpeg_image *, void *);
	int (*nvjpegJpegStateDestroy)(void *);
	int (*nvjpegDestroy)(void *);

	int (*nvrtcCreateProgram)(void **, const char *, const char *, int, const char *const *, const char *const *);
	int (*nvrtcCompileProgram)(void *, int, const char *const *);
	int (*nvrtcGetPTXSize)(void *, size_t *);
	int (*nvrtcGetPTX)(void *, char *);
	int (*nvrtcGetProgramLogSize)(void *, size_t *);
	int (*nvrtcGetProgramLog)(void *, char *);
	int (*nvrtcDestroyProgram)(void **);

	// ptx is the letterbox kernel compiled for compute capability ptx_arch
	// (major*10+minor): compiled once, loaded by every decoder.
	char *ptx;
	int ptx_arch;
} cs_gpu_lib;

// cs_gpu_open_lib opens the three libraries (paths as dlopen takes them)
// and resolves every entry point. 0, or -1 with the reason in msg.
int cs_gpu_open_lib(cs_gpu_lib *L, const char *cuda, const char *nvjpeg, const char *nvrtc, char *msg, int n);

// One decoder: a device, a stream, the compiled letterbox kernel, an nvJPEG
// handle and state, and buffers that grow to the largest batch seen.
typedef struct {
	cs_gpu_lib *L;
	int dev, batch;
	void *ctx, *stream, *module, *kernel, *nvj, *state;
	cs_devptr src, dst;          // decoded frames; letterboxed inputs
	size_t src_cap, dst_cap;
	unsigned char *staged;       // the batch's JPEGs, in pinned memory
	size_t staged_cap;
} cs_gpu;

// cs_gpu_open makes a decoder on device dev, compiling kernel_src (this
// package's letterbox_kernel.h) for it unless L holds it compiled for the
// device's architecture. Not safe to call at once with the same L. 0, or -1
// with the reason in msg.
int cs_gpu_open(cs_gpu *g, cs_gpu_lib *L, int dev, const char *kernel_src, char *msg, int n);

// cs_gpu_stage returns pinned memory for at least bytes of JPEG data (NULL
// with the reason in msg when it cannot).
unsigned char *cs_gpu_stage(cs_gpu *g, size_t bytes, char *msg, int n);

// One frame of a batch: its JPEG in the staged memory, its decoded size, and
// where the letterbox puts it in its slot of the model input.
typedef struct {
	size_t offset, length;
	int w, h, slot, px, py, nw, nh;
} cs_gpu_frame;

// cs_gpu_decode decodes n staged frames on the device, letterboxes each into
// a dw x dh BGR input and copies those into out, slot s at s*dw*dh*3 bytes.
// 0, or -1 with the reason in msg (then out may be partly written).
int cs_gpu_decode(cs_gpu *g, const cs_gpu_frame *fr, int n, int dw, int dh, unsigned char *out, char *msg, int msgn);

// cs_gpu_close releases what cs_gpu_open and the decodes acquired.
void cs_gpu_close(cs_gpu *g);

// cs_letterbox_cpu runs the letterbox kernel's per-pixel function over a
// whole input on the CPU (for the tests).
void cs_letterbox_cpu(const unsigned char *src, int sw, int sh, int spitch, unsigned char *dst, int dw, int dh, int px, int py, int nw, int nh);

#endif
