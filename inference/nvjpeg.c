#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "letterbox_kernel.h"
#include "nvjpeg.h"

enum {
	CS_ATTR_CC_MAJOR = 75, // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
	CS_ATTR_CC_MINOR = 76,
	CS_BACKEND_DEFAULT = 0, // nvjpegBackend_t
	CS_BACKEND_HARDWARE = 3,
	CS_OUTPUT_BGRI = 6, // nvjpegOutputFormat_t
	CS_BLOCK_X = 32,
	CS_BLOCK_Y = 8,
};

struct cs_sym {
	int lib; // 0 driver, 1 nvJPEG, 2 NVRTC
	const char *name;
	size_t at; // offset of the slot in cs_gpu_lib
};

#define CS_SYM(lib, field, name) {lib, name, offsetof(cs_gpu_lib, field)}

// The driver's versioned names (_v2) are what cuda.h's macros resolve to.
static const struct cs_sym cs_syms[] = {
	CS_SYM(0, cuInit, "cuInit"),
	CS_SYM(0, cuDeviceGetCount, "cuDeviceGetCount"),
	CS_SYM(0, cuDeviceGet, "cuDeviceGet"),
	CS_SYM(0, cuDeviceGetAttribute, "cuDeviceGetAttribute"),
	CS_SYM(0, cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain"),
	CS_SYM(0, cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2"),
	CS_SYM(0, cuCtxSetCurrent, "cuCtxSetCurrent"),
	CS_SYM(0, cuStreamCreate, "cuStreamCreate"),
	CS_SYM(0, cuStreamDestroy, "cuStreamDestroy_v2"),
	CS_SYM(0, cuStreamSynchronize, "cuStreamSynchronize"),
	CS_SYM(0, cuMemAlloc, "cuMemAlloc_v2"),
	CS_SYM(0, cuMemFree, "cuMemFree_v2"),
	CS_SYM(0, cuMemAllocHost, "cuMemAllocHost_v2"),
	CS_SYM(0, cuMemFreeHost, "cuMemFreeHost"),
	CS_SYM(0, cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2"),
	CS_SYM(0, cuModuleLoadData, "cuModuleLoadData"),
	CS_SYM(0, cuModuleUnload, "cuModuleUnload"),
	CS_SYM(0, cuModuleGetFunction, "cuModuleGetFunction"),
	CS_SYM(0, cuLaunchKernel, "cuLaunchKernel"),
	CS_SYM(0, cuGetErrorString, "cuGetErrorString"),
	CS_SYM(1, nvjpegCreateEx, "nvjpegCreateEx"),
	CS_SYM(1, nvjpegJpegStateCreate, "nvjpegJpegStateCreate"),
	CS_SYM(1, nvjpegDecodeBatchedInitialize, "nvjpegDecodeBatchedInitialize"),
	CS_SYM(1, nvjpegDecodeBatched, "nvjpegDecodeBatched"),
	CS_SYM(1, nvjpegJpegStateDestroy, "nvjpegJpegStateDestroy"),
	CS_SYM(1, nvjpegDestroy, "nvjpegDestroy"),
	CS_SYM(2, nvrtcCreateProgram, "nvrtcCreateProgram"),
	CS_SYM(2, nvrtcCompileProgram, "nvrtcCompileProgram"),
	CS_SYM(2, nvrtcGetPTXSize, "nvrtcGetPTXSize"),
	CS_SYM(2, nvrtcGetPTX, "nvrtcGetPTX"),
	CS_SYM(2, nvrtcGetProgramLogSize, "nvrtcGetProgramLogSize"),
	CS_SYM(2, nvrtcGetProgramLog, "nvrtcGetProgramLog"),
	CS_SYM(2, nvrtcDestroyProgram, "nvrtcDestroyProgram"),
};

int cs_gpu_open_lib(cs_gpu_lib *L, const char *cuda, const char *nvjpeg, const char *nvrtc, char *msg, int n) {
	memset(L, 0, sizeof *L);
	const char *paths[3] = {cuda, nvjpeg, nvrtc};
	void *h[3];
	for (int i = 0; i < 3; i++) {
		h[i] = dlopen(paths[i], RTLD_NOW | RTLD_LOCAL);
		if (!h[i]) {
			snprintf(msg, n, "%s", dlerror());
			for (int j = 0; j < i; j++) dlclose(h[j]);
			return -1;
		}
	}
	for (size_t i = 0; i < sizeof cs_syms / sizeof cs_syms[0]; i++) {
		void *f = dlsym(h[cs_syms[i].lib], cs_syms[i].name);
		if (!f) {
			snprintf(msg, n, "%s has no %s", paths[cs_syms[i].lib], cs_syms[i].name);
			for (int j = 0; j < 3; j++) dlclose(h[j]);
			return -1;
		}
		*(void **)((char *)L + cs_syms[i].at) = f;
	}
	L->cuda = h[0];
	L->nvjpeg = h[1];
	L->nvrtc = h[2];
	return 0;
}

// cs_cu reports a failed driver call; 0 when it succeeded.
static int cs_cu(cs_gpu_lib *L, int rc, const char *what, char *msg, int n) {
	if (rc == 0) return 0;
	const char *s = NULL;
	if (L->cuGetErrorString(rc, &s) != 0 || !s) s = "unknown error";
	snprintf(msg, n, "%s: CUDA error %d (%s)", what, rc, s);
	return -1;
}

static int cs_nvj(int rc, const char *what, char *msg, int n) {
	if (rc == 0) return 0;
	snprintf(msg, n, "%s: nvJPEG status %d", what, rc);
	return -1;
}

// cs_compile compiles the letterbox kernel for the device's architecture
// and loads it.
static int cs_compile(cs_gpu *g, const char *src, char *msg, int n) {
	cs_gpu_lib *L = g->L;
	int major = 0, minor = 0;
	if (cs_cu(L, L->cuDeviceGetAttribute(&major, CS_ATTR_CC_MAJOR, g->dev), "compute capability", msg, n) ||
		cs_cu(L, L->cuDeviceGetAttribute(&minor, CS_ATTR_CC_MINOR, g->dev), "compute capability", msg, n))
		return -1;
	if (L->ptx && L->ptx_arch == major * 10 + minor) {
		if (cs_cu(L, L->cuModuleLoadData(&g->module, L->ptx), "load the letterbox kernel", msg, n)) return -1;
		return cs_cu(L, L->cuModuleGetFunction(&g->kernel, g->module, "cs_letterbox"), "find the letterbox kernel", msg, n);
	}
	char arch[64];
	snprintf(arch, sizeof arch, "--gpu-architecture=compute_%d%d", major, minor);
	// No fast math: the device samples where the tested C build of the
	// same function does.
	const char *opts[] = {arch};
	void *prog = NULL;
	int rc = L->nvrtcCreateProgram(&prog, src, "letterbox_kernel.cu", 0, NULL, NULL);
	if (rc != 0) {
		snprintf(msg, n, "NVRTC: create program: status %d", rc);
		return -1;
	}
	rc = L->nvrtcCompileProgram(prog, 1, opts);
	if (rc != 0) {
		size_t ln = 0;
		int k = snprintf(msg, n, "NVRTC: compile the letterbox kernel for %s: status %d: ", arch, rc);
		if (k >= 0 && k < n && L->nvrtcGetProgramLogSize(prog, &ln) == 0 && ln > 0) {
			char *log = malloc(ln);
			if (log && L->nvrtcGetProgramLog(prog, log) == 0) snprintf(msg + k, n - k, "%s", log);
			free(log);
		}
		L->nvrtcDestroyProgram(&prog);
		return -1;
	}
	size_t size = 0;
	char *ptx = NULL;
	if (L->nvrtcGetPTXSize(prog, &size) != 0 || !(ptx = malloc(size)) || L->nvrtcGetPTX(prog, ptx) != 0) {
		snprintf(msg, n, "NVRTC: no PTX");
		free(ptx);
		L->nvrtcDestroyProgram(&prog);
		return -1;
	}
	L->nvrtcDestroyProgram(&prog);
	free(L->ptx);
	L->ptx = ptx;
	L->ptx_arch = major * 10 + minor;
	if (cs_cu(L, L->cuModuleLoadData(&g->module, L->ptx), "load the letterbox kernel", msg, n)) return -1;
	return cs_cu(L, L->cuModuleGetFunction(&g->kernel, g->module, "cs_letterbox"), "find the letterbox kernel", msg, n);
}

int cs_gpu_open(cs_gpu *g, cs_gpu_lib *L, int dev, const char *kernel_src, char *msg, int n) {
	memset(g, 0, sizeof *g);
	g->L = L;
	int count = 0, d = 0;
	if (cs_cu(L, L->cuInit(0), "cuInit", msg, n) || cs_cu(L, L->cuDeviceGetCount(&count), "count devices", msg, n))
		return -1;
	if (dev < 0 || dev >= count) {
		snprintf(msg, n, "no CUDA device %d (%d found)", dev, count);
		return -1;
	}
	if (cs_cu(L, L->cuDeviceGet(&d, dev), "get device", msg, n)) return -1;
	g->dev = d;
	if (cs_cu(L, L->cuDevicePrimaryCtxRetain(&g->ctx, d), "retain the device's context", msg, n)) {
		g->ctx = NULL;
		return -1;
	}
	if (cs_cu(L, L->cuCtxSetCurrent(g->ctx), "set the context", msg, n) ||
		cs_cu(L, L->cuStreamCreate(&g->stream, 1), "create a stream", msg, n) || // CU_STREAM_NON_BLOCKING
		cs_compile(g, kernel_src, msg, n)) {
		cs_gpu_close(g);
		return -1;
	}
	// The hardware decoder (A100, H100, H200) where there is one, else the
	// default back end (CUDA cores, Huffman on the CPU for small batches).
	if (L->nvjpegCreateEx(CS_BACKEND_HARDWARE, NULL, NULL, 0, &g->nvj) != 0) {
		g->nvj = NULL;
		if (cs_nvj(L->nvjpegCreateEx(CS_BACKEND_DEFAULT, NULL, NULL, 0, &g->nvj), "create a handle", msg, n)) {
			g->nvj = NULL;
			cs_gpu_close(g);
			return -1;
		}
	}
	if (cs_nvj(L->nvjpegJpegStateCreate(g->nvj, &g->state), "create a decode state", msg, n)) {
		g->state = NULL;
		cs_gpu_close(g);
		return -1;
	}
	return 0;
}

unsigned char *cs_gpu_stage(cs_gpu *g, size_t bytes, char *msg, int n) {
	cs_gpu_lib *L = g->L;
	if (bytes <= g->staged_cap) return g->staged;
	if (cs_cu(L, L->cuCtxSetCurrent(g->ctx), "set the context", msg, n)) return NULL;
	if (g->staged) L->cuMemFreeHost(g->staged);
	g->staged = NULL;
	g->staged_cap = 0;
	size_t cap = bytes + bytes / 2;
	if (cs_cu(L, L->cuMemAllocHost((void **)&g->staged, cap), "pinned memory for the JPEGs", msg, n)) {
		g->staged = NULL;
		return NULL;
	}
	g->staged_cap = cap;
	return g->staged;
}

// cs_grow makes *p hold at least bytes of device memory.
static int cs_grow(cs_gpu_lib *L, cs_devptr *p, size_t *cap, size_t bytes, char *msg, int n) {
	if (bytes <= *cap) return 0;
	if (*p) L->cuMemFree(*p);
	*p = 0;
	*cap = 0;
	size_t c = bytes + bytes / 4;
	if (cs_cu(L, L->cuMemAlloc(p, c), "device memory", msg, n)) {
		*p = 0;
		return -1;
	}
	*cap = c;
	return 0;
}

int cs_gpu_decode(cs_gpu *g, const cs_gpu_frame *fr, int n, int dw, int dh, unsigned char *out, char *msg, int msgn) {
	cs_gpu_lib *L = g->L;
	if (n <= 0) return 0;
	if (cs_cu(L, L->cuCtxSetCurrent(g->ctx), "set the context", msg, msgn)) return -1;
	size_t per = (size_t)dw * dh * 3, src_bytes = 0;
	int slots = 0;
	for (int i = 0; i < n; i++) {
		src_bytes += (size_t)fr[i].w * fr[i].h * 3;
		if (fr[i].slot + 1 > slots) slots = fr[i].slot + 1;
	}
	if (cs_grow(L, &g->src, &g->src_cap, src_bytes, msg, msgn) || cs_grow(L, &g->dst, &g->dst_cap, per * slots, msg, msgn))
		return -1;
	const unsigned char **data = malloc(n * sizeof *data);
	size_t *lengths = malloc(n * sizeof *lengths);
	cs_nvjpeg_image *img = calloc(n, sizeof *img);
	int rc = -1;
	if (!data || !lengths || !img) {
		snprintf(msg, msgn, "out of memory");
		goto done;
	}
	cs_devptr at = g->src;
	for (int i = 0; i < n; i++) {
		data[i] = g->staged + fr[i].offset;
		lengths[i] = fr[i].length;
		img[i].channel[0] = (unsigned char *)(size_t)at;
		img[i].pitch[0] = (size_t)fr[i].w * 3;
		at += (size_t)fr[i].w * fr[i].h * 3;
	}
	// nvJPEG wants the batched state set up again whenever the size changes.
	if (n != g->batch) {
		if (cs_nvj(L->nvjpegDecodeBatchedInitialize(g->nvj, g->state, n, 1, CS_OUTPUT_BGRI), "initialise a batch", msg, msgn))
			goto done;
		g->batch = n;
	}
	if (cs_nvj(L->nvjpegDecodeBatched(g->nvj, g->state, data, lengths, img, g->stream), "decode a batch", msg, msgn)) {
		g->batch = 0;
		goto done;
	}
	for (int i = 0; i < n; i++) {
		cs_devptr src = (cs_devptr)(size_t)img[i].channel[0], dst = g->dst + per * fr[i].slot;
		int sw = fr[i].w, sh = fr[i].h, spitch = sw * 3, px = fr[i].px, py = fr[i].py, nw = fr[i].nw, nh = fr[i].nh;
		void *args[] = {&src, &sw, &sh, &spitch, &dst, &dw, &dh, &px, &py, &nw, &nh};
		unsigned gx = (dw + CS_BLOCK_X - 1) / CS_BLOCK_X, gy = (dh + CS_BLOCK_Y - 1) / CS_BLOCK_Y;
		if (cs_cu(L, L->cuLaunchKernel(g->kernel, gx, gy, 1, CS_BLOCK_X, CS_BLOCK_Y, 1, 0, g->stream, args, NULL), "letterbox kernel", msg, msgn))
			goto done;
	}
	for (int i = 0; i < n; i++) {
		size_t off = per * fr[i].slot;
		if (cs_cu(L, L->cuMemcpyDtoHAsync(out + off, g->dst + off, per, g->stream), "copy the inputs back", msg, msgn))
			goto done;
	}
	if (cs_cu(L, L->cuStreamSynchronize(g->stream), "run the batch", msg, msgn)) goto done;
	rc = 0;
done:
	free(data);
	free(lengths);
	free(img);
	return rc;
}

void cs_gpu_close(cs_gpu *g) {
	cs_gpu_lib *L = g->L;
	if (!L || !g->ctx) return;
	L->cuCtxSetCurrent(g->ctx);
	if (g->stream) L->cuStreamSynchronize(g->stream);
	if (g->state) L->nvjpegJpegStateDestroy(g->state);
	if (g->nvj) L->nvjpegDestroy(g->nvj);
	if (g->src) L->cuMemFree(g->src);
	if (g->dst) L->cuMemFree(g->dst);
	if (g->staged) L->cuMemFreeHost(g->staged);
	if (g->module) L->cuModuleUnload(g->module);
	if (g->stream) L->cuStreamDestroy(g->stream);
	L->cuDevicePrimaryCtxRelease(g->dev);
	memset(g, 0, sizeof *g);
}

void cs_letterbox_cpu(const unsigned char *src, int sw, int sh, int spitch, unsigned char *dst, int dw, int dh, int px, int py, int nw, int nh) {
	for (int y = 0; y < dh; y++)
		for (int x = 0; x < dw; x++) cs_letterbox_px(src, sw, sh, spitch, dst, dw, px, py, nw, nh, x, y);
}
