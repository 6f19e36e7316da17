package exchange

import "slices"

// Whose tokens may a client exchange? Not anyone's: a token of one application must never buy
// rights at another (the bug class of ZITADEL's token-exchange advisory). Each rule below answers
// invalid_request (RFC 8693 §2.2.2: the token is unacceptable).
//
//  1. A subject access token (or JWT) issued by actas must have been issued to the calling client,
//     or to a client listed in the caller's exchange_for.
//  2. A subject refresh token must have been issued to the calling client itself.
//  3. An actor access token issued by actas must have actas in its audience, or have been issued
//     to the calling client.
//  4. An actor ID token issued by actas must name the calling client in its aud (checked while
//     verifying it).
//  5. A trusted issuer's token must name that issuer's configured audience (checked while
//     verifying it), and the caller must be one of the issuer's allowed clients when a list is
//     configured.
//  6. A hand-off code (subject_token_type urn:actas:params:oauth:token-type:handoff_code) may be
//     redeemed only by the client it was issued for (checked by the redeemer, [HandoffRedeemer]);
//     it is the one subject a public client may present. Any other client is refused with
//     handoff_wrong_client, and the code stays usable by its own client.

// checkSubjectOwner applies rules 1 and 2.
func (h *Handler) checkSubjectOwner(c *client, t *token) error {
	if !t.local {
		return nil // rule 5, applied by the trusted issuer's verifier
	}
	if t.clientID == c.id {
		return nil
	}
	if t.typ == TokenTypeRefreshToken {
		return badRequest("The subject refresh token was issued to another client; a refresh token can only be exchanged by its own client.")
	}
	if slices.Contains(c.exchangeFor, t.clientID) {
		return nil
	}
	return badRequest("The subject token was issued to the client '%s', whose tokens this client may not exchange (see the client's exchange_for).", clip(t.clientID))
}

// checkActorAudience applies rule 3 (rules 4 and 5 are part of verification).
func (h *Handler) checkActorAudience(c *client, t *token) error {
	if !t.local || t.typ == TokenTypeIDToken {
		return nil
	}
	if slices.Contains(t.audience, h.issuer) || t.clientID == c.id {
		return nil
	}
	return badRequest("The actor token is not meant for this server: its audience must contain '%s', or it must have been issued to this client.", h.issuer)
}
