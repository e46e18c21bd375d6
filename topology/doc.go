// Package topology declares, in one place, every Kafka topic and consumer group
// of cropstream: names, partition counts, keys, codecs, retention and data flow.
//
// Nothing else in the code spells a topic or group name; stages, admin commands
// and sinks take them from a *Topology built by New.
package topology
