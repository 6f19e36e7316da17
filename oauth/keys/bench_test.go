package keys

import (
	"testing"
)

func BenchmarkSign(b *testing.B) {
	h := NewHolder(stdSet(b))
	for _, alg := range SupportedAlgs() {
		b.Run(alg, func(b *testing.B) {
			s := h.Signer(alg)
			claims := claimsValid()
			hdr := jwtHeaders(map[string]any{"typ": "at+jwt"})
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := s.Generate(b.Context(), claims, hdr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	h := NewHolder(stdSet(b))
	for _, alg := range SupportedAlgs() {
		b.Run(alg, func(b *testing.B) {
			s := h.Signer(alg)
			tok, _, err := s.Generate(b.Context(), claimsValid(), jwtHeaders(nil))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Validate(b.Context(), tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerifyJWT(b *testing.B) {
	h := NewHolder(stdSet(b))
	tok, _, err := h.Signer(ES256).Generate(b.Context(), claimsValid(), jwtHeaders(map[string]any{"typ": "at+jwt"}))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.VerifyJWT(tok, "at+jwt"); err != nil {
			b.Fatal(err)
		}
	}
}
