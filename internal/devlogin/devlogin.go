// Package devlogin signs a user in to actas from a program the way a person at a browser would:
// it follows the authorization code flow with PKCE through the login, TOTP and consent pages and
// fills in their forms. It exists for demo walkthroughs (examples/login) and the load command
// (bench/load), against `actas serve --dev`; it is not an API and not for production use.
package devlogin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"
)

var (
	formRe  = regexp.MustCompile(`(?s)<form[^>]*action="([^"]*)"[^>]*>(.*?)</form>`)
	inputRe = regexp.MustCompile(`<input[^>]*>`)
	attrRe  = regexp.MustCompile(`(\w+)="([^"]*)"`)
)

// Login signs user in at issuer through the login, TOTP and consent pages, as a browser would, and
// redeems the code (with PKCE) for tokens of the client. totpSecret may be empty for users without
// a second factor; clientSecret is empty for a public client.
func Login(issuer, user, password, totpSecret, clientID, clientSecret, redirect string, scopes []string) (*oauth2.Token, error) {
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
	lastStep := int64(-1) // the step of the code this call sent last
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
			// actas takes each code once, and every refused code counts as a failed attempt: a
			// second sign-in in the same 30 s window (this process's, or an earlier run's with
			// RememberCodes) waits for the next code instead.
			now := time.Now()
			if step(now) == lastStep || (RememberCodes && usedStep(issuer, user) == step(now)) {
				wait := time.Unix((step(now)+1)*int64(totpStep/time.Second), 0).Sub(now) + 500*time.Millisecond
				fmt.Fprintf(os.Stderr, "devlogin: %s's current TOTP code was just used; waiting %s for the next one\n", user, wait.Round(time.Second))
				time.Sleep(wait)
				now = time.Now()
			}
			code, err := totp.GenerateCode(totpSecret, now)
			if err != nil {
				return nil, err
			}
			lastStep = step(now)
			if RememberCodes {
				rememberStep(issuer, user, lastStep)
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

// RememberCodes makes [Login] keep, per issuer and user, the TOTP step whose code it last sent in
// the user's cache directory, so that a second run within the same 30 s waits for the next code
// instead of sending a used one (examples/login sets it; a load generator signing in thousands of
// distinct users does not).
var RememberCodes bool

// totpStep is the TOTP period actas uses (RFC 6238's default).
const totpStep = 30 * time.Second

// step is the TOTP time step of t.
func step(t time.Time) int64 { return t.Unix() / int64(totpStep/time.Second) }

// stepFile is where the last step whose code was sent for user at issuer is kept between runs (the
// user's cache directory; a dev tool's convenience, so every error is ignored).
func stepFile(issuer, user string) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	h := sha256.Sum256([]byte(issuer + "\x00" + user))
	return filepath.Join(dir, "actas-devlogin", hex.EncodeToString(h[:8]))
}

// usedStep returns the step whose code was last sent for user at issuer, or -1.
func usedStep(issuer, user string) int64 {
	f := stepFile(issuer, user)
	if f == "" {
		return -1
	}
	b, err := os.ReadFile(f)
	if err != nil {
		return -1
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// rememberStep records that the code of step s was sent for user at issuer.
func rememberStep(issuer, user string, s int64) {
	f := stepFile(issuer, user)
	if f == "" || os.MkdirAll(filepath.Dir(f), 0o700) != nil {
		return
	}
	_ = os.WriteFile(f, []byte(strconv.FormatInt(s, 10)), 0o600)
}
