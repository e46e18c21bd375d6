package track

// kf1 is a constant-velocity Kalman filter of one coordinate: state
// (position, velocity) with a 2x2 covariance. A box is four of them (centre x,
// centre y, width, height), as ByteTrack's filter is block-diagonal.
type kf1 struct {
	X, V          float64
	P00, P01, P11 float64
}

func newKF1(x, posStd, velStd float64) kf1 {
	return kf1{X: x, P00: posStd * posStd, P11: velStd * velStd}
}

// predict advances dt frames with process noise q (position) and qv (velocity).
func (k *kf1) predict(dt, q, qv float64) {
	k.X += k.V * dt
	p00 := k.P00 + dt*(2*k.P01+dt*k.P11) + q*q
	p01 := k.P01 + dt*k.P11
	p11 := k.P11 + qv*qv
	k.P00, k.P01, k.P11 = p00, p01, p11
}

// update folds in a measurement z with noise std r.
func (k *kf1) update(z, r float64) {
	s := k.P00 + r*r
	k0, k1 := k.P00/s, k.P01/s
	y := z - k.X
	k.X += k0 * y
	k.V += k1 * y
	p00 := (1 - k0) * k.P00
	p01 := (1 - k0) * k.P01
	p11 := k.P11 - k1*k.P01
	k.P00, k.P01, k.P11 = p00, p01, p11
}
