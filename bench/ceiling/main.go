// Command ceiling is a yardstick, not a part of actas: a bare HTTP handler doing the least an
// impersonation exchange must do (verify the actor's ES256 token, three sequential Redis commands,
// sign an ES256 token, answer JSON), with nothing else: no OAuth framework, client
// authentication, policy, audit trail or logging. Loaded like actas (bench/load -scenario
// ceiling), it shows what the machine allows at all, so that actas's own figures can be read
// against it.
//
//	go run ./bench/ceiling -redis redis://127.0.0.1:6379/0 &
//	go run ./bench/load -scenario ceiling -url http://127.0.0.1:8091 -c 50 -d 10s
//
// -writes 1 sends the two writes in one round trip (a pipeline), for two sequential round trips.
// It listens on loopback only and keeps its keys under "ceiling:", each expiring within seconds.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/redis/go-redis/v9"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8091", "listen address (loopback)")
	redisURL := flag.String("redis", "redis://127.0.0.1:6379/0", "Redis URL")
	writes := flag.Int("writes", 2, "round trips for the two writes: 2 (one each, three sequential commands in all) or 1 (pipelined)")
	auto := flag.Bool("auto-pipeline", true, "go-redis automatic pipelining, as actas uses by default")
	flag.Parse()
	if err := run(*addr, *redisURL, *writes, *auto); err != nil {
		fmt.Fprintln(os.Stderr, "ceiling:", err)
		os.Exit(1)
	}
}

type server struct {
	key   *ecdsa.PrivateKey
	pub   jose.JSONWebKey
	cmd   redis.Cmdable // the client, or its automatic pipeliner
	rdb   *redis.Client
	piped bool
}

func run(addr, redisURL string, writes int, auto bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		return fmt.Errorf("-addr %q: loopback only", addr)
	}
	if writes != 1 && writes != 2 {
		return fmt.Errorf("-writes is 1 or 2, not %d", writes)
	}
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	var cmd redis.Cmdable = rdb
	if auto {
		p, err := rdb.AutoPipeline()
		if err != nil {
			return err
		}
		cmd = p
	}
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	s := &server{key: key, pub: jose.JSONWebKey{Key: &key.PublicKey, Algorithm: "ES256"}, cmd: cmd, rdb: rdb, piped: writes == 1}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /actor", s.actor)
	mux.HandleFunc("POST /token", s.token)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	log.Printf("ceiling: listening on %s, Redis %s, writes in %d round trip(s)", addr, opt.Addr, writes)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// actor hands out an actor token for the load to use.
func (s *server) actor(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	tok, err := s.sign(map[string]any{"sub": "agent", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = w.Write([]byte(tok))
}

type claims struct {
	Sub string `json:"sub"`
	Exp int64  `json:"exp"`
}

func (s *server) token(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	subject, actorToken := r.PostForm.Get("subject"), r.PostForm.Get("actor_token")
	jws, err := jose.ParseSigned(actorToken, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		http.Error(w, "bad actor token", http.StatusBadRequest)
		return
	}
	payload, err := jws.Verify(s.pub)
	var c claims
	if err == nil {
		err = json.Unmarshal(payload, &c)
	}
	if err != nil || c.Exp < time.Now().Unix() || subject == "" {
		http.Error(w, "bad actor token", http.StatusBadRequest)
		return
	}
	id := strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := s.cmd.Get(ctx, "ceiling:user:"+subject).Err(); err != nil && !errors.Is(err, redis.Nil) {
		http.Error(w, "storage", http.StatusServiceUnavailable)
		return
	}
	lock, session := "ceiling:lock:"+c.Sub+":"+id, "ceiling:session:"+id
	if s.piped {
		_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.SetNX(ctx, lock, id, time.Second)
			p.Set(ctx, session, subject, time.Second)
			return nil
		})
	} else if err = s.cmd.SetNX(ctx, lock, id, time.Second).Err(); err == nil {
		err = s.cmd.Set(ctx, session, subject, time.Second).Err()
	}
	if err != nil {
		http.Error(w, "storage", http.StatusServiceUnavailable)
		return
	}
	now := time.Now()
	tok, err := s.sign(map[string]any{"sub": subject, "act": map[string]string{"sub": c.Sub}, "sid": id,
		"iat": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(), "jti": id})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 900})
}

// sign writes a compact ES256 JWS (RFC 7515 §7.1) with the standard library, as actas's signer does.
func (s *server) sign(c map[string]any) (string, error) {
	body, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	in := enc.EncodeToString([]byte(`{"alg":"ES256","typ":"JWT"}`)) + "." + enc.EncodeToString(body)
	h := sha256.Sum256([]byte(in))
	r, ss, err := ecdsa.Sign(rand.Reader, s.key, h[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	ss.FillBytes(sig[32:])
	return in + "." + enc.EncodeToString(sig), nil
}
