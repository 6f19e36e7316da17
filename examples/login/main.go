// Command login signs a demo user in to `actas serve --dev` from a terminal, the way a person at a
// browser would (authorization code flow with PKCE through the login, TOTP and consent pages), and
// prints the token response as JSON. Walkthroughs and scripts use it to get an agent's token:
//
//	TOKEN=$(go run ./examples/login -user sam | jq -r .access_token)
//
// It computes the TOTP code from the user's demo secret (docs/dev.md), so it works only with demo
// accounts whose secret you pass or that it knows. It is a stand-in for a browser, not an API.
package main

import (
	"encoding/json"
	"flag"
	"log"
	"os"
	"strings"

	"github.com/actas-dev/actas/internal/devlogin"
)

// The demo data of `actas serve --dev` (docs/dev.md).
var demoTOTP = map[string]string{
	"sam": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "ada": "KRUGKIDROVUWG2ZAMJZG653OEBTG66BA",
	"sue": "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U", "otto": "ONSWG4TFOQQGC3TEEBZWK3DSMV2A2222",
}

func main() {
	issuer := flag.String("issuer", "http://127.0.0.1:8080", "actas issuer URL")
	user := flag.String("user", "sam", "username")
	password := flag.String("password", "", "password (default: <user>-demo-pass)")
	secret := flag.String("totp-secret", "", "TOTP secret (default: the demo user's)")
	clientID := flag.String("client-id", "demo-console", "client id")
	clientSecret := flag.String("client-secret", "demo-console-secret-7Qm2v9XrL4tB8nKcW1zY5pHd3sJf6gAe", "client secret (empty for a public client)")
	redirect := flag.String("redirect-uri", "http://127.0.0.1:5556/callback", "registered redirect URI")
	scope := flag.String("scope", "openid profile actas:impersonate offline_access", "scopes")
	flag.Parse()
	if *password == "" {
		*password = *user + "-demo-pass"
	}
	if *secret == "" {
		*secret = demoTOTP[*user]
	}
	devlogin.RememberCodes = true // a walkthrough signs sam in several times, often within 30 s
	tok, err := devlogin.Login(*issuer, *user, *password, *secret, *clientID, *clientSecret, *redirect, strings.Fields(*scope))
	if err != nil {
		log.Fatal(err)
	}
	out := map[string]any{"access_token": tok.AccessToken, "token_type": tok.TokenType, "expires_in": tok.ExpiresIn,
		"refresh_token": tok.RefreshToken, "id_token": tok.Extra("id_token")}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}
