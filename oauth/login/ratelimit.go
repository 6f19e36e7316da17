package login

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/actas-dev/actas/storage"
)

// kindAttempts holds failed-attempt counters, one record per username and per client IP, so the
// limit holds across replicas sharing the store. A record lives as long as its window.
const kindAttempts = "login_attempts"

// attempts is a fixed-window counter of failed sign-in attempts.
type attempts struct {
	Count       int       `json:"count"`
	WindowStart time.Time `json:"window_start"`
}

type limitKey struct {
	id  string
	max int
}

// limitKeys are the counters one attempt touches: the username (case-folded, whether or not the
// user exists, so the limit does not reveal which usernames exist) and the client IP.
func (s *Service) limitKeys(r *http.Request, username string) []limitKey {
	return []limitKey{
		{id: "user:" + hashID(strings.ToLower(username)), max: s.maxUser},
		{id: "ip:" + hashID(ipKey(s.clientIP(r))), max: s.maxIP},
	}
}

// limited returns how long to wait when any counter already holds its maximum of failures in the
// current window (0 when the attempt may proceed). Checking before verifying means a limited
// attempt costs no password hash and reveals nothing, even when the password is right.
func (s *Service) limited(ctx context.Context, keys []limitKey) (time.Duration, error) {
	now := s.now()
	var wait time.Duration
	for _, k := range keys {
		var a attempts
		err := s.store.GetRecord(ctx, kindAttempts, k.id, &a)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			continue
		case err != nil:
			return 0, fmt.Errorf("login: read attempts: %w", err)
		}
		end := a.WindowStart.Add(s.window)
		if a.Count >= k.max && now.Before(end) {
			wait = max(wait, end.Sub(now))
		}
	}
	return wait, nil
}

// recordFailure counts one failed attempt on every key, atomically per key (UpdateRecord).
func (s *Service) recordFailure(ctx context.Context, keys []limitKey) error {
	now := s.now()
	for _, k := range keys {
		// The TTL is a whole window from this failure: the record may outlive its window, in which
		// case the next failure starts a new one.
		err := s.store.UpdateRecord(ctx, kindAttempts, k.id, s.window, func(cur []byte) ([]byte, error) {
			var a attempts
			if cur != nil {
				if err := json.Unmarshal(cur, &a); err != nil {
					a = attempts{}
				}
			}
			if a.WindowStart.IsZero() || !now.Before(a.WindowStart.Add(s.window)) {
				a = attempts{WindowStart: now}
			}
			a.Count++
			return json.Marshal(a)
		})
		if err != nil {
			return fmt.Errorf("login: count attempt: %w", err)
		}
	}
	return nil
}

// retryAfterSeconds renders a wait for the Retry-After header (RFC 9110 §10.2.3), rounded up.
func retryAfterSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}
