package simulator

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"sort"

	"gocv.io/x/gocv"
)

// parallax is how much faster the foreground leaves move across the frame
// than the canopy plane: they are closer to the camera.
const parallax = 1.3

// rowScene is one row rendered once into panoramas; frames are windows of it.
//
//   - mid: background, trunks, leaves, fruit and the leaves over the fruit;
//   - ids: which unit each mid pixel shows (24-bit local index + 1, 0 = none),
//     drawn with the same geometry, so visibility is counted, not guessed;
//   - fg, fgMask: foreground leaves, shifted by parallax x the camera motion.
type rowScene struct {
	row     int
	originM float64 // metres along the row at mid x = 0
	ppm     float64
	margin  int // rows above and below the view, for jitter
	mid     gocv.Mat
	ids     gocv.Mat
	fg      gocv.Mat          // foreground colour, black outside leaves
	fgMask  gocv.Mat          // 255 on foreground leaves (for truth)
	fgHole  gocv.Mat          // 3 channels, 0 on foreground leaves, 255 elsewhere
	units   []int             // global unit index by local index
	boxes   []image.Rectangle // amodal box of each local unit, mid coords
	amodal  []int             // amodal pixel count of each local unit
	byX     []int             // local indexes sorted by box.Min.X
	maxBoxW int
	idsData []byte
	fgData  []byte
}

func (rs *rowScene) Close() {
	rs.mid.Close()
	rs.ids.Close()
	rs.fg.Close()
	rs.fgMask.Close()
	rs.fgHole.Close()
}

type bgr struct{ b, g, r float64 }

func (c bgr) scale(f float64) bgr { return bgr{c.b * f, c.g * f, c.r * f} }
func (c bgr) mix(o bgr, t float64) bgr {
	return bgr{c.b + (o.b-c.b)*t, c.g + (o.g-c.g)*t, c.r + (o.r-c.r)*t}
}
func clamp8(v float64) uint8 { return uint8(math.Max(0, math.Min(255, math.Round(v)))) }
func (c bgr) rgba() color.RGBA {
	return color.RGBA{R: clamp8(c.r), G: clamp8(c.g), B: clamp8(c.b)}
}

func idColor(id int) color.RGBA {
	return color.RGBA{B: uint8(id), G: uint8(id >> 8), R: uint8(id >> 16)}
}

// painter draws a shape on the colour layer and, with the id colour, on the
// id layer, so both share one geometry.
type painter struct {
	col, ids *gocv.Mat
}

func (p painter) circle(c image.Point, r int, col bgr, id int) {
	gocv.Circle(p.col, c, r, col.rgba(), -1)
	if p.ids != nil {
		gocv.Circle(p.ids, c, r, idColor(id), -1)
	}
}

func leafPoints(cx, cy, length, width, angle float64) []image.Point {
	const n = 7
	pts := make([]image.Point, 0, 2*n)
	sin, cos := math.Sincos(angle)
	add := func(x, y float64) {
		pts = append(pts, image.Pt(int(math.Round(cx+x*cos-y*sin)), int(math.Round(cy+x*sin+y*cos))))
	}
	for i := 0; i <= n; i++ {
		t := float64(i) / n
		add(length*(t-0.5), width/2*math.Pow(math.Sin(math.Pi*t), 0.7))
	}
	for i := n - 1; i > 0; i-- {
		t := float64(i) / n
		add(length*(t-0.5), -width/2*math.Pow(math.Sin(math.Pi*t), 0.7))
	}
	return pts
}

// leaf draws a leaf with a vein; on ids (if any) it erases what it covers.
func leaf(col, ids *gocv.Mat, cx, cy, length, width, angle float64, c bgr) {
	pv := gocv.NewPointsVectorFromPoints([][]image.Point{leafPoints(cx, cy, length, width, angle)})
	gocv.FillPoly(col, pv, c.rgba())
	if ids != nil {
		gocv.FillPoly(ids, pv, color.RGBA{})
	}
	pv.Close()
	sin, cos := math.Sincos(angle)
	h := length * 0.45
	gocv.Line(col, image.Pt(int(cx-h*cos), int(cy-h*sin)), image.Pt(int(cx+h*cos), int(cy+h*sin)), c.scale(0.7).rgba(), 1)
}

// MaxRowLayerBytes bounds the largest layer of a row scene (the parallax
// foreground, 3 bytes a pixel). A row is rendered whole, once: a 5 km row
// at 512 px/m asked OpenCV for layers of 5-7 GB (about 27 GB in all), and
// it aborted with a C++ stack trace instead of an error. Under this bound
// every layer stays below OpenCV's 2 GiB int-indexed limits and the whole
// scene under about 8 GB.
const MaxRowLayerBytes = 2<<30 - 1

// rowSceneSize is the size in pixels of a row's canvas and id layers (pw x
// ph), of its foreground layers (fw x ph), and the jitter margin.
func (s *Scenario) rowSceneSize() (pw, ph, fw, margin int) {
	ppm := s.PixelsPerMetre()
	V := s.Camera.ViewWidthM
	rowLen := float64(s.PlantsPerRow) * s.PlantSpacingM
	margin = int(math.Ceil(2*s.Camera.JitterPx)) + 2
	pw = int(math.Ceil((rowLen+2*V)*ppm)) + 128
	ph = s.Camera.Height + 2*margin
	fw = int(math.Ceil(parallax*float64(pw))) + s.Camera.Width + 2
	return pw, ph, fw, margin
}

// RowSceneBytes is about how much memory rendering one row takes: canvas,
// id layer and background texture at 3 bytes a pixel, foreground and its
// mask at 4.
func (s *Scenario) RowSceneBytes() int64 {
	pw, ph, fw, _ := s.rowSceneSize()
	return int64(ph) * (9*int64(pw) + 4*int64(fw))
}

// renderRow draws row `row` of the layout.
func renderRow(s *Scenario, l *Layout, row int) *rowScene {
	r := rand.New(rand.NewPCG(s.Seed, 0x7e4d+uint64(row)))
	ppm := s.PixelsPerMetre()
	H := s.Camera.Height
	V := s.Camera.ViewWidthM
	pw, ph, fw, margin := s.rowSceneSize()
	rs := &rowScene{row: row, ppm: ppm, margin: margin, originM: -V - 64/ppm}
	rs.mid = gocv.NewMatWithSize(ph, pw, gocv.MatTypeCV8UC3)
	rs.ids = gocv.NewMatWithSizeFromScalar(gocv.NewScalar(0, 0, 0, 0), ph, pw, gocv.MatTypeCV8UC3)
	rs.fg = gocv.NewMatWithSizeFromScalar(gocv.NewScalar(0, 0, 0, 0), ph, fw, gocv.MatTypeCV8UC3)
	rs.fgMask = gocv.NewMatWithSizeFromScalar(gocv.NewScalar(0, 0, 0, 0), ph, fw, gocv.MatTypeCV8U)

	px := func(xm float64) float64 { return (xm - rs.originM) * ppm }
	py := func(ym float64) float64 { return float64(margin) + ym*ppm }

	drawBackground(r, &rs.mid, H, margin)

	// Trunks and branches.
	for _, pl := range l.Plants[row] {
		x := px(pl.XM) + (r.Float64()-0.5)*0.1*ppm
		bark := bgr{45, 65, 90}.scale(0.8 + 0.3*r.Float64())
		gocv.Line(&rs.mid, image.Pt(int(x), ph), image.Pt(int(x), int(py(0.5*float64(H)/ppm))), bark.rgba(), max(3, int(0.09*ppm)))
		for b := 0; b < 5; b++ {
			ang := -math.Pi/2 + (r.Float64()-0.5)*2.2
			ln := (0.3 + 0.4*r.Float64()) * ppm
			y0 := py((0.45 + 0.25*r.Float64()) * float64(H) / ppm)
			gocv.Line(&rs.mid, image.Pt(int(x), int(y0)), image.Pt(int(x+ln*math.Cos(ang)), int(y0+ln*math.Sin(ang))), bark.rgba(), max(2, int(0.025*ppm)))
		}
	}

	// Back leaves: the canopy behind the fruit.
	leafL := 0.09 * ppm
	for _, pl := range l.Plants[row] {
		cx, cy := px(pl.XM), py(0.52*float64(H)/ppm)
		ax, ay := 0.56*s.PlantSpacingM*ppm, 0.40*float64(H)
		n := int(1.3 * math.Pi * ax * ay / (0.3 * leafL * leafL))
		for i := 0; i < n; i++ {
			x, y := 2*r.Float64()-1, 2*r.Float64()-1
			if x*x+y*y > 1 {
				continue
			}
			ln := leafL * (0.6 + 0.8*r.Float64())
			c := bgr{25 + 30*r.Float64(), 65 + 60*r.Float64(), 25 + 35*r.Float64()}.scale(0.65 + 0.4*(1-(y+1)/2)*r.Float64())
			gocv.Ellipse(&rs.mid, image.Pt(int(cx+x*ax), int(cy+y*ay)), image.Pt(int(ln/2), int(ln/5)), r.Float64()*180, 0, 360, c.rgba(), -1)
		}
	}

	// Fruit, back to front, each with the leaves that hide part of it.
	var local []int
	for _, pl := range l.Plants[row] {
		for _, ui := range pl.Units {
			if !l.Units[ui].FarSide {
				local = append(local, ui)
			}
		}
	}
	sort.SliceStable(local, func(a, b int) bool { return l.Units[local[a]].depth < l.Units[local[b]].depth })
	rs.units = local
	rs.boxes = make([]image.Rectangle, len(local))
	rs.amodal = make([]int, len(local))
	idsData, _ := rs.ids.DataPtrUint8()
	rs.idsData = idsData
	p := painter{col: &rs.mid, ids: &rs.ids}
	for li, ui := range local {
		u := &l.Units[ui]
		id := li + 1
		cx, cy := px(u.XM), py(u.YM)
		var box image.Rectangle
		if s.Crop == "grape" {
			box = drawCluster(r, p, u, cx, cy, ppm, id, s.BerryMassG.Mean)
		} else {
			box = drawFruit(r, p, u, s.Crop, cx, cy, ppm, id)
		}
		box = box.Intersect(image.Rect(0, 0, pw, ph))
		rs.boxes[li] = box
		rs.amodal[li] = rs.count(box, id)
		// Leaves over this unit until the hidden share reaches its target.
		for k := 0; k < 8 && rs.amodal[li] > 0; k++ {
			hidden := 1 - float64(rs.count(box, id))/float64(rs.amodal[li])
			need := u.occlusion*0.85 - hidden
			if need <= 0.04 {
				break
			}
			size := math.Min(float64(max(box.Dx(), box.Dy())), 0.13*ppm) // leaves are ~10-20 cm
			ang := r.Float64() * 2 * math.Pi
			d := size * (0.55 - 0.5*math.Min(1, need))
			lx, ly := cx+d*math.Cos(ang), cy+d*math.Sin(ang)
			c := bgr{35 + 30*r.Float64(), 105 + 70*r.Float64(), 35 + 40*r.Float64()}
			leaf(&rs.mid, &rs.ids, lx, ly, size*(0.9+0.7*r.Float64()), size*(0.45+0.2*r.Float64()), ang+math.Pi/2+(r.Float64()-0.5)*0.8, c)
		}
	}
	rs.byX = make([]int, len(local))
	for i := range rs.byX {
		rs.byX[i] = i
		rs.maxBoxW = max(rs.maxBoxW, rs.boxes[i].Dx())
	}
	sort.Slice(rs.byX, func(a, b int) bool { return rs.boxes[rs.byX[a]].Min.X < rs.boxes[rs.byX[b]].Min.X })

	drawForeground(r, rs, s, H)
	fgData, _ := rs.fgMask.DataPtrUint8()
	rs.fgData = fgData
	// Motion blur: everything at one depth smears by the same length, so the
	// layers are blurred once per row at the mean speed (the ±15 % speed
	// drift changes it by under a pixel) instead of once per frame.
	if blur := int(math.Round(s.Camera.SpeedMPS * s.Camera.ExposureS * ppm)); blur >= 2 {
		gocv.Blur(rs.mid, &rs.mid, image.Pt(blur, 1))
		gocv.Blur(rs.fg, &rs.fg, image.Pt(int(math.Round(parallax*float64(blur))), 1))
	}
	// Frames composite the foreground as (view AND hole) OR fg: two SIMD
	// passes instead of a per-pixel masked copy.
	mask3 := gocv.NewMat()
	gocv.CvtColor(rs.fgMask, &mask3, gocv.ColorGrayToBGR)
	gocv.BitwiseAnd(rs.fg, mask3, &rs.fg)
	rs.fgHole = gocv.NewMat()
	gocv.BitwiseNot(mask3, &rs.fgHole)
	mask3.Close()
	return rs
}

// count is how many pixels of box show unit id on the id layer, counted on
// the grid of even coordinates (a quarter of the work; visibility is a ratio
// of two counts on the same grid).
func (rs *rowScene) count(box image.Rectangle, id int) int {
	stride := rs.ids.Cols() * 3
	b0, b1, b2 := byte(id), byte(id>>8), byte(id>>16)
	n := 0
	for y := (box.Min.Y + 1) &^ 1; y < box.Max.Y; y += 2 {
		row := rs.idsData[y*stride:]
		for x := (box.Min.X + 1) &^ 1; x < box.Max.X; x += 2 {
			if row[3*x] == b0 && row[3*x+1] == b1 && row[3*x+2] == b2 {
				n++
			}
		}
	}
	return n
}

func drawBackground(r *rand.Rand, mid *gocv.Mat, H, margin int) {
	ph, pw := mid.Rows(), mid.Cols()
	// Low-frequency layer: sky at the top, the next row's foliage, then ground.
	sw, sh := pw/24+2, ph/24+2
	small := gocv.NewMatWithSize(sh, sw, gocv.MatTypeCV8UC3)
	defer small.Close()
	data, _ := small.DataPtrUint8()
	for y := 0; y < sh; y++ {
		fy := (float64(y*24) - float64(margin)) / float64(H)
		for x := 0; x < sw; x++ {
			var c bgr
			switch {
			case fy < 0.12+0.06*r.Float64():
				c = bgr{205, 200, 185}.scale(0.85 + 0.2*r.Float64())
			case fy > 0.86+0.05*r.Float64():
				c = bgr{55, 95, 115}.scale(0.7 + 0.4*r.Float64())
			default:
				c = bgr{30 + 25*r.Float64(), 60 + 45*r.Float64(), 30 + 25*r.Float64()}
			}
			i := 3 * (y*sw + x)
			data[i], data[i+1], data[i+2] = clamp8(c.b), clamp8(c.g), clamp8(c.r)
		}
	}
	gocv.Resize(small, mid, image.Pt(pw, ph), 0, 0, gocv.InterpolationLinear)
	// Mid-frequency texture around 128, added at 40 %.
	tw, th := pw/5+2, ph/5+2
	tex := gocv.NewMatWithSize(th, tw, gocv.MatTypeCV8UC3)
	defer tex.Close()
	td, _ := tex.DataPtrUint8()
	for i := 0; i < len(td); i += 3 {
		v := clamp8(128 + 40*r.NormFloat64())
		td[i], td[i+1], td[i+2] = v, v, v
	}
	big := gocv.NewMat()
	defer big.Close()
	gocv.Resize(tex, &big, image.Pt(pw, ph), 0, 0, gocv.InterpolationLinear)
	gocv.AddWeighted(*mid, 1, big, 0.4, -0.4*128, mid)
}

// drawFruit draws a shaded apple or citrus and returns its box.
func drawFruit(r *rand.Rand, p painter, u *Unit, crop string, cx, cy, ppm float64, id int) image.Rectangle {
	rad := u.DiameterM / 2 * ppm
	var base bgr
	if crop == "citrus" {
		base = bgr{45, 150, 95}.mix(bgr{20, 135, 240}, math.Min(1, u.ripeness*1.4))
	} else {
		base = bgr{50, 170, 120}.mix(bgr{45, 190, 215}, 0.3*r.Float64()).mix(bgr{40, 35, 185}, u.ripeness)
	}
	base = base.scale(u.shade)
	c := image.Pt(int(math.Round(cx)), int(math.Round(cy)))
	ir := int(math.Round(rad))
	p.circle(c, ir, base.scale(0.55), id)
	steps := []struct{ f, off, light float64 }{{0.85, 0.08, 0.75}, {0.65, 0.15, 0.9}, {0.42, 0.22, 1.0}, {0.2, 0.3, 1.12}}
	for _, s := range steps {
		o := int(math.Round(s.off * rad))
		gocv.Circle(p.col, image.Pt(c.X-o, c.Y-o), int(math.Round(s.f*rad)), base.scale(s.light).rgba(), -1)
	}
	if crop == "citrus" {
		for k := 0; k < 6; k++ {
			a, d := r.Float64()*2*math.Pi, r.Float64()*0.7*rad
			gocv.Circle(p.col, image.Pt(c.X+int(d*math.Cos(a)), c.Y+int(d*math.Sin(a))), 1, base.scale(0.7).rgba(), -1)
		}
	} else {
		gocv.Circle(p.col, image.Pt(c.X, c.Y-int(0.8*rad)), max(1, int(0.08*rad)), bgr{30, 60, 70}.rgba(), -1)
	}
	ho := int(math.Round(0.35 * rad))
	gocv.Circle(p.col, image.Pt(c.X-ho, c.Y-ho), max(1, int(0.1*rad)), base.mix(bgr{255, 255, 255}, 0.45).rgba(), -1)
	return image.Rect(c.X-ir, c.Y-ir, c.X+ir+1, c.Y+ir+1)
}

// drawCluster draws a grape cluster of shaded berries, a cone that narrows
// downwards, and returns its box.
func drawCluster(r *rand.Rand, p painter, u *Unit, cx, cy, ppm float64, id int, berryMass float64) image.Rectangle {
	rb := math.Max(2, fruitDiameterM(berryMass, 1.05)/2*ppm)
	width := u.DiameterM * ppm
	length := width * (1.3 + 0.4*r.Float64())
	cols := math.Max(2, width/(1.7*rb))
	rows := max(2, int(length/(1.45*rb)))
	base := bgr{85, 35, 70}.mix(bgr{60, 20, 45}, u.ripeness).scale(u.shade)
	top := cy - length/2
	gocv.Line(p.col, image.Pt(int(cx), int(top-2*rb)), image.Pt(int(cx), int(top)), bgr{40, 100, 90}.rgba(), max(1, int(rb/2)))
	box := image.Rectangle{}
	lean := (r.Float64() - 0.5) * 0.4 // clusters hang a little askew
	for j := 0; j < rows; j++ {
		frac := float64(j) / float64(rows)
		n := max(1, int(math.Round(cols*math.Pow(1-frac, 0.75))))
		y := top + float64(j)*rb*1.45
		xc := cx + lean*frac*width
		for i := 0; i < n; i++ {
			x := xc + (float64(i)-float64(n-1)/2)*rb*1.7 + (r.Float64()-0.5)*rb*0.5
			bc := image.Pt(int(math.Round(x)), int(math.Round(y+(r.Float64()-0.5)*rb*0.4)))
			ir := int(math.Round(rb))
			c := base.scale(0.85 + 0.3*r.Float64())
			p.circle(bc, ir, c.scale(0.6), id)
			gocv.Circle(p.col, image.Pt(bc.X-ir/4, bc.Y-ir/4), max(1, int(0.7*rb)), c.rgba(), -1)
			gocv.Circle(p.col, image.Pt(bc.X-ir/3, bc.Y-ir/3), max(1, int(0.18*rb)), c.mix(bgr{255, 255, 255}, 0.5).rgba(), -1)
			bb := image.Rect(bc.X-ir, bc.Y-ir, bc.X+ir+1, bc.Y+ir+1)
			if box.Empty() {
				box = bb
			} else {
				box = box.Union(bb)
			}
		}
	}
	return box
}

// drawForeground scatters near leaves over the whole row on the fg layer.
func drawForeground(r *rand.Rand, rs *rowScene, s *Scenario, H int) {
	if s.Occlusion == 0 {
		return
	}
	ppm := rs.ppm * parallax
	fw := rs.fg.Cols()
	coverage := 0.3 * s.Occlusion
	meanL, meanW := 0.15*ppm, 0.07*ppm
	n := int(coverage * float64(fw) * 0.8 * float64(H) / (0.6 * meanL * meanW))
	for i := 0; i < n; i++ {
		x := r.Float64() * float64(fw)
		y := float64(rs.margin) + (0.12+0.8*r.Float64())*float64(H)
		ln := meanL * (0.6 + 0.8*r.Float64())
		wd := ln * (0.4 + 0.15*r.Float64())
		ang := r.Float64() * 2 * math.Pi
		c := bgr{25 + 25*r.Float64(), 75 + 50*r.Float64(), 25 + 25*r.Float64()}
		leaf(&rs.fg, nil, x, y, ln, wd, ang, c)
		pv := gocv.NewPointsVectorFromPoints([][]image.Point{leafPoints(x, y, ln, wd, ang)})
		gocv.FillPoly(&rs.fgMask, pv, color.RGBA{R: 255, G: 255, B: 255})
		pv.Close()
	}
}
