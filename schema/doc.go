// Package schema holds the versioned protobuf messages carried on every
// cropstream topic and the codecs that refuse versions this build does not know.
//
// Wire format: a record value is exactly one protobuf message of the topic's
// type (see cropstream.proto), with field 1 = schema_version. Nothing is
// prepended, so `kcat ... | protoc --decode=cropstream.v1.Frame` works as is.
package schema
