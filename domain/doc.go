// Package domain is the pure core of sendtrail: the SEND Improvement Plan's
// types, the commands that change it, and the two functions everything else
// is built on.
//
//   - Decide(state, command) returns the events a command produces, or an
//     *Error saying why it is refused. A command that changes nothing returns
//     no events.
//   - Evolve(state, event) returns the state after an event.
//
// The package does no I/O and reads no clock: times are passed in. The same
// Evolve serves the projector, "as of" queries and the evidence verifier.
package domain
