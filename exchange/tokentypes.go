package exchange

// GrantType is the RFC 8693 §2.1 grant type.
const GrantType = "urn:ietf:params:oauth:grant-type:token-exchange"

// Token type identifiers (RFC 8693 §3) and actas's own user-id type.
const (
	TokenTypeAccessToken  = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeRefreshToken = "urn:ietf:params:oauth:token-type:refresh_token"
	TokenTypeIDToken      = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeJWT          = "urn:ietf:params:oauth:token-type:jwt"
	// TokenTypeUserID names a user by id as the subject of an impersonation. It is not a token: it
	// is accepted only together with an actor token and the scope [ScopeImpersonation].
	TokenTypeUserID = "urn:actas:params:oauth:token-type:user_id"
	// TokenTypeHandoffCode is a one-time hand-off code (docs/mobile.md) as the subject token of
	// its redemption by the client it was issued for. It is accepted only as a subject, alone.
	TokenTypeHandoffCode = "urn:actas:params:oauth:token-type:handoff_code"
)

// ScopeImpersonation is the scope that asks for an impersonation. It is never granted into an
// issued token.
const ScopeImpersonation = "impersonation"

// ScopeOfflineAccess asks for a refresh token (OIDC Core §11); the exchange issues one only when
// it is requested explicitly and the client may use the refresh_token grant.
const ScopeOfflineAccess = "offline_access"

// use is the set of roles a token type may play in a request.
type use uint8

const (
	useSubject use = 1 << iota
	useActor
	useIssue // may be asked for as requested_token_type
	useImpersonationSubject
	useHandoffSubject
)

// tokenTypes is the registry of the token types this server understands, and where each may
// appear. Explicit typing keeps kinds apart (RFC 8725 §3.11-3.12): an ID token is never accepted
// where an access token is expected, nor the reverse; a refresh token is a subject only; a user
// id only names the target of an impersonation.
var tokenTypes = map[string]use{
	TokenTypeAccessToken:  useSubject | useActor | useIssue,
	TokenTypeJWT:          useSubject | useActor | useIssue,
	TokenTypeIDToken:      useActor | useIssue,
	TokenTypeRefreshToken: useSubject,
	TokenTypeUserID:       useImpersonationSubject,
	TokenTypeHandoffCode:  useHandoffSubject,
}

// typeAllows reports whether token type t is registered for u.
func typeAllows(t string, u use) bool { return tokenTypes[t]&u != 0 }

// shortType names a token type URI briefly for error descriptions.
func shortType(t string) string {
	switch t {
	case TokenTypeAccessToken:
		return "access token"
	case TokenTypeRefreshToken:
		return "refresh token"
	case TokenTypeIDToken:
		return "ID token"
	case TokenTypeJWT:
		return "JWT"
	case TokenTypeUserID:
		return "user id"
	case TokenTypeHandoffCode:
		return "hand-off code"
	}
	return "token"
}
