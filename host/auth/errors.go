package auth

import (
	"errors"
	"strings"
)

var (
	// ErrUnauthenticated is wrapped by every error that refuses a caller
	// because it could not tell who the caller is: no token, an unknown API
	// key, or a JWT that does not verify. Such callers get 401.
	ErrUnauthenticated = errors.New("unauthenticated")

	// ErrInsufficientScope is wrapped by errors that refuse a caller who was
	// identified but may not come in: a JWT lacking a required scope, or a
	// principal holding no role at all. Such callers get 403.
	ErrInsufficientScope = errors.New("insufficient scope")
)

// Reason labels, short and stable, for audit logs and metrics.
const (
	reasonNoToken           = "no_token"
	reasonUnknownKey        = "unknown_key"
	reasonExpired           = "expired"
	reasonNotYetValid       = "not_yet_valid"
	reasonBadAudience       = "bad_audience"
	reasonBadIssuer         = "bad_issuer"
	reasonBadSignature      = "bad_signature"
	reasonUnknownKID        = "unknown_kid"
	reasonBadAlg            = "bad_alg"
	reasonMissingClaim      = "missing_claim"
	reasonMalformed         = "malformed"
	reasonInsufficientScope = "insufficient_scope"
	reasonNoRoles           = "no_roles"
)

// refusal is why a caller was turned away. Its message is what the client
// is told (error_description); cause carries details for the operator only,
// such as a JWKS fetch error, and never reaches the client.
type refusal struct {
	kind    error // ErrUnauthenticated or ErrInsufficientScope
	reason  string
	message string
	cause   error
}

func (e *refusal) Error() string {
	if e.cause == nil {
		return e.message
	}
	return e.message + ": " + e.cause.Error()
}

func (e *refusal) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

func unauthenticated(reason, message string, cause error) error {
	return &refusal{kind: ErrUnauthenticated, reason: reason, message: message, cause: cause}
}

func forbidden(reason, message string) error {
	return &refusal{kind: ErrInsufficientScope, reason: reason, message: message}
}

// Reason returns a short label for why err refused a caller, for audit logs
// and metrics: "no_token", "unknown_key", "expired", "not_yet_valid",
// "bad_audience", "bad_issuer", "bad_signature", "unknown_kid", "bad_alg",
// "missing_claim", "malformed", "insufficient_scope" or "no_roles". It returns
// "" for a nil error and "error" for an error this package did not make.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	var r *refusal
	if errors.As(err, &r) {
		return r.reason
	}
	return "error"
}

// description is what the client is told about err: the refusal's message
// without the operator-only cause, made safe for a quoted-string in a
// WWW-Authenticate header (RFC 6750 allows printable ASCII but '"' and '\').
func description(err error) string {
	msg := err.Error()
	var r *refusal
	if errors.As(err, &r) {
		msg = r.message
	}
	return strings.Map(func(c rune) rune {
		switch {
		case c == '"':
			return '\''
		case c == '\\' || c < 0x20 || c > 0x7e:
			return -1
		}
		return c
	}, msg)
}
