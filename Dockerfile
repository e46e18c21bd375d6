# The cropstream binary with what it needs at run time: OpenCV (gocv) and
# the ONNX Runtime CPU library, fetched by scripts/setup.sh as in CI.
FROM golang:1.26-bookworm AS build
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends libopencv-dev libjpeg62-turbo-dev pkg-config npm >/dev/null
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN ./scripts/fetch-ort.sh && go build -o /out/cropstream ./cmd/cropstream

FROM debian:bookworm-slim
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      libopencv-core406 libopencv-imgproc406 libopencv-imgcodecs406 libopencv-videoio406 \
      libopencv-highgui406 libopencv-dnn406 libopencv-calib3d406 libopencv-features2d406 \
      libopencv-objdetect406 libopencv-photo406 libopencv-video406 libopencv-flann406 \
      libjpeg62-turbo \
      ca-certificates >/dev/null && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/cropstream /usr/local/bin/cropstream
COPY --from=build /src/third_party/onnxruntime/libonnxruntime.so /opt/cropstream/libonnxruntime.so
COPY models /opt/cropstream/models
COPY deploy/demo /opt/cropstream/demo
ENV CROPSTREAM_ORT_LIB=/opt/cropstream/libonnxruntime.so
WORKDIR /opt/cropstream
ENTRYPOINT ["cropstream"]
