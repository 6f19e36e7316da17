// Command mobile stands in for a mobile app that receives a hand-off from a support agent
// (docs/mobile.md): it accepts the hand-off link, redeems the one-time code at actas as the public
// client demo-mobile (client_id only, no secret), calls userinfo with the access token it got, and
// prints who it is signed in as and who is acting. It never prints a token.
//
// The link, as an app receives it from its intent filter or URL scheme handler:
//
//	go run ./examples/mobile 'com.example.actasdemo:/handoff#code=<code>'
//
// Or as a streamed device in a browser receives it, a launch parameter carrying the code (never a
// token), posted to a local listener standing in for the device's launch API:
//
//	go run ./examples/mobile -listen 127.0.0.1:5558
//	curl -d code=<code> http://127.0.0.1:5558/launch
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"
)

// config is what the app knows about itself and its server.
type config struct {
	issuer     string
	clientID   string
	handoffURI string // the hand-off URI the app registered: it accepts only links that start with it
	scope      string
	httpClient *http.Client
}

func main() {
	var c config
	flag.StringVar(&c.issuer, "issuer", "http://127.0.0.1:8080", "actas issuer URL")
	flag.StringVar(&c.clientID, "client-id", "demo-mobile", "the app's (public) client id")
	flag.StringVar(&c.handoffURI, "handoff-uri", "com.example.actasdemo:/handoff", "the app's registered hand-off URI")
	flag.StringVar(&c.scope, "scope", "openid offline_access", "scopes to ask for (within the representation's)")
	listen := flag.String("listen", "", "instead of a link argument, accept launch parameters (code=…) at POST http://<addr>/launch")
	flag.Parse()
	c.httpClient = &http.Client{Timeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	if *listen != "" {
		if err := serve(ctx, c, *listen, os.Stdout); err != nil {
			log.Fatal(err)
		}
		return
	}
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: mobile [flags] '<hand-off link>'   or   mobile -listen 127.0.0.1:5558")
		os.Exit(2)
	}
	code, err := codeFromLink(flag.Arg(0), c.handoffURI)
	if err != nil {
		log.Fatal(err)
	}
	if err := run(ctx, c, code, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// codeFromLink takes the code out of a hand-off link: the link must start with the app's own
// hand-off URI (an app handles only its links), and carry the code in its fragment (`#code=`),
// where actas puts it so that it never reaches a web server.
func codeFromLink(link, handoffURI string) (string, error) {
	base, frag, ok := strings.Cut(link, "#")
	if !ok || base != handoffURI {
		return "", fmt.Errorf("not a hand-off link of this app (want %s#code=…)", handoffURI)
	}
	v, err := url.ParseQuery(frag)
	if err != nil || len(v["code"]) != 1 || v.Get("code") == "" {
		return "", errors.New("the hand-off link carries no code")
	}
	return v.Get("code"), nil
}

// serve accepts launch parameters at POST /launch (form field code, or link), as a streamed
// device's launch API would, and redeems each.
func serve(ctx context.Context, c config, addr string, out io.Writer) error {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /launch", func(w http.ResponseWriter, r *http.Request) {
		code := r.PostFormValue("code")
		if link := r.PostFormValue("link"); code == "" && link != "" {
			var err error
			if code, err = codeFromLink(link, c.handoffURI); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		if code == "" {
			http.Error(w, "send code=<hand-off code> (or link=<hand-off link>)", http.StatusBadRequest)
			return
		}
		if err := run(r.Context(), c, code, io.MultiWriter(out, w)); err != nil {
			fmt.Fprintln(out, "hand-off failed:", err)
			http.Error(w, err.Error(), http.StatusBadGateway)
		}
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	fmt.Fprintf(out, "waiting for launch parameters at http://%s/launch\n", addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// run redeems the code, calls userinfo and prints who the app is signed in as.
func run(ctx context.Context, c config, code string, out io.Writer) error {
	var disc struct {
		TokenEndpoint    string `json:"token_endpoint"`
		UserinfoEndpoint string `json:"userinfo_endpoint"`
	}
	if err := c.getJSON(ctx, strings.TrimSuffix(c.issuer, "/")+"/.well-known/openid-configuration", "", &disc); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	form := url.Values{
		"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token":      {code},
		"subject_token_type": {"urn:actas:params:oauth:token-type:handoff_code"},
		"client_id":          {c.clientID}, // a public client: its id, no secret; the code is the credential
	}
	if c.scope != "" {
		form.Set("scope", c.scope)
	}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    int64  `json:"expires_in"`
		Scope        string `json:"scope"`
		Error        string `json:"error"`
		Description  string `json:"error_description"`
		ReasonCode   string `json:"reason_code"`
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, disc.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := c.do(req, &tok); err != nil {
		return fmt.Errorf("redeem: %w", err)
	}
	if tok.Error != "" || tok.AccessToken == "" {
		code := tok.Error
		if tok.ReasonCode != "" {
			code += " (" + tok.ReasonCode + ")"
		}
		return fmt.Errorf("redemption refused: %s: %s", code, tok.Description)
	}
	var who map[string]any
	if err := c.getJSON(ctx, disc.UserinfoEndpoint, tok.AccessToken, &who); err != nil {
		return fmt.Errorf("userinfo: %w", err)
	}
	act, _ := who["act"].(map[string]any)
	fmt.Fprintf(out, "signed in to %s as %v", c.clientID, who["sub"])
	if name, ok := who["preferred_username"]; ok {
		fmt.Fprintf(out, " (%v)", name)
	}
	fmt.Fprintln(out)
	if act != nil {
		fmt.Fprintf(out, "acting: %v (representation %v)\n", act["sub"], who["sid"])
	} else {
		fmt.Fprintln(out, "acting: nobody — this is not an impersonation")
	}
	fmt.Fprintf(out, "access token expires in %ds; refresh token: %t\n", tok.ExpiresIn, tok.RefreshToken != "")
	b, _ := json.MarshalIndent(who, "", "  ")
	fmt.Fprintf(out, "userinfo: %s\n", b)
	return nil
}

func (c config) getJSON(ctx context.Context, u, bearer string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return c.do(req, out)
}

// do sends req and decodes a JSON answer (error answers of the token endpoint are JSON too).
func (c config) do(req *http.Request, out any) error {
	resp, err := c.httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s: status %d, not JSON", req.URL.Path, resp.StatusCode)
	}
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusBadRequest {
		return fmt.Errorf("%s: status %d", req.URL.Path, resp.StatusCode)
	}
	return nil
}
