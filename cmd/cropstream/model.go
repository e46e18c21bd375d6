package main

import (
	"github.com/spf13/pflag"

	"github.com/cropstream/cropstream/inference"
)

// modelFlags are the flags of every command that runs the detector.
type modelFlags struct {
	model   string
	ortLib  string
	threads int
}

func (m *modelFlags) register(f *pflag.FlagSet) {
	f.StringVar(&m.model, "model", inference.DefaultModel, "ONNX detection model (Ultralytics YOLOv8/YOLO11 layout or end-to-end)")
	f.StringVar(&m.ortLib, "ort-lib", "", "libonnxruntime.so (default $"+inference.LibEnv+", else "+inference.DefaultLib+" from ./scripts/setup.sh)")
	f.IntVar(&m.threads, "threads", 0, "ONNX Runtime threads (default: all cores)")
}

func (m *modelFlags) engine(scoreThreshold float32) (*inference.Engine, error) {
	return inference.New(inference.Config{ModelPath: m.model, LibPath: m.ortLib, Threads: m.threads, ScoreThreshold: scoreThreshold})
}
