package topology

import "github.com/spf13/pflag"

// RegisterFlags registers the sizes every command shares, with their
// defaults.
func (c *Config) RegisterFlags(f *pflag.FlagSet) {
	f.Int32Var(&c.CameraPartitions, "camera-partitions", DefaultCameraPartitions, "partitions of camera-keyed topics (frames, detections, track table)")
	f.Int32Var(&c.BlockPartitions, "block-partitions", DefaultBlockPartitions, "partitions of block-keyed topics (objects, yield, aggregate table)")
	f.Int16Var(&c.Replication, "replication-factor", -1, "replication factor of created topics (-1: the cluster's default)")
	f.IntVar(&c.MaxFrameBytes, "topology-max-frame-bytes", DefaultMaxFrameBytes, "largest JPEG the frames topic accepts; sizes topic, producer and broker limits")
}
