// The GPU decoder's letterbox, one output pixel per call. The same source
// is compiled by NVRTC at run time for the device (nvjpeg.go embeds this
// file) and by the C compiler for the tests, which hold it to OpenCV's
// resize on this machine, where no GPU runs it.
#ifndef CS_LETTERBOX_KERNEL_H
#define CS_LETTERBOX_KERNEL_H

#ifdef __CUDACC__
#define CS_FN __device__ static inline
#else
#define CS_FN static inline
#endif

// cs_letterbox_px writes pixel (x, y) of a BGR input dw pixels wide: grey
// 114 outside the nw x nh image placed at (px, py); inside, the sw x sh BGR
// source (rows spitch bytes apart) sampled bilinearly with pixel centres
// aligned and the edge pixel repeated, as OpenCV's INTER_LINEAR (and, at
// exactly half size, its INTER_AREA, which the same weights give).
CS_FN void cs_letterbox_px(const unsigned char *src, int sw, int sh, int spitch,
	unsigned char *dst, int dw, int px, int py, int nw, int nh, int x, int y) {
	unsigned char *o = dst + ((long)y * dw + x) * 3;
	int ix = x - px, iy = y - py;
	if (ix < 0 || iy < 0 || ix >= nw || iy >= nh) {
		o[0] = o[1] = o[2] = 114;
		return;
	}
	float fx = (ix + 0.5f) * ((float)sw / (float)nw) - 0.5f;
	float fy = (iy + 0.5f) * ((float)sh / (float)nh) - 0.5f;
	int x0 = (int)fx, y0 = (int)fy;
	if ((float)x0 > fx) x0--;
	if ((float)y0 > fy) y0--;
	fx -= (float)x0;
	fy -= (float)y0;
	if (x0 < 0) { x0 = 0; fx = 0; }
	if (y0 < 0) { y0 = 0; fy = 0; }
	if (x0 >= sw - 1) { x0 = sw - 1; fx = 0; }
	if (y0 >= sh - 1) { y0 = sh - 1; fy = 0; }
	int x1 = x0 + (x0 < sw - 1), y1 = y0 + (y0 < sh - 1);
	const unsigned char *r0 = src + (long)y0 * spitch, *r1 = src + (long)y1 * spitch;
	for (int c = 0; c < 3; c++) {
		float top = (1.0f - fx) * r0[3 * x0 + c] + fx * r0[3 * x1 + c];
		float bot = (1.0f - fx) * r1[3 * x0 + c] + fx * r1[3 * x1 + c];
		float v = (1.0f - fy) * top + fy * bot + 0.5f;
		o[c] = v >= 255.0f ? 255 : (unsigned char)v;
	}
}

#ifdef __CUDACC__
// One thread per output pixel of one image of the batch.
extern "C" __global__ void cs_letterbox(const unsigned char *src, int sw, int sh, int spitch,
	unsigned char *dst, int dw, int dh, int px, int py, int nw, int nh) {
	int x = blockIdx.x * blockDim.x + threadIdx.x;
	int y = blockIdx.y * blockDim.y + threadIdx.y;
	if (x < dw && y < dh) cs_letterbox_px(src, sw, sh, spitch, dst, dw, px, py, nw, nh, x, y);
}
#endif

#endif
