package inference

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// ModelID names one model file for the records it produces: the name and
// version say what an operator deployed, the hash which bytes ran. Copying a
// file under a new version gives a new id, as does changing one byte of it.
type ModelID struct {
	Name    string
	Version string
	// SHA256 is the hex SHA-256 of the file as loaded (before any rewrite).
	SHA256 string
}

// UnversionedModel is the version of a model whose metadata has no
// model_version and that was not given one.
const UnversionedModel = "unversioned"

// VersionKey is the metadata entry that holds a model's version.
const VersionKey = "model_version"

// String is name@version+sha256:<first 12 hex digits>: short enough for a
// ClickHouse key and a Prometheus label, and 48 bits tell files apart.
func (m ModelID) String() string {
	if m.Name == "" {
		return ""
	}
	h := m.SHA256
	if len(h) > 12 {
		h = h[:12]
	}
	return m.Name + "@" + m.Version + "+sha256:" + h
}

// HashFile returns the hex SHA-256 of data.
func HashFile(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// ModelName is the name a model file goes by: its base name without .onnx.
func ModelName(path string) string { return strings.TrimSuffix(filepath.Base(path), ".onnx") }

// Identify reads path and returns its id. An empty name or version is taken
// from the file (its base name; its model_version metadata when ONNX Runtime
// can read it, else UnversionedModel). It needs the ONNX Runtime library
// only to read the version, and reads no version from a file it cannot
// parse rather than failing: a deploy publishes, detect processes refuse.
func Identify(path, name, version string) (ModelID, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return ModelID{}, fmt.Errorf("inference: identify model: %w", err)
	}
	id := ModelID{Name: name, Version: version, SHA256: HashFile(data)}
	if id.Name == "" {
		id.Name = ModelName(path)
	}
	if id.Version == "" {
		id.Version = UnversionedModel
		if v, err := metadataVersion(path); err == nil && v != "" {
			id.Version = v
		}
	}
	return id, nil
}

// metadataVersion reads model_version from the file's metadata.
func metadataVersion(path string) (string, error) {
	lib, err := FindLibrary("")
	if err != nil {
		return "", err
	}
	if err := initEnv(lib); err != nil {
		return "", err
	}
	meta, err := ort.GetModelMetadata(path)
	if err != nil {
		return "", fmt.Errorf("inference: metadata of %s: %w", path, err)
	}
	defer meta.Destroy()
	v, _, err := meta.LookupCustomMetadataMap(VersionKey)
	return v, err
}
