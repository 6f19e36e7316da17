// Package exchange is actas's RFC 8693 OAuth 2.0 Token Exchange grant
// (urn:ietf:params:oauth:grant-type:token-exchange) at the token endpoint, in four forms:
//
//   - downscoping: a subject token alone, exchanged for a token with fewer scopes, a narrower
//     audience or a shorter life; `sub` and any `act` are kept;
//   - delegation: a subject token and an actor token; the issued token keeps the subject's `sub`
//     and gains `act` = the actor, nesting any `act` the subject token had (RFC 8693 §4.1),
//     honouring `may_act` (§4.4) and bounded in depth;
//   - impersonation: subject_token_type urn:actas:params:oauth:token-type:user_id names a user, the
//     actor token is the agent's, and the scope `impersonation` is requested; the policy engine
//     ([Decider]) decides, a representation session is opened ([Representations]) and the issued
//     token has `sub` = the user, `act` = the agent and `sid` = the representation;
//   - hand-off: a public client (a mobile app) redeems a one-time hand-off code
//     (urn:actas:params:oauth:token-type:handoff_code) for the impersonation tokens of a
//     representation (handoff_*.go, docs/mobile.md).
//
// The package also owns the representation lifecycle (rep_*.go: [Service], the one-active-per-
// agent lock, stop, cascades, back-channel logout), the consent workflow (consent_*.go) and the
// policy API (policyapi.go).
//
// # Phases
//
// [Handler.HandleTokenEndpointRequest] runs a fixed order of phases: the client must be
// registered for the grant and confidential (a public client only with a hand-off code); the form is parsed once into a typed [Request]
// (request.go); the subject and actor tokens are verified by type (verify.go for actas's own
// tokens, trusted.go and jwks.go for trusted issuers); the "whose tokens may a client exchange"
// rules are applied (rules.go); then the form-specific decisions (forms.go, impersonate.go), which
// end in exactly one place that writes the issued token's `sub` (bindSession).
// [Handler.PopulateTokenEndpointResponse] issues the tokens (issue.go) and writes the audit event (while the tokens are stored; both before the answer).
//
// Every refusal is an RFC 6749 §5.2 error built from fresh values (fosite's WithHint copies):
// invalid_request for bad or unacceptable tokens and policy denials (RFC 8693 §2.2.2),
// invalid_target ([ErrInvalidTarget]) for an audience or resource that will not be served,
// invalid_scope and unauthorized_client. Denials with a stable machine-readable reason carry it as
// "[reason=<code>]" at the start of the error description, and as a *[Denial] in the error chain
// ([ReasonCode] extracts it). A storage outage keeps wrapping storage.ErrUnavailable, so the
// provider answers 503 and nothing is issued.
//
// # Boundaries
//
// exchange imports oauth (session type, grant dependencies), policy and storage; oauth never
// imports exchange: cmd hands [Grant] to oauth.Options.Grants and [RefreshGuard] to
// oauth.Options.RefreshGuard. No token, secret or claim set is ever logged; log lines carry ids.
//
// See docs/exchange.md for the parameters, token types, claims, errors and reason codes.
package exchange
