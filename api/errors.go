// Package api serves sendtrail's Connect services (Connect, gRPC and
// gRPC-Web on one handler), authenticates every request, authorizes it by
// role and plan, and maps domain errors to transport codes in one place.
package api

import (
	"context"
	"errors"
	"log/slog"

	"connectrpc.com/connect"

	"github.com/sendtrail/sendtrail/domain"
)

var codes = map[string]connect.Code{
	domain.EINVALID:         connect.CodeInvalidArgument,
	domain.ENOTFOUND:        connect.CodeNotFound,
	domain.ECONFLICT:        connect.CodeAborted,
	domain.EEXISTS:          connect.CodeAlreadyExists,
	domain.EUNAUTHENTICATED: connect.CodeUnauthenticated,
	domain.EFORBIDDEN:       connect.CodePermissionDenied,
	domain.EUNAVAILABLE:     connect.CodeUnavailable,
	domain.ETIMEOUT:         connect.CodeDeadlineExceeded,
	domain.ETOOLARGE:        connect.CodeResourceExhausted,
	domain.EPRECONDITION:    connect.CodeFailedPrecondition,
	domain.EINTERNAL:        connect.CodeInternal,
}

// toConnect maps err to a Connect error. Internal errors are logged here,
// once, and clients see only "internal error".
func toConnect(ctx context.Context, log *slog.Logger, procedure string, err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce
	}
	if errors.Is(err, context.Canceled) {
		return connect.NewError(connect.CodeCanceled, errors.New("request cancelled"))
	}
	if errors.Is(err, context.DeadlineExceeded) && domain.ErrorCode(err) == domain.EINTERNAL {
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("the request took too long"))
	}
	code := domain.ErrorCode(err)
	if code == domain.EINTERNAL {
		log.ErrorContext(ctx, "internal error", "procedure", procedure, "err", err)
	}
	c, ok := codes[code]
	if !ok {
		c = connect.CodeInternal
	}
	out := connect.NewError(c, errors.New(domain.ErrorMessage(err)))
	var de *domain.Error
	if errors.As(err, &de) && de.Code == domain.ECONFLICT {
		out.Meta().Set("Sendtrail-Current-Version", uitoa(de.Version))
	}
	return out
}

func uitoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return string(b[i:])
}
