package oauth

import (
	"context"
	"fmt"

	"github.com/ory/fosite"
	"github.com/ory/fosite/token/jwt"

	"github.com/actas-dev/actas/oauth/keys"
)

// fixEdDSAAtHash corrects the at_hash of an EdDSA ID token in a token response. fosite derives the
// at_hash digest from the digits of the header alg ("RS256": SHA-256), which gives SHA-256 for
// "EdDSA"; relying parties (go-oidc among them) check it with SHA-512, the digest of Ed25519
// ([keys.HashFor]). The ID token, which this server has just signed, is signed again with the
// corrected claim. Other ID tokens are left as they are.
func (p *Provider) fixEdDSAAtHash(ctx context.Context, ar fosite.AccessRequester, resp fosite.AccessResponder) error {
	// The ID token's algorithm: the client's (a header on the session) or the server's default.
	alg := p.opts.IDTokenAlg
	if s, ok := ar.GetSession().(*Session); ok && s.DefaultSession != nil {
		if a, _ := s.IDTokenHeaders().Get("alg").(string); a != "" {
			alg = a
		}
	}
	idt, _ := resp.GetExtra("id_token").(string)
	if alg != keys.EdDSA || idt == "" || resp.GetAccessToken() == "" {
		return nil
	}
	tok, err := p.idSigner.Decode(ctx, idt)
	if err != nil {
		return fmt.Errorf("oauth: read back the ID token: %w", err)
	}
	if tok.Header["alg"] != keys.EdDSA {
		return nil
	}
	if _, ok := tok.Claims["at_hash"]; !ok {
		return nil
	}
	h, err := keys.TokenHash(keys.EdDSA, resp.GetAccessToken())
	if err != nil {
		return err
	}
	tok.Claims["at_hash"] = h
	headers := &jwt.Headers{Extra: map[string]any{}}
	for k, v := range tok.Header {
		if k != "kid" { // the signer sets the kid of the key it signs with
			headers.Add(k, v)
		}
	}
	signed, _, err := p.idSigner.Generate(ctx, tok.Claims, headers)
	if err != nil {
		return fmt.Errorf("oauth: sign the ID token again: %w", err)
	}
	resp.SetExtra("id_token", signed)
	return nil
}
