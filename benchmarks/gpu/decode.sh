#!/bin/sh
# The detect stage's frames/s on a GPU machine with JPEG decoding on the CPU
# and on the GPU (nvJPEG): BenchmarkDetectStageDecoder (benchmarks/
# detect_test.go) in a test binary built where Go is, run where the GPU is.
#
#   here:  benchmarks/gpu/decode.sh build
#          the test binaries, the YOLOv8n-sized fp16 model at 640 and the
#          binaries' shared libraries (without glibc's) in benchmarks/gpu/out
#   there: benchmarks/gpu/decode.sh run [FRAMES]
#          TestGPUDecoderOnDevice (the GPU decoder's inputs against libjpeg's),
#          then both decoders, FRAMES frames each (default 20000), through the
#          whole stage (embedded broker, 8 cameras, 1280x720 JPEG q90,
#          batch $CROPSTREAM_BENCH_BATCH, default 32, fixed in the graph);
#          the lines also go to out/decode-HOST-TIME.txt
#
# There: ONNX Runtime's CUDA provider as for `cropstream bench detect
# --provider cuda` (third_party/onnxruntime, or $CROPSTREAM_ORT_CUDA_LIB), and
# CUDA 13 (cuDNN, cuBLAS, nvJPEG, NVRTC) from the NVIDIA Python wheels under
# $NVIDIA_SITE (default: the PyTorch environment's site-packages/nvidia).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$here/out
case "${1:-}" in
build)
	mkdir -p "$out/lib"
	cd "$here/../.."
	go test -c -o "$out/benchmarks.test" ./benchmarks
	go test -c -o "$out/inference.test" ./inference
	[ -f "$out/yolov8n_fp16.onnx" ] || /usr/bin/python3 benchmarks/gpu/yolov8n_like.py "$out/yolov8n_fp16.onnx" --fp16
	ldd "$out/benchmarks.test" "$out/inference.test" | awk '$3 ~ /^\// {print $3}' | sort -u |
		grep -v -E '/(libc|libm|libdl|libpthread|librt|ld-linux[^/]*)\.so' | xargs -r cp -L -t "$out/lib"
	du -sh "$out"
	;;
run)
	frames=${2:-20000}
	site=${NVIDIA_SITE:-/opt/torch/.venv/lib/python3.12/site-packages/nvidia}
	libs=$out/lib
	for d in "$site"/*/lib; do
		libs=$libs:$d
		if [ -z "${CROPSTREAM_NVJPEG_DIR:-}" ] && ls "$d"/libnvjpeg.so.1[23] >/dev/null 2>&1; then
			export CROPSTREAM_NVJPEG_DIR=$d
		fi
	done
	export LD_LIBRARY_PATH=$libs:${LD_LIBRARY_PATH:-}
	export CROPSTREAM_BENCH_PROVIDER=${CROPSTREAM_BENCH_PROVIDER:-cuda}
	export CROPSTREAM_BENCH_MODEL=${CROPSTREAM_BENCH_MODEL:-$out/yolov8n_fp16.onnx}
	export CROPSTREAM_BENCH_BATCH=${CROPSTREAM_BENCH_BATCH:-32}
	log=$out/decode-$(hostname)-$(date -u +%Y%m%d-%H%M).txt
	{
		nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || echo "no nvidia-smi"
		echo "cores $(nproc); nvJPEG from ${CROPSTREAM_NVJPEG_DIR:-the library path}; batch $CROPSTREAM_BENCH_BATCH; model $CROPSTREAM_BENCH_MODEL"
	} | tee "$log"
	# In the packages' directories, as go test runs them: the shipped model
	# and third_party/ are found above them.
	(cd "$here/../../inference" && "$out/inference.test" -test.run GPUDecoderOnDevice -test.v 2>&1) | tee -a "$log"
	cd "$here/.."
	"$out/benchmarks.test" -test.run xxx -test.bench DetectStageDecoder -test.benchtime "${frames}x" -test.v 2>&1 | tee -a "$log"
	;;
*)
	echo "usage: $0 build | run [FRAMES]" >&2
	exit 2
	;;
esac
