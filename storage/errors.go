package storage

import (
	"errors"

	"github.com/ory/fosite"
)

// Sentinel errors. Backends wrap them with context (fmt.Errorf("redis: get %q: %w", key, err)); callers
// test with errors.Is.
var (
	// ErrNotFound: the key or record does not exist (or has expired). It is fosite's own sentinel so
	// that fosite's handlers recognise it.
	ErrNotFound = fosite.ErrNotFound

	// ErrConflict: an atomic precondition failed (create on an existing key, compare-and-swap on a
	// value that changed).
	ErrConflict = errors.New("storage: conflict")

	// ErrUnavailable: the backend could not be reached or did not answer in time. Callers must fail
	// closed: no token is issued, and HTTP endpoints answer 503 temporarily_unavailable.
	ErrUnavailable = errors.New("storage: unavailable")

	// ErrInactive: a token exists but was revoked or rotated. Returned together with the stored
	// request where fosite expects it.
	ErrInactive = fosite.ErrInactiveToken

	// ErrInvalidatedCode: an authorization code was already used. Returned together with the stored
	// request, as fosite requires.
	ErrInvalidatedCode = fosite.ErrInvalidatedAuthorizeCode
)
