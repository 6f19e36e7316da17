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

// errLimitReached aborts a reservation on a counter that is already at its maximum.
var errLimitReached = errors.New("login: attempt limit reached")

// reserve counts the attempt as a failure on every key before it is verified, atomically per key
// (UpdateRecord), and returns how long to wait (0: go on) when a counter already holds its
// maximum in the current window; nothing stays counted then. Counting first means attempts sent
// at once cannot all pass a check made before any of them failed, and a limited attempt costs no
// password hash and reveals nothing, even when the password is right. An attempt that does not
// fail (a success, or a server error) gives its count back with release.
func (s *Service) reserve(ctx context.Context, keys []limitKey) (time.Duration, error) {
	now := s.now()
	for i, k := range keys {
		var end time.Time
		// The TTL is a whole window from this attempt: the record may outlive its window, in which
		// case the next attempt starts a new one.
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
			if a.Count >= k.max {
				end = a.WindowStart.Add(s.window)
				return nil, errLimitReached
			}
			a.Count++
			return json.Marshal(a)
		})
		switch {
		case errors.Is(err, errLimitReached):
			s.release(ctx, keys[:i])
			return max(end.Sub(now), time.Second), nil
		case err != nil:
			s.release(ctx, keys[:i])
			return 0, fmt.Errorf("login: count attempt: %w", err)
		}
	}
	return 0, nil
}

// release gives back the count reserve took on keys, for an attempt that did not fail. A failure
// to give it back is logged: the attempt then counts as a failure, which errs on the safe side.
func (s *Service) release(ctx context.Context, keys []limitKey) {
	ctx = context.WithoutCancel(ctx)
	for _, k := range keys {
		err := s.store.UpdateRecord(ctx, kindAttempts, k.id, storage.KeepTTL, func(cur []byte) ([]byte, error) {
			var a attempts
			if err := json.Unmarshal(cur, &a); err != nil {
				return nil, err
			}
			if a.Count > 0 {
				a.Count--
			}
			return json.Marshal(a)
		})
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			s.log.WarnContext(ctx, "login: give back an attempt", "err", err)
		}
	}
}

// retryAfterSeconds renders a wait for the Retry-After header (RFC 9110 §10.2.3), rounded up.
func retryAfterSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}
