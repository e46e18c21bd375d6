// Package ingest turns camera sources (video files, RTSP/HTTP streams, image
// folders, the field simulator) into Frame records on the frames topic.
package ingest
