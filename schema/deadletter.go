package schema

import "time"

// NewDeadLetter describes a record a stage could not process. The original
// value is kept when it is at most keepBytes long (so the dead-letter record
// itself fits the topic); its size is always recorded.
func NewDeadLetter(stage, reason, topic string, partition int32, offset int64, key, value []byte, keepBytes int) *DeadLetter {
	d := &DeadLetter{
		Stage:           stage,
		Reason:          reason,
		SourceTopic:     topic,
		SourcePartition: partition,
		SourceOffset:    offset,
		OriginalKey:     key,
		OriginalSize:    uint64(len(value)),
		FailedUnixNs:    time.Now().UnixNano(),
	}
	if len(value) <= keepBytes {
		d.OriginalValue = value
	}
	return d
}
