// Package login owns the browser side of signing in to actas: the username + password page, the
// TOTP second-factor page (RFC 6238), the OAuth consent page, and the login session that the provider
// reads when it answers an authorization request.
//
// # Routes
//
// [Service.Routes] mounts, below the issuer's path (empty for an issuer at the root of its host):
//
//	GET  /login                  password form; ?return_to=…&prompt=…&login_hint=…
//	POST /login                  check the password; to /login/otp or straight to return_to
//	GET  /login/otp              second-factor form (only with a pending-login cookie)
//	POST /login/otp              check the TOTP code; to return_to
//	GET  /consent                approve or deny scopes; ?request=<pending consent id>
//	POST /consent                record the decision; to return_to
//	GET  /assets/login/login.css the embedded stylesheet (no CDN, no JavaScript anywhere)
//
// Every POST is wrapped in [net/http.CrossOriginProtection] and also carries a per-form token checked
// in constant time: a double-submit cookie on /login (there is no session yet), the pending-login
// record's token on /login/otp, and the login session's CSRF token on /consent.
//
// # The sign-in state machine
//
//	(no session) --POST /login ok, no TOTP------------------------------> session, amr [pwd], acr "1"
//	(no session) --POST /login ok, TOTP enrolled--> pending login (5 min, cookie)
//	pending      --POST /login/otp ok----------------------------------> session, amr [pwd otp mfa], acr "2"
//	pending      --5 wrong codes or expiry--> (no session)
//	session      --idle timeout (record TTL) or absolute timeout (ExpiresAt)--> (no session)
//	session      --EndLoginSession / EndAllSessions / another user's login in the browser--> (no session)
//	session      --the same user's login in the same browser (a step-up)--> renewed session
//
// A new login always gets a new random session id (no fixation). The browser's previous session,
// if any, is ended first when it belongs to another user; when the same user signs in again it is
// renewed instead: the new session keeps its sid (SIDOf) and the clients recorded under it
// (RecordClient), and no hook runs. Whenever this package ends a login session it calls the
// OnLoginSessionEnded hooks; a session that silently expires by its idle TTL in storage is not
// reported (nothing observes it).
//
// # Rate limiting and errors
//
// Failed attempts (wrong password, unknown or disabled user, wrong or replayed code) are counted in
// fixed windows per case-folded username and per client IP (IPv6: per /64), in storage so that the
// limit holds across replicas. An attempt is checked before any password hash is computed; over the
// limit the page answers 429 with Retry-After, even for the right password. Unknown user, wrong
// password and disabled user all get the same text, and an unknown user costs one argon2id hash
// against a fixed dummy hash so that timing does not tell them apart.
//
// # return_to
//
// The pages take a return_to that must be a same-origin path relative to the issuer and start with
// "/oauth2/auth?" (an authorization request to resume) or "/account/". [ValidateReturnTo] is strict:
// no scheme, host, backslash, control character, fragment, encoded slash or dot, or unclean path.
//
// # Consent
//
// The consent page never trusts query parameters for what it shows. The provider calls
// [Service.ConsentURL], which stores a pending consent record (return_to, client id and name, scopes)
// under a random 256-bit id for 15 minutes and returns /consent?request=<id>; a user has at most 16
// such questions outstanding (older ones are dropped, so a user asking in a loop cannot fill
// storage). The page shows that
// record, and its POST (bound to the login session's CSRF token) approves or denies it once: the
// record is deleted when the decision is taken. Approval is remembered per subject and client as the
// union of approved scopes ([Service.HasConsent], [Service.GrantConsent]); denial sends the browser
// back to return_to with [ConsentDeniedParam]=denied so the provider can answer access_denied.
//
// # Storage
//
// login consumes the small [Store] interface (a subset of storage.Store) and keeps its ephemeral
// state in TTL'd records: pending logins, pending consents, used TOTP steps, rate-limit counters and
// remembered consents. Every storage error that wraps storage.ErrUnavailable turns a page into 503;
// it is never reported as a wrong password.
//
// login imports storage (types and sentinels only) and the standard library, x/crypto/argon2 and
// pquerna/otp; it must not import the provider (oauth), exchange or config.
package login
