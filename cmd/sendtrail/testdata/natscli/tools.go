//go:build tools

// Package natsclibuild pins the nats CLI the tests subscribe with:
// go build -o DIR/nats github.com/nats-io/natscli/nats (from this folder).
package natsclibuild

import _ "github.com/nats-io/natscli/nats"
