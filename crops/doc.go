// Package crops holds crop profiles (what is counted, Plant -> Cluster -> Unit,
// and how counts become kilograms) and the yield estimate with its interval,
// calibrated on a few hand-counted plants.
package crops
