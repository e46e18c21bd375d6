// Stand-ins for the CUDA driver, nvJPEG and NVRTC with the entry points and
// calling conventions the GPU decoder uses, for machines without a GPU:
// "device memory" is host memory, the letterbox kernel's launch runs its
// per-pixel function on the CPU, and nvJPEG's batched decode is libjpeg's
// full-size decode. The tests build one library per -D option:
//   FAKE_DRIVER (libcuda.so.1; FAKE_NO_DEVICE: no device),
//   FAKE_NVJPEG (libnvjpeg.so.13/.12; FAKE_OMIT_BATCHED: no
//   nvjpegDecodeBatched; $FAKE_NVJPEG_FAIL set: every batch fails),
//   FAKE_NVRTC (libnvrtc.so.13/.12; $FAKE_NVRTC_ONCE set: a second
//   compilation fails).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef FAKE_DRIVER
#include "letterbox_kernel.h"

int cuInit(unsigned f) { return 0; }
int cuDeviceGetCount(int *n) {
#ifdef FAKE_NO_DEVICE
	*n = 0;
#else
	*n = 1;
#endif
	return 0;
}
int cuDeviceGet(int *d, int i) { *d = i; return 0; }
int cuDeviceGetAttribute(int *v, int attr, int d) { *v = attr == 75 ? 9 : 0; return 0; }
static int ctx_token;
int cuDevicePrimaryCtxRetain(void **c, int d) { *c = &ctx_token; return 0; }
int cuDevicePrimaryCtxRelease_v2(int d) { return 0; }
int cuCtxSetCurrent(void *c) { return c == &ctx_token ? 0 : 201; } // CUDA_ERROR_INVALID_CONTEXT
static int stream_token;
int cuStreamCreate(void **s, unsigned f) { *s = &stream_token; return 0; }
int cuStreamDestroy_v2(void *s) { return 0; }
int cuStreamSynchronize(void *s) { return 0; }
int cuMemAlloc_v2(unsigned long long *p, size_t n) { *p = (unsigned long long)(size_t)malloc(n); return *p ? 0 : 2; }
int cuMemFree_v2(unsigned long long p) { free((void *)(size_t)p); return 0; }
int cuMemAllocHost_v2(void **p, size_t n) { *p = malloc(n); return *p ? 0 : 2; }
int cuMemFreeHost(void *p) { free(p); return 0; }
int cuMemcpyDtoHAsync_v2(void *dst, unsigned long long src, size_t n, void *s) { memcpy(dst, (void *)(size_t)src, n); return 0; }
static int module_token, kernel_token;
int cuModuleLoadData(void **m, const void *ptx) {
	if (strcmp(ptx, "fake PTX of cs_letterbox") != 0) return 218; // CUDA_ERROR_INVALID_PTX
	*m = &module_token;
	return 0;
}
int cuModuleUnload(void *m) { return 0; }
int cuModuleGetFunction(void **f, void *m, const char *name) {
	if (strcmp(name, "cs_letterbox") != 0) return 500; // CUDA_ERROR_NOT_FOUND
	*f = &kernel_token;
	return 0;
}
int cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shared, void *s, void **a, void **extra) {
	if (f != &kernel_token || gz != 1 || bz != 1) return 1;
	const unsigned char *src = (const unsigned char *)(size_t)*(unsigned long long *)a[0];
	unsigned char *dst = (unsigned char *)(size_t)*(unsigned long long *)a[4];
	int sw = *(int *)a[1], sh = *(int *)a[2], spitch = *(int *)a[3], dw = *(int *)a[5], dh = *(int *)a[6];
	int px = *(int *)a[7], py = *(int *)a[8], nw = *(int *)a[9], nh = *(int *)a[10];
	for (unsigned y = 0; y < gy * by; y++)
		for (unsigned x = 0; x < gx * bx; x++)
			if ((int)x < dw && (int)y < dh) cs_letterbox_px(src, sw, sh, spitch, dst, dw, px, py, nw, nh, x, y);
	return 0;
}
int cuGetErrorString(int rc, const char **s) { *s = "fake driver error"; return 0; }
#endif

#ifdef FAKE_NVJPEG
#include <jpeglib.h>

typedef struct {
	unsigned char *channel[4];
	size_t pitch[4];
} image;

static int handle_token, state_token, batch;
int nvjpegCreateEx(int backend, void *da, void *pa, unsigned flags, void **h) {
	if (backend == 3) return 7; // hardware back end: not supported, as on most GPUs
	*h = &handle_token;
	return 0;
}
int nvjpegJpegStateCreate(void *h, void **s) { *s = &state_token; return 0; }
int nvjpegDecodeBatchedInitialize(void *h, void *s, int n, int threads, int fmt) {
	if (fmt != 6) return 2; // BGRI only
	batch = n;
	return 0;
}
#ifndef FAKE_OMIT_BATCHED
int nvjpegDecodeBatched(void *h, void *s, const unsigned char *const *data, const size_t *lengths, image *out, void *stream) {
	if (getenv("FAKE_NVJPEG_FAIL")) return 6; // NVJPEG_STATUS_EXECUTION_FAILED
	for (int i = 0; i < batch; i++) {
		struct jpeg_decompress_struct c;
		struct jpeg_error_mgr e;
		c.err = jpeg_std_error(&e);
		jpeg_create_decompress(&c);
		jpeg_mem_src(&c, data[i], lengths[i]);
		jpeg_read_header(&c, TRUE);
		c.out_color_space = JCS_EXT_BGR;
		jpeg_start_decompress(&c);
		if (out[i].pitch[0] < c.output_width * 3) {
			jpeg_destroy_decompress(&c);
			return 3; // NVJPEG_STATUS_INVALID_PARAMETER
		}
		while (c.output_scanline < c.output_height) {
			JSAMPROW row = out[i].channel[0] + c.output_scanline * out[i].pitch[0];
			jpeg_read_scanlines(&c, &row, 1);
		}
		jpeg_finish_decompress(&c);
		jpeg_destroy_decompress(&c);
	}
	return 0;
}
#endif
int nvjpegJpegStateDestroy(void *s) { return 0; }
int nvjpegDestroy(void *h) { return 0; }
#endif

#ifdef FAKE_NVRTC
typedef struct {
	int compiled;
	char log[128];
} program;

int nvrtcCreateProgram(void **p, const char *src, const char *name, int n, const char *const *h, const char *const *hn) {
	if (!strstr(src, "__global__ void cs_letterbox")) return 1;
	*p = calloc(1, sizeof(program));
	return 0;
}
static int compiles;
int nvrtcCompileProgram(void *p, int n, const char *const *opts) {
	program *pr = p;
	if (++compiles > 1 && getenv("FAKE_NVRTC_ONCE")) {
		snprintf(pr->log, sizeof pr->log, "compiled again");
		return 6;
	}
	for (int i = 0; i < n; i++)
		if (strcmp(opts[i], "--gpu-architecture=compute_90") == 0) pr->compiled = 1;
	if (!pr->compiled) snprintf(pr->log, sizeof pr->log, "no architecture option");
	return pr->compiled ? 0 : 6; // NVRTC_ERROR_COMPILATION
}
int nvrtcGetPTXSize(void *p, size_t *n) { *n = strlen("fake PTX of cs_letterbox") + 1; return 0; }
int nvrtcGetPTX(void *p, char *ptx) { strcpy(ptx, "fake PTX of cs_letterbox"); return 0; }
int nvrtcGetProgramLogSize(void *p, size_t *n) { *n = strlen(((program *)p)->log) + 1; return 0; }
int nvrtcGetProgramLog(void *p, char *log) { strcpy(log, ((program *)p)->log); return 0; }
int nvrtcDestroyProgram(void **p) { free(*p); *p = NULL; return 0; }
#endif
