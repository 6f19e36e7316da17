package keys

import "errors"

// Sentinel errors. Their texts have no package prefix: every exported function adds "keys: " once,
// with context (the file, the kid, the algorithm). Callers test with errors.Is. No error of this
// package carries key material.
var (
	// ErrUnsupportedAlg: the algorithm is not one of RS256, ES256, EdDSA.
	ErrUnsupportedAlg = errors.New("unsupported algorithm")

	// ErrKeyMismatch: the key's type or size does not fit its algorithm (RS256 needs RSA ≥ 2048
	// bits, ES256 needs P-256, EdDSA needs Ed25519).
	ErrKeyMismatch = errors.New("key does not fit algorithm")

	// ErrMalformedKey: the data is not a private key in a form this package reads.
	ErrMalformedKey = errors.New("malformed private key")

	// ErrInvalidSet: the keys do not form a valid set (duplicate kid, two active keys of one
	// algorithm, no active key, bad state...).
	ErrInvalidSet = errors.New("invalid key set")

	// ErrNoActiveKey: no key of the set signs with the requested algorithm.
	ErrNoActiveKey = errors.New("no active key for algorithm")

	// ErrNoKeySet: the holder has no key set yet.
	ErrNoKeySet = errors.New("no key set loaded")

	// ErrUnknownKey: the token's kid is missing, unknown, or names a removed key.
	ErrUnknownKey = errors.New("unknown key id")

	// ErrAlgMismatch: the token's header alg is not the algorithm of the key its kid names
	// (this refuses "none", HS256-with-a-public-key and every other algorithm confusion).
	ErrAlgMismatch = errors.New("token alg does not match key")

	// ErrInvalidToken: the token is not a compact JWS, its signature does not verify, or its type is
	// not allowed.
	ErrInvalidToken = errors.New("invalid token")
)
