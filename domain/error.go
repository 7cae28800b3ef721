package domain

import (
	"errors"
	"fmt"
)

// Error codes. They are mapped to transport codes in one place (the api
// package); clients see the message of every code but EINTERNAL.
const (
	EINVALID         = "invalid"           // the request is malformed or breaks a rule
	ENOTFOUND        = "not_found"         // a plan, action or KPI does not exist
	ECONFLICT        = "conflict"          // the aggregate changed since the caller read it
	EEXISTS          = "already_exists"    // creating something that exists already
	EUNAUTHENTICATED = "unauthenticated"   // no valid credentials
	EFORBIDDEN       = "permission_denied" // authenticated, but not allowed
	EUNAVAILABLE     = "unavailable"       // a dependency (the event store) is unreachable
	ETIMEOUT         = "deadline_exceeded" // waited too long (e.g. for the read model)
	ETOOLARGE        = "too_large"         // a request is over a stated limit
	EINTERNAL        = "internal"          // a fault of ours; never shown to clients
)

// Error is sendtrail's one coded error type. Field names the offending input
// (e.g. "reason", "actions.csv row 12 Deadline") where there is one.
type Error struct {
	Code    string
	Field   string
	Message string
	// Version is the aggregate's current version, set on ECONFLICT.
	Version uint64
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("sendtrail %s: %s: %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("sendtrail %s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error naming field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, and
// EINTERNAL otherwise. A nil error has no code.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message a client may see: an *Error's own message
// (with its field), or "internal error" for anything else.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		if e.Field != "" {
			return e.Field + ": " + e.Message
		}
		return e.Message
	}
	return "internal error"
}
