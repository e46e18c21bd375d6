// Package zones counts tracks crossing lines drawn on a camera's view, per class and direction,
// and holds each camera's lines as data (the count-lines topic) for the track stage.
package zones
