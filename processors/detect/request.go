package detect

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/schema"
)

// Request is what `cropstream model deploy` asks for: the model's name and
// version (default: from its file) and its Placement, Share as ParseShare
// reads it.
type Request struct {
	Name, Version, Share string
	Cameras              []string
	Shadow               bool
}

// RegisterFlags registers the request's flags.
func (r *Request) RegisterFlags(f *pflag.FlagSet) {
	f.StringVar(&r.Name, "name", "", "model name (default the file's base name)")
	f.StringVar(&r.Version, "version", "", "model version (default the file's model_version metadata, else "+inference.UnversionedModel+")")
	f.StringSliceVar(&r.Cameras, "cameras", nil, "canary: serve the model on these cameras only")
	f.StringVar(&r.Share, "share", "", "canary: serve the model on this share of frames (10% or 0.1)")
	f.BoolVar(&r.Shadow, "shadow", false, "run the model beside the serving one on --cameras or --share (default every frame); its boxes go to topic shadow-detections only (cropstream model compare)")
}

// Deployment checks the request and identifies the model file: what Deploy
// publishes.
func (r Request) Deployment(file string) (*schema.ModelDeployment, error) {
	path, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	share, err := ParseShare(r.Share)
	if err != nil {
		return nil, fmt.Errorf("--share %w", err)
	}
	if share > 0 && len(r.Cameras) > 0 {
		return nil, fmt.Errorf("--cameras and --share: give one of them")
	}
	id, err := inference.Identify(path, r.Name, r.Version)
	if err != nil {
		return nil, err
	}
	return NewDeployment(path, id, Placement{Cameras: r.Cameras, Share: share, Shadow: r.Shadow}), nil
}
