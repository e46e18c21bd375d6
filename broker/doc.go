// Package broker connects cropstream to Kafka: a real cluster (TLS, SASL) or the
// embedded franz-go kfake broker, started or reused through a lock in the data
// directory; plus the admin work on top (topics, consumer lag).
package broker
