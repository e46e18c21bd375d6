// Package latency is a lock-free latency histogram the stages record into on
// their hot paths; the metrics package exports it as a Prometheus histogram.
package latency
