package oauth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ory/fosite"
	"github.com/ory/fosite/token/jwt"

	"github.com/actas-dev/actas/oauth/keys"
)

// fixEdDSAAtHash corrects the at_hash of an EdDSA ID token in a token response. fosite derives the
// at_hash digest from the digits of the header alg ("RS256": SHA-256), which gives SHA-256 for
// "EdDSA"; relying parties (go-oidc among them) check it with SHA-512, the digest of Ed25519
// ([keys.HashFor]). The ID token, which this server has just signed, is signed again with the
// corrected claim. Other ID tokens are left as they are.
func (p *Provider) fixEdDSAAtHash(ctx context.Context, resp fosite.AccessResponder) error {
	idt, _ := resp.GetExtra("id_token").(string)
	parts := strings.Split(idt, ".")
	if len(parts) != 3 {
		return nil
	}
	var hdr map[string]any
	if err := decodeSegment(parts[0], &hdr); err != nil {
		return fmt.Errorf("oauth: ID token header: %w", err)
	}
	if hdr["alg"] != keys.EdDSA {
		return nil
	}
	var claims map[string]any
	if err := decodeSegment(parts[1], &claims); err != nil {
		return fmt.Errorf("oauth: ID token claims: %w", err)
	}
	if _, ok := claims["at_hash"]; !ok || resp.GetAccessToken() == "" {
		return nil
	}
	h, err := keys.TokenHash(keys.EdDSA, resp.GetAccessToken())
	if err != nil {
		return err
	}
	claims["at_hash"] = h
	headers := &jwt.Headers{Extra: map[string]any{}}
	for k, v := range hdr {
		if k != "kid" { // the signer sets the kid of the key it signs with
			headers.Add(k, v)
		}
	}
	tok, _, err := p.idSigner.Generate(ctx, jwt.MapClaims(claims), headers)
	if err != nil {
		return fmt.Errorf("oauth: sign the ID token again: %w", err)
	}
	resp.SetExtra("id_token", tok)
	return nil
}

// decodeSegment decodes one base64url segment of a compact JWS into out, keeping numbers exact.
func decodeSegment(seg string, out any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(out)
}
