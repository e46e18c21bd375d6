package inference

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// LibEnv names the environment variable with the ONNX Runtime library path.
const LibEnv = "CROPSTREAM_ORT_LIB"

// DefaultLib is where scripts/setup.sh puts the library, relative to the
// repository root.
const DefaultLib = "third_party/onnxruntime/libonnxruntime.so"

// Config configures an Engine.
type Config struct {
	// ModelPath is the .onnx file; required.
	ModelPath string
	// LibPath is libonnxruntime.so; default $CROPSTREAM_ORT_LIB, else
	// DefaultLib found from the working directory or the executable upwards.
	LibPath string
	// Threads is ONNX Runtime's intra-op thread count per session; default
	// the cores divided among the sessions (at least 1), 1 on CUDA.
	Threads int
	// Sessions is how many copies of the model run at once: each Run takes a
	// free one. Default 1. On a CPU, one-thread sessions fed separate batches
	// use the cores better than one session splitting each batch over its
	// threads, if the caller has batches to run at once.
	Sessions int
	// ScoreThreshold drops weaker boxes. Default 0.25.
	ScoreThreshold float32
	// IoUThreshold is class-aware NMS's overlap limit. Default 0.4: fruit
	// detectors put a second box on part of a fruit at IoU 0.3-0.5 with the
	// first (with the shipped model 0.5 -> 0.4 halved the extra tracks this
	// made on the default field, 148 -> 78, and left perfect detections,
	// where real neighbours overlap, counted the same).
	IoUThreshold float32
	// MaxDetections per image. Default 300.
	MaxDetections int
	// Provider is "cpu" (default) or "cuda" (ONNX Runtime 1.29's CUDA
	// plugin provider, from CUDALib).
	Provider string
	// CUDALib is libonnxruntime_providers_cuda.so; default $CROPSTREAM_ORT_CUDA_LIB,
	// else DefaultCUDALib found upwards.
	CUDALib string
	// Rewrite adapts the graph on load. Nil means the provider's default:
	// none on the CPU; on CUDA, Split as Slice, uint8 input, the reduced
	// output and the batch fixed to Batch (see Rewrite).
	Rewrite *Rewrite
	// Batch is the batch a CUDA session is built for when Rewrite is nil
	// (default DefaultGPUBatch): Run pads smaller batches and splits larger ones.
	Batch int
	// ProviderOptions are the execution provider's options (CUDA: prefer_nhwc,
	// default 1; use_tf32, cudnn_conv_algo_search, ...), passed as the
	// session config entries ep.cuda.KEY that ONNX Runtime hands the plugin
	// provider; a key that starts with "ep." or "session." is passed as it is.
	ProviderOptions map[string]string
	// ModelName and ModelVersion override the model's id parts (default: the
	// file's base name, and its model_version metadata or UnversionedModel).
	ModelName, ModelVersion string
	// SHA256, when set, is the hex hash the file must have: a deployment
	// names the bytes it means, and a file changed since is refused.
	SHA256 string
	// Height and Width are the input size for a model exported with its
	// height and width open (Ultralytics dynamic=True, cropnet), multiples
	// of 32; 0 takes the model's imgsz metadata. Objects must be about the
	// size in pixels they were trained at: photos of fruit from close up
	// shrunk into a small input lose them.
	Height, Width int
}

func (c Config) withDefaults() Config {
	if c.Sessions == 0 {
		c.Sessions = 1
	}
	if c.Threads == 0 {
		c.Threads = max(1, runtime.NumCPU()/c.Sessions)
		if c.Provider == "cuda" {
			// The GPU runs the graph; intra-op threads would only serve the
			// few shape nodes left on the CPU, and spin on the cores the
			// JPEG decoders need.
			c.Threads = 1
		}
	}
	c.ScoreThreshold = cmp.Or(c.ScoreThreshold, 0.25)
	c.IoUThreshold = cmp.Or(c.IoUThreshold, 0.4)
	c.MaxDetections = cmp.Or(c.MaxDetections, 300)
	if c.Provider == "" {
		c.Provider = "cpu"
	}
	if c.Batch == 0 {
		c.Batch = DefaultGPUBatch
	}
	return c
}

// ErrLibrary is returned when the ONNX Runtime library cannot be loaded.
var ErrLibrary = errors.New("onnx runtime library")

var (
	envMu   sync.Mutex
	envLib  string
	envErr  error
	envDone bool
)

// DefaultGPUBatch is the batch GPU graphs are fixed to unless the caller
// knows its own: the detect stage's default batch.
const DefaultGPUBatch = 16

// DefaultModel is the shipped model, relative to the repository root.
const DefaultModel = "models/cropnet.onnx"

// FindLibrary resolves the library path: explicit, $CROPSTREAM_ORT_LIB, or
// DefaultLib in the working directory or a parent of it or of the executable.
func FindLibrary(explicit string) (string, error) {
	if explicit == "" {
		explicit = os.Getenv(LibEnv)
	}
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", fmt.Errorf("%w: %s: %v (run ./scripts/setup.sh, or point --ort-lib / $%s at libonnxruntime.so)", ErrLibrary, explicit, err, LibEnv)
		}
		return explicit, nil
	}
	if p, ok := findUp(DefaultLib); ok {
		return p, nil
	}
	return "", fmt.Errorf("%w: %s not found here or above (run ./scripts/setup.sh, or set --ort-lib / $%s)", ErrLibrary, DefaultLib, LibEnv)
}

// FindModel resolves a model path: as given when it exists, else the same
// relative path found above the working directory or the executable (so the
// shipped model is found from any directory of a checkout).
func FindModel(path string) (string, error) {
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if !filepath.IsAbs(path) {
		if p, ok := findUp(path); ok {
			return p, nil
		}
	}
	return "", fmt.Errorf("inference: model %s not found", path)
}

func findUp(rel string) (string, bool) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, dir := range starts {
		for d := dir; ; d = filepath.Dir(d) {
			p := filepath.Join(d, rel)
			if _, err := os.Stat(p); err == nil {
				return p, true
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return "", false
}

// initEnv loads ONNX Runtime once per process (it is process-global).
func initEnv(lib string) error {
	envMu.Lock()
	defer envMu.Unlock()
	if envDone {
		if envErr == nil && lib != envLib {
			return fmt.Errorf("%w: already loaded from %s, cannot also load %s", ErrLibrary, envLib, lib)
		}
		return envErr
	}
	envDone, envLib = true, lib
	ort.SetSharedLibraryPath(lib)
	level := ort.WithLogLevelError()
	switch os.Getenv("CROPSTREAM_ORT_LOG") { // for diagnosing providers
	case "verbose":
		level = ort.WithLogLevelVerbose()
	case "info":
		level = ort.WithLogLevelInfo()
	case "warning":
		level = ort.WithLogLevelWarning()
	}
	if err := ort.InitializeEnvironment(level); err != nil {
		envErr = fmt.Errorf("%w: load %s: %v (is it libonnxruntime.so 1.2x for this machine? run ./scripts/setup.sh)", ErrLibrary, lib, err)
	}
	return envErr
}

// Engine runs one model. Run and RunUInt8 are safe for concurrent use: each
// takes one of Config.Sessions sessions, waiting while all are busy.
type Engine struct {
	cfg      Config
	info     ModelInfo
	id       ModelID
	sessions []*ort.DynamicAdvancedSession
	free     chan *ort.DynamicAdvancedSession
	pad      sync.Pool // *[]float32 or *[]byte of FixedBatch images
}

// New loads the model and inspects its input, output and metadata.
func New(cfg Config) (*Engine, error) {
	cfg = cfg.withDefaults()
	if cfg.ModelPath == "" {
		return nil, errors.New("inference: model path is required")
	}
	if cfg.Provider != "cpu" && cfg.Provider != "cuda" {
		return nil, fmt.Errorf("inference: provider %q: want cpu or cuda", cfg.Provider)
	}
	if cfg.Sessions < 1 || cfg.Sessions > 256 || cfg.Threads < 1 {
		return nil, fmt.Errorf("inference: %d sessions of %d threads: want 1..256 sessions, >= 1 thread", cfg.Sessions, cfg.Threads)
	}
	if cfg.Rewrite == nil {
		cfg.Rewrite = &Rewrite{}
		if cfg.Provider == "cuda" {
			cfg.Rewrite = &Rewrite{SplitToSlice: true, UInt8Input: true, ReduceOutput: true, PoolReduce: true, StaticBatch: cfg.Batch}
		}
	}
	path, err := FindModel(cfg.ModelPath)
	if err != nil {
		return nil, err
	}
	cfg.ModelPath = path
	var lib string
	lib, err = FindLibrary(cfg.LibPath)
	if err != nil {
		return nil, err
	}
	if err := initEnv(lib); err != nil {
		return nil, err
	}
	info, err := inspect(cfg.ModelPath)
	if err != nil {
		return nil, err
	}
	if info, err = info.resized(cfg.Height, cfg.Width); err != nil {
		return nil, fmt.Errorf("inference: model %s: %w", cfg.ModelPath, err)
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("inference: session options: %w", err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(cfg.Threads); err != nil {
		return nil, fmt.Errorf("inference: threads: %w", err)
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("inference: threads: %w", err)
	}
	if cfg.Provider == "cuda" {
		if err := registerCUDA(cfg.CUDALib); err != nil {
			return nil, err
		}
		if err := preferGPU(opts, lib); err != nil {
			return nil, err
		}
		for k, v := range cudaOptions(cfg.ProviderOptions) {
			if err := opts.AddSessionConfigEntry(k, v); err != nil {
				return nil, fmt.Errorf("inference: provider option %s=%s: %w", k, v, err)
			}
		}
	}
	data, err := os.ReadFile(cfg.ModelPath)
	if err != nil {
		return nil, fmt.Errorf("inference: %w", err)
	}
	id := ModelID{Name: cfg.ModelName, Version: cfg.ModelVersion, SHA256: HashFile(data)}
	if cfg.SHA256 != "" && !strings.EqualFold(cfg.SHA256, id.SHA256) {
		return nil, fmt.Errorf("inference: model %s has SHA-256 %s, the deployment names %s (the file changed since it was deployed)", cfg.ModelPath, id.SHA256, cfg.SHA256)
	}
	if id.Name == "" {
		id.Name = ModelName(cfg.ModelPath)
	}
	if id.Version == "" {
		id.Version = info.Version
	}
	if id.Version == "" {
		id.Version = UnversionedModel
	}
	if *cfg.Rewrite != (Rewrite{}) {
		if data, info, err = rewriteModel(data, info, *cfg.Rewrite); err != nil {
			return nil, fmt.Errorf("%w (model %s)", err, cfg.ModelPath)
		}
	}
	e := &Engine{cfg: cfg, info: info, id: id, free: make(chan *ort.DynamicAdvancedSession, cfg.Sessions)}
	for range cfg.Sessions {
		s, err := ort.NewDynamicAdvancedSessionWithONNXData(data, []string{info.Input}, []string{info.Output}, opts)
		if err != nil {
			e.Close()
			return nil, fmt.Errorf("inference: load model %s on %s: %w", cfg.ModelPath, cfg.Provider, err)
		}
		e.sessions = append(e.sessions, s)
		e.free <- s
	}
	return e, nil
}

// Sessions is how many Run calls the engine serves at once.
func (e *Engine) Sessions() int { return len(e.sessions) }

func inspect(path string) (ModelInfo, error) {
	ins, outs, err := ort.GetInputOutputInfo(path)
	if err != nil {
		return ModelInfo{}, fmt.Errorf("inference: inspect %s: %w", path, err)
	}
	if len(ins) != 1 || len(outs) < 1 {
		return ModelInfo{}, fmt.Errorf("inference: %s has %d inputs and %d outputs, want one image input and a detection output", path, len(ins), len(outs))
	}
	in, out := ins[0], outs[0]
	if len(in.Dimensions) != 4 || in.Dimensions[1] != 3 {
		return ModelInfo{}, fmt.Errorf("inference: input %s has shape %v, want [batch, 3, height, width]", in.Name, in.Dimensions)
	}
	if in.DataType != ort.TensorElementDataTypeFloat {
		return ModelInfo{}, fmt.Errorf("inference: input %s is %v, want float32", in.Name, in.DataType)
	}
	info := ModelInfo{Input: in.Name, Output: out.Name, Height: int(in.Dimensions[2]), Width: int(in.Dimensions[3])}
	info.OpenSize = info.Height <= 0 || info.Width <= 0
	if in.Dimensions[0] > 0 {
		info.FixedBatch = int(in.Dimensions[0])
	}
	meta, err := ort.GetModelMetadata(path)
	if err != nil {
		return ModelInfo{}, fmt.Errorf("inference: metadata of %s: %w", path, err)
	}
	defer meta.Destroy()
	if v, ok, _ := meta.LookupCustomMetadataMap("names"); ok {
		if info.Names, err = parseNames(v); err != nil {
			return ModelInfo{}, fmt.Errorf("inference: %w", err)
		}
	}
	if v, ok, _ := meta.LookupCustomMetadataMap(VersionKey); ok {
		info.Version = v
	}
	if v, ok, _ := meta.LookupCustomMetadataMap("count_scores"); ok {
		if info.CountScores, err = parseCountScores(v, len(info.Names)); err != nil {
			return ModelInfo{}, fmt.Errorf("inference: %s: %w", path, err)
		}
	}
	if v, ok, _ := meta.LookupCustomMetadataMap("conf"); ok {
		if info.Conf, err = parseConf(v); err != nil {
			return ModelInfo{}, fmt.Errorf("inference: %s: %w", path, err)
		}
	}
	if info.Width <= 0 || info.Height <= 0 {
		info.Height, info.Width = 640, 640
		if v, ok, _ := meta.LookupCustomMetadataMap("imgsz"); ok {
			if info.Height, info.Width, err = parseImgsz(v); err != nil {
				return ModelInfo{}, fmt.Errorf("inference: %w", err)
			}
		}
	}
	layout, nc, anchors, err := resolveLayout(out.Dimensions, len(info.Names))
	if err != nil {
		return ModelInfo{}, fmt.Errorf("inference: %s: %w", path, err)
	}
	info.Layout, info.Anchors = layout, anchors
	for len(info.Names) < nc {
		info.Names = append(info.Names, fmt.Sprintf("class%d", len(info.Names)))
	}
	return info, nil
}

// Rewrite says which graph rewrites the engine applied.
func (e *Engine) Rewrite() string {
	var parts []string
	if e.cfg.Rewrite.SplitToSlice {
		parts = append(parts, "split")
	}
	if e.cfg.Rewrite.UInt8Input {
		parts = append(parts, "u8")
	}
	if b := e.cfg.Rewrite.StaticBatch; b > 0 {
		parts = append(parts, "static"+strconv.Itoa(b))
	}
	if e.cfg.Rewrite.ReduceOutput && e.cfg.Rewrite.PoolReduce {
		parts = append(parts, "pool")
	} else if e.cfg.Rewrite.ReduceOutput {
		parts = append(parts, "reduce")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

// Provider is the execution provider the engine runs on: "cpu" after Open
// fell back from CUDA.
func (e *Engine) Provider() string { return e.cfg.Provider }

// Info describes the loaded model.
func (e *Engine) Info() ModelInfo { return e.info }

// Name is the model's name, for the records it produces.
func (e *Engine) Name() string { return e.id.Name }

// ID identifies the loaded model: name, version and the file's hash.
func (e *Engine) ID() ModelID { return e.id }

// InputLen is the number of values (floats, or bytes for a uint8 input)
// one preprocessed image takes.
func (e *Engine) InputLen() int { return 3 * e.info.Width * e.info.Height }

// Run infers a batch of n preprocessed images laid end to end in input and
// returns each image's boxes in input pixels, after NMS.
func (e *Engine) Run(input []float32, n int) ([][]Detection, error) {
	if e.info.UInt8 {
		return nil, errors.New("inference: this model takes uint8 input (RunUInt8)")
	}
	return runBatches(e, input, n, func(m int) ort.Shape {
		return ort.NewShape(int64(m), 3, int64(e.info.Height), int64(e.info.Width))
	})
}

// RunUInt8 infers n letterboxed BGR images, [n, height, width, 3] bytes
// end to end, for a model loaded with the UInt8Input rewrite.
func (e *Engine) RunUInt8(input []byte, n int) ([][]Detection, error) {
	if !e.info.UInt8 {
		return nil, errors.New("inference: this model takes float input (Run)")
	}
	return runBatches(e, input, n, func(m int) ort.Shape {
		return ort.NewShape(int64(m), int64(e.info.Height), int64(e.info.Width), 3)
	})
}

// runBatches runs input as it is, or, for a model with a fixed batch, in
// batches of that size: the last one padded (with whatever the pool's buffer
// held; its boxes are dropped).
func runBatches[T float32 | byte](e *Engine, input []T, n int, shape func(int) ort.Shape) ([][]Detection, error) {
	per := e.InputLen()
	if len(input) != n*per {
		return nil, fmt.Errorf("inference: batch of %d needs %d values, got %d", n, n*per, len(input))
	}
	if n == 0 {
		return nil, nil
	}
	fb := e.info.FixedBatch
	if fb == 0 || n == fb {
		return runTensor(e, input, shape(n), n, n)
	}
	res := make([][]Detection, 0, n)
	for start := 0; start < n; start += fb {
		m := min(fb, n-start)
		chunk := input[start*per : (start+m)*per]
		var buf *[]T
		if m < fb {
			buf, _ = e.pad.Get().(*[]T)
			if buf == nil {
				b := make([]T, fb*per)
				buf = &b
			}
			copy(*buf, chunk)
			chunk = *buf
		}
		out, err := runTensor(e, chunk, shape(fb), fb, m)
		if buf != nil {
			e.pad.Put(buf)
		}
		if err != nil {
			return nil, err
		}
		res = append(res, out...)
	}
	return res, nil
}

func runTensor[T float32 | byte](e *Engine, data []T, shape ort.Shape, n, keep int) ([][]Detection, error) {
	in, err := ort.NewTensor(shape, data)
	if err != nil {
		return nil, fmt.Errorf("inference: input tensor: %w", err)
	}
	defer in.Destroy()
	return e.run(in, n, keep)
}

// run runs one batch of n and decodes the first keep images' boxes.
func (e *Engine) run(in ort.Value, n, keep int) ([][]Detection, error) {
	outs := []ort.Value{nil}
	s := <-e.free
	err := s.Run([]ort.Value{in}, outs)
	e.free <- s
	if err != nil {
		return nil, fmt.Errorf("inference: run batch of %d: %w", n, err)
	}
	defer outs[0].Destroy()
	t, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		return nil, fmt.Errorf("inference: output is %T, want float32", outs[0])
	}
	data := t.GetData()
	nc := len(e.info.Names)
	anchors, err := outputAnchors(e.info.Layout, nc, t.GetShape(), n)
	if err != nil {
		return nil, fmt.Errorf("inference: %w", err)
	}
	per := len(data) / n
	res := make([][]Detection, keep)
	for i := range keep {
		img := data[i*per : (i+1)*per]
		var dets []Detection
		switch e.info.Layout {
		case LayoutYOLOv8:
			dets = decodeYOLOv8(img, nc, anchors, false, e.cfg.ScoreThreshold)
		case LayoutYOLOv8T:
			dets = decodeYOLOv8(img, nc, anchors, true, e.cfg.ScoreThreshold)
		case LayoutEndToEnd:
			dets = decodeEndToEnd(img, anchors, e.cfg.ScoreThreshold)
		case LayoutReduced:
			dets = decodeReduced(img, anchors, e.cfg.ScoreThreshold)
		}
		res[i] = NMS(dets, e.cfg.IoUThreshold, e.cfg.MaxDetections)
	}
	return res, nil
}

// outputAnchors reads the anchor (or box) count from the shape of a batch's
// output, checking it against the layout: exports with dynamic axes (an
// Ultralytics dynamic=True export) leave it out of the model's declared
// shape, and reading it from there decoded no boxes at all.
func outputAnchors(l Layout, nc int, shape ort.Shape, n int) (int, error) {
	if len(shape) != 3 || shape[0] != int64(n) {
		return 0, fmt.Errorf("output shape %v for a batch of %d, want [%d, _, _]", shape, n, n)
	}
	want := map[Layout][2]int64{LayoutYOLOv8: {1, int64(4 + nc)}, LayoutYOLOv8T: {2, int64(4 + nc)},
		LayoutEndToEnd: {2, 6}, LayoutReduced: {1, 6}}[l]
	if want[0] == 0 || shape[want[0]] != want[1] {
		return 0, fmt.Errorf("output shape %v does not fit layout %v with %d classes", shape, l, nc)
	}
	return int(shape[3-want[0]]), nil
}

// Close releases the sessions; no Run may be in progress.
func (e *Engine) Close() error {
	var errs []error
	for _, s := range e.sessions {
		errs = append(errs, s.Destroy())
	}
	e.sessions = nil
	return errors.Join(errs...)
}
