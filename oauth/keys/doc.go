// Package keys owns actas's signing keys: parsing and generating them, the immutable key [Set] with
// its lifecycle states, the JWKS document, and the fosite [github.com/ory/fosite/token/jwt.Signer]
// that signs with the active key and verifies by `kid`.
//
// # Lifecycle
//
// Every key has a `kid`, an algorithm and a [State]:
//
//   - [StateNext]: published in the JWKS so that relying parties cache it before it signs (RFC 7517;
//     OIDC Core §10.1.1 key rotation), and accepted for verification (see [Set.Verifier]).
//   - [StateActive]: signs. At most one active key per algorithm, e.g. RS256 for ID tokens (the
//     OIDC mandatory algorithm) and ES256 for access tokens.
//   - [StateRetired]: published and verified, never signs. Keep a key retired for at least the
//     longest token lifetime, so tokens it signed stay valid until they expire.
//   - [StateRemoved]: neither published nor verified; tokens it signed are refused.
//
// Supported algorithms (RFC 7518 §3.1, RFC 8037 §3.1): RS256 (RSA, at least 2048 bits), ES256
// (ECDSA on P-256 only) and EdDSA (Ed25519 only).
//
// # Rotation without locks
//
// A [Set] is an immutable snapshot. A [Holder] keeps the current snapshot in an atomic pointer:
// readers ([Holder.Load], the signer, the JWKS handler) never lock, and a rotation is one
// [Holder.Store] of a new set. Tokens are always verified by the `kid` in their header, never by
// "the current key" (fosite's DefaultSigner does the latter, which breaks every token signed before
// a rotation).
//
// # go-jose versions
//
// fosite v0.49 is built on go-jose v3 and accepts only v3 keys or raw crypto keys; this package
// hands it raw crypto keys. Everything we publish or parse ourselves (JWKS, [Holder.VerifyJWT]) uses
// go-jose v4 with an explicit algorithm allow-list. The signer writes the compact JWS itself
// (the standard library's JSON and crypto: RFC 7515 §7.1, RFC 7518 §3.3–3.4, RFC 8037), because
// going through fosite's jwt.Token and go-jose's JWT builder encoded every token's claims three
// times with go-jose's slower JSON; every token is still parsed and verified with go-jose, and a
// test verifies the signer's tokens with go-jose v4 for each algorithm.
//
// keys imports fosite's jwt package and go-jose only; it knows nothing of storage, config or the
// rest of the provider. Key material never appears in an error or a log line.
package keys
