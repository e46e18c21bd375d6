package fieldmap

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/schema"
)

// File is the YAML a grower writes (see docs/season.md):
//
//	fields:
//	  - id: F1
//	    blocks:
//	      - id: B1
//	        crop: apple
//	        rows:                 # each row ...
//	          - {id: B1-R1, plants: 20, plant_spacing_m: 1.5, start_m: 0}
//	      - id: B2
//	        crop: grape
//	        row_count: 4          # ... or n rows B2-R1..B2-R4 alike
//	        plants_per_row: 30
//	        plant_spacing_m: 1.2
type File struct {
	Fields []Field `yaml:"fields"`
}

// Field is a named group of blocks.
type Field struct {
	ID     string  `yaml:"id"`
	Blocks []Block `yaml:"blocks"`
}

// Block is one block: a crop and its rows, listed or given as a count with
// shared values.
type Block struct {
	ID            string  `yaml:"id"`
	Crop          string  `yaml:"crop"`
	Rows          []Row   `yaml:"rows"`
	RowCount      int     `yaml:"row_count"`
	PlantsPerRow  int     `yaml:"plants_per_row"`
	PlantSpacingM float64 `yaml:"plant_spacing_m"`
	StartM        float64 `yaml:"start_m"`
}

// Row is one row; zero values take the block's.
type Row struct {
	ID            string   `yaml:"id"`
	Plants        int      `yaml:"plants"`
	PlantSpacingM float64  `yaml:"plant_spacing_m"`
	StartM        *float64 `yaml:"start_m"`
	StartLat      *float64 `yaml:"start_lat"`
	StartLon      *float64 `yaml:"start_lon"`
}

// Parse reads a field map strictly and returns one record per block, each
// checked (its crop profile must load). Errors name the line.
func Parse(b []byte) ([]*schema.FieldBlock, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("field map: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("field map: %w", err)
	}
	lines := blockLines(&root)
	var out []*schema.FieldBlock
	var errs []error
	seen := map[string]bool{}
	now := time.Now().UnixNano()
	for _, fd := range f.Fields {
		if fd.ID == "" {
			errs = append(errs, errors.New("field map: a field has no id"))
		}
		for _, bl := range fd.Blocks {
			at := fmt.Sprintf("field map line %d: block %q", lines[bl.ID], bl.ID)
			if bl.ID == "" {
				errs = append(errs, fmt.Errorf("field map: field %s has a block without id", fd.ID))
				continue
			}
			if seen[bl.ID] {
				errs = append(errs, fmt.Errorf("%s: listed twice (block ids are unique across fields)", at))
				continue
			}
			seen[bl.ID] = true
			fb, err := bl.record(fd.ID)
			if err == nil {
				_, err = crops.Load(bl.Crop)
			}
			if err == nil {
				fb.UpdatedUnixNs = now
				_, err = schema.Encode(fb) // validates
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", at, err))
				continue
			}
			out = append(out, fb)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("field map: no blocks")
	}
	return out, nil
}

func (bl Block) record(field string) (*schema.FieldBlock, error) {
	fb := &schema.FieldBlock{FieldId: field, BlockId: bl.ID, Crop: bl.Crop}
	rows := bl.Rows
	switch {
	case len(rows) > 0 && bl.RowCount > 0:
		return nil, errors.New("give rows or row_count, not both")
	case bl.RowCount > 0:
		for i := range bl.RowCount {
			rows = append(rows, Row{ID: fmt.Sprintf("%s-R%d", bl.ID, i+1)})
		}
	case len(rows) == 0:
		return nil, errors.New("no rows (give rows or row_count)")
	}
	for _, r := range rows {
		fr := &schema.FieldRow{RowId: r.ID, Plants: uint32(max(r.Plants, 0)), PlantSpacingM: r.PlantSpacingM, StartM: bl.StartM,
			StartLat: r.StartLat, StartLon: r.StartLon}
		if r.Plants == 0 {
			fr.Plants = uint32(max(bl.PlantsPerRow, 0))
		}
		if fr.PlantSpacingM == 0 {
			fr.PlantSpacingM = bl.PlantSpacingM
		}
		if r.StartM != nil {
			fr.StartM = *r.StartM
		}
		if math.IsNaN(fr.StartM) || math.IsInf(fr.StartM, 0) {
			return nil, fmt.Errorf("row %s: start_m %v", r.ID, fr.StartM)
		}
		fb.Rows = append(fb.Rows, fr)
	}
	return fb, nil
}

// blockLines maps block ids to the line of their id in the YAML.
func blockLines(n *yaml.Node) map[string]int {
	out := map[string]int{}
	var walk func(n *yaml.Node, inBlocks bool)
	walk = func(n *yaml.Node, inBlocks bool) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, inBlocks)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if inBlocks && k.Value == "id" {
					out[v.Value] = k.Line
				}
				walk(v, k.Value == "blocks")
			}
		}
	}
	walk(n, false)
	return out
}

// Row returns the block's row with id row, or nil.
func RowOf(b *schema.FieldBlock, row string) *schema.FieldRow {
	for _, r := range b.GetRows() {
		if r.GetRowId() == row {
			return r
		}
	}
	return nil
}

// PlantIndex is the plant (from 0) of row r that covers the camera position
// pos along the row, clamped to the row's plants; false before the row's start
// by more than a plant or without a position.
func PlantIndex(r *schema.FieldRow, pos *float64) (int, bool) {
	if r == nil || pos == nil || r.GetPlantSpacingM() <= 0 || r.GetPlants() == 0 || math.IsNaN(*pos) {
		return 0, false
	}
	i := math.Floor((*pos - r.GetStartM()) / r.GetPlantSpacingM())
	if i < -1 || i > float64(r.GetPlants()) {
		return 0, false // off the row: not this row's plant
	}
	return int(min(max(i, 0), float64(r.GetPlants()-1))), true
}

// PlantID names plant i (from 0) of a row as growers and the simulator do:
// ROW-P001 is the first.
func PlantID(row string, i int) string { return fmt.Sprintf("%s-P%03d", row, i+1) }

// ParseFile is Parse of a file, its errors prefixed with the file's name.
func ParseFile(path string) ([]*schema.FieldBlock, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blocks, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return blocks, nil
}
