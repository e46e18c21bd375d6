package schema

//go:generate protoc --proto_path=. --go_out=. --go_opt=paths=source_relative cropstream.proto
//go:generate protoc --proto_path=. --go_out=. --go_opt=paths=source_relative zones.proto
