package inference

/*
#cgo LDFLAGS: -ljpeg
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>
#include <jerror.h>

// libjpeg's default error handler exits the process: this one jumps back
// with the message, and counts the warnings that mean the data ended early.
struct cs_err {
	struct jpeg_error_mgr pub;
	jmp_buf jmp;
	char msg[JMSG_LENGTH_MAX];
	int truncated;
};

static void cs_error_exit(j_common_ptr c) {
	struct cs_err *e = (struct cs_err *)c->err;
	(*c->err->format_message)(c, e->msg);
	longjmp(e->jmp, 1);
}

static void cs_emit(j_common_ptr c, int level) {
	struct cs_err *e = (struct cs_err *)c->err;
	if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF && !e->truncated) {
		e->truncated = 1;
		(*c->err->format_message)(c, e->msg);
	}
}

// cs_decode reads the header and the output size at 1/denom into *w, *h;
// with out set (cap bytes) it decodes into it as BGR, a row every stride
// bytes (0: rows back to back). 0: done, -1: error, -2: the data ended early
// (the image is incomplete).
static int cs_decode(const unsigned char *buf, unsigned long n, int denom, unsigned char *out, size_t cap, size_t stride, int *w, int *h, char *msg) {
	struct jpeg_decompress_struct c;
	struct cs_err e;
	memset(&e, 0, sizeof e);
	c.err = jpeg_std_error(&e.pub);
	e.pub.error_exit = cs_error_exit;
	e.pub.emit_message = cs_emit;
	if (setjmp(e.jmp)) {
		jpeg_destroy_decompress(&c);
		strncpy(msg, e.msg, JMSG_LENGTH_MAX);
		return -1;
	}
	jpeg_create_decompress(&c);
	jpeg_mem_src(&c, buf, n);
	jpeg_read_header(&c, TRUE);
	c.scale_num = 1;
	c.scale_denom = denom;
	c.out_color_space = JCS_EXT_BGR;
	jpeg_calc_output_dimensions(&c);
	*w = c.output_width;
	*h = c.output_height;
	if (out == NULL) {
		jpeg_destroy_decompress(&c);
		return 0;
	}
	if (stride == 0) stride = (size_t)c.output_width * 3;
	if (stride < (size_t)c.output_width * 3 || (size_t)(c.output_height - 1) * stride + (size_t)c.output_width * 3 > cap) {
		snprintf(msg, JMSG_LENGTH_MAX, "decodes to %ux%u, more than the %zu bytes given", c.output_width, c.output_height, cap);
		jpeg_destroy_decompress(&c);
		return -1;
	}
	jpeg_start_decompress(&c);
	while (c.output_scanline < c.output_height) {
		JSAMPROW row = out + (size_t)c.output_scanline * stride;
		jpeg_read_scanlines(&c, &row, 1);
	}
	jpeg_finish_decompress(&c);
	jpeg_destroy_decompress(&c);
	if (e.truncated) {
		strncpy(msg, e.msg, JMSG_LENGTH_MAX);
		return -2;
	}
	return 0;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	"gocv.io/x/gocv"
)

// ErrTruncatedJPEG: the JPEG's data ends before its last row. libjpeg fills
// the rest with grey and calls it a warning; a frame half grey would be
// counted as a frame without fruit in its lower half, so it is an error.
var ErrTruncatedJPEG = errors.New("truncated JPEG")

// decodeJPEG decodes jpg at 1/r scale (r = 1, 2, 4 or 8) into a new BGR
// Mat. It calls libjpeg(-turbo) directly rather than through OpenCV's
// imdecode, which gives the same pixels (TestDecodeJPEGMatchesOpenCV) in
// more time (benchmarks/results.md). Callers bound the size first (the detect
// stage's header check): the Mat is allocated as the header declares.
func decodeJPEG(jpg []byte, r int) (gocv.Mat, error) {
	w, h, err := jpegSize(jpg, r)
	if err != nil {
		return gocv.Mat{}, err
	}
	m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	data, err := m.DataPtrUint8()
	if err != nil || len(data) < w*h*3 {
		m.Close()
		return gocv.Mat{}, fmt.Errorf("JPEG: no %dx%d image buffer: %v", w, h, err)
	}
	if err := decodeRows(jpg, r, data, 0); err != nil {
		m.Close()
		return gocv.Mat{}, err
	}
	return m, nil
}

// jpegSize reads the header: the image's size at 1/r scale.
func jpegSize(jpg []byte, r int) (w, h int, err error) {
	if len(jpg) == 0 {
		return 0, 0, errors.New("empty JPEG")
	}
	var msg [C.JMSG_LENGTH_MAX]C.char
	var cw, ch C.int
	if C.cs_decode((*C.uchar)(unsafe.Pointer(&jpg[0])), C.ulong(len(jpg)), C.int(r), nil, 0, 0, &cw, &ch, &msg[0]) != 0 {
		return 0, 0, fmt.Errorf("JPEG header: %s", C.GoString(&msg[0]))
	}
	return int(cw), int(ch), nil
}

// decodeRows decodes jpg at 1/r scale into out as BGR, a row every stride
// bytes (0: rows back to back).
func decodeRows(jpg []byte, r int, out []byte, stride int) error {
	if len(jpg) == 0 || len(out) == 0 {
		return errors.New("empty JPEG or buffer")
	}
	var msg [C.JMSG_LENGTH_MAX]C.char
	var w, h C.int
	switch C.cs_decode((*C.uchar)(unsafe.Pointer(&jpg[0])), C.ulong(len(jpg)), C.int(r), (*C.uchar)(unsafe.Pointer(&out[0])), C.size_t(len(out)), C.size_t(stride), &w, &h, &msg[0]) {
	case 0:
		return nil
	case -2:
		return fmt.Errorf("%w: %s", ErrTruncatedJPEG, C.GoString(&msg[0]))
	default:
		return fmt.Errorf("JPEG: %s", C.GoString(&msg[0]))
	}
}
