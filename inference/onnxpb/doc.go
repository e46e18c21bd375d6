// Package onnxpb is the ONNX protobuf schema (onnx.proto from the onnx
// project, proto2), generated for the engine's graph rewrites.
package onnxpb

//go:generate sh -c "cp /usr/lib/python3/dist-packages/onnx/onnx.proto /tmp/onnx.proto && cd /tmp && protoc --go_out=$OLDPWD --go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/cropstream/cropstream/inference/onnxpb onnx.proto"
