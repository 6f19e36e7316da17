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
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"
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
	tok, err := run(*issuer, *user, *password, *secret, *clientID, *clientSecret, *redirect, strings.Fields(*scope))
	if err != nil {
		log.Fatal(err)
	}
	out := map[string]any{"access_token": tok.AccessToken, "token_type": tok.TokenType, "expires_in": tok.ExpiresIn,
		"refresh_token": tok.RefreshToken, "id_token": tok.Extra("id_token")}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}

var (
	formRe  = regexp.MustCompile(`(?s)<form[^>]*action="([^"]*)"[^>]*>(.*?)</form>`)
	inputRe = regexp.MustCompile(`<input[^>]*>`)
	attrRe  = regexp.MustCompile(`(\w+)="([^"]*)"`)
)

func run(issuer, user, password, totpSecret, clientID, clientSecret, redirect string, scopes []string) (*oauth2.Token, error) {
	conf := &oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirect, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: issuer + "/oauth2/auth", TokenURL: issuer + "/oauth2/token"}}
	verifier := oauth2.GenerateVerifier()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 15 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if !strings.HasPrefix(req.URL.String(), issuer) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := c.Get(conf.AuthCodeURL("state-"+fmt.Sprint(time.Now().UnixNano()), oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		return nil, fmt.Errorf("is `actas serve --dev` running at %s? %w", issuer, err)
	}
	for range 6 {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && strings.HasPrefix(loc, redirect) {
			u, _ := url.Parse(loc)
			if e := u.Query().Get("error"); e != "" {
				return nil, fmt.Errorf("authorization: %s: %s", e, u.Query().Get("error_description"))
			}
			return conf.Exchange(context.Background(), u.Query().Get("code"), oauth2.VerifierOption(verifier))
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s answered %d: %s", resp.Request.URL.Path, resp.StatusCode, body)
		}
		fields := map[string]string{}
		switch p := resp.Request.URL.Path; {
		case strings.HasSuffix(p, "/login"):
			fields = map[string]string{"username": user, "password": password}
		case strings.HasSuffix(p, "/login/otp"):
			if totpSecret == "" {
				return nil, errors.New("the user has a second factor: give -totp-secret")
			}
			code, err := totp.GenerateCode(totpSecret, time.Now())
			if err != nil {
				return nil, err
			}
			fields = map[string]string{"code": code}
		case strings.HasSuffix(p, "/consent"):
			fields = map[string]string{"action": "approve"}
		default:
			return nil, fmt.Errorf("unexpected page %s", p)
		}
		if resp, err = submit(c, resp.Request.URL, string(body), fields, issuer); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("login did not finish")
}

// submit posts the page's form with its hidden fields and fields.
func submit(c *http.Client, base *url.URL, body string, fields map[string]string, origin string) (*http.Response, error) {
	m := formRe.FindStringSubmatch(body)
	if m == nil {
		return nil, fmt.Errorf("no form at %s (wrong password?)", base.Path)
	}
	action, _ := base.Parse(html.UnescapeString(m[1]))
	vals := url.Values{}
	for _, in := range inputRe.FindAllString(m[2], -1) {
		a := map[string]string{}
		for _, kv := range attrRe.FindAllStringSubmatch(in, -1) {
			a[kv[1]] = html.UnescapeString(kv[2])
		}
		if a["type"] == "hidden" && a["name"] != "" {
			vals.Set(a["name"], a["value"])
		}
	}
	for k, v := range fields {
		vals.Set(k, v)
	}
	req, _ := http.NewRequest(http.MethodPost, action.String(), strings.NewReader(vals.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", origin)
	return c.Do(req)
}
