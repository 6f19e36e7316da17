package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ory/fosite"
)

const clientsKey = "clients"

func clientKey(id string) string { return "client:{" + id + "}" }

func jtiKey(jti string) string { return "jti:{" + hashKey(jti) + "}" }

// UpsertClient writes c (no expiry: clients are seeded from configuration) and lists it.
func (s *Store) UpsertClient(ctx context.Context, c *Client) error {
	if c == nil || c.ID == "" {
		return errors.New("storage: upsert client: empty client id")
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("storage: encode client %q: %w", c.ID, err)
	}
	if err := s.kv.SetAdd(ctx, clientsKey, 0, c.ID); err != nil {
		return fmt.Errorf("storage: list client %q: %w", c.ID, err)
	}
	if err := s.kv.Set(ctx, clientKey(c.ID), raw, 0); err != nil {
		return fmt.Errorf("storage: upsert client %q: %w", c.ID, err)
	}
	s.clients.Delete(c.ID)
	return nil
}

// LoadClient returns the client as its concrete type, or ErrNotFound.
func (s *Store) LoadClient(ctx context.Context, id string) (*Client, error) {
	raw, err := s.kv.Get(ctx, clientKey(id))
	if err != nil {
		return nil, fmt.Errorf("storage: get client %q: %w", id, err)
	}
	var c Client
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("storage: decode client %q: %w", id, err)
	}
	return &c, nil
}

// GetClient implements fosite.ClientManager: the client as a fosite.Client (a *Client), or an
// error wrapping fosite.ErrNotFound.
//
// Clients come from configuration and change only when a process starts, so GetClient keeps each
// one in memory for StoreOptions.ClientCacheTTL (default 5s): the token endpoint then needs no
// storage round trip to authenticate a client. A change made by another replica is seen after at
// most that long; one made through this Store at once.
func (s *Store) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	now := s.opts.Now()
	if v, ok := s.clients.Load(id); ok {
		if e := v.(cachedClient); now.Before(e.exp) {
			return e.c, nil
		}
	}
	c, err := s.LoadClient(ctx, id)
	if err != nil {
		return nil, err
	}
	if s.opts.ClientCacheTTL > 0 {
		s.clients.Store(id, cachedClient{c: c, exp: now.Add(s.opts.ClientCacheTTL)})
	}
	return c, nil
}

type cachedClient struct {
	c   *Client
	exp time.Time
}

// ListClients returns every client, ordered by id.
func (s *Store) ListClients(ctx context.Context) ([]*Client, error) {
	ids, err := s.kv.SetMembers(ctx, clientsKey)
	if err != nil {
		return nil, fmt.Errorf("storage: list clients: %w", err)
	}
	slices.Sort(ids)
	out := make([]*Client, 0, len(ids))
	for _, id := range ids {
		c, err := s.LoadClient(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue // listed but deleted concurrently
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// DeleteClient removes a client (used when configuration no longer lists it). Tokens already
// issued to it stop resolving: their lookup reports ErrNotFound. A missing client is not an error.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	s.clients.Delete(id)
	if err := s.kv.Delete(ctx, clientKey(id)); err != nil {
		return fmt.Errorf("storage: delete client %q: %w", id, err)
	}
	if err := s.kv.SetRemove(ctx, clientsKey, id); err != nil {
		return fmt.Errorf("storage: unlist client %q: %w", id, err)
	}
	return nil
}

// ClientAssertionJWTValid implements fosite.ClientManager: an error wrapping fosite.ErrJTIKnown if
// the JTI of a client assertion (RFC 7523 §3, private_key_jwt) was already used and has not yet
// expired; nil if it is unknown; a backend error otherwise (fail closed).
func (s *Store) ClientAssertionJWTValid(ctx context.Context, jti string) error {
	_, err := s.kv.Get(ctx, jtiKey(jti))
	switch {
	case err == nil:
		return fmt.Errorf("storage: client assertion jti: %w", fosite.ErrJTIKnown)
	case errors.Is(err, ErrNotFound):
		return nil
	default:
		return fmt.Errorf("storage: client assertion jti: %w", err)
	}
}

// SetClientAssertionJWT implements fosite.ClientManager: it denylists jti until exp (plus the
// margin), atomically, so that of two concurrent uses of one assertion exactly one succeeds; the
// other gets an error wrapping fosite.ErrJTIKnown. An assertion that has already expired cannot be
// replayed and is not recorded.
func (s *Store) SetClientAssertionJWT(ctx context.Context, jti string, exp time.Time) error {
	ttl := exp.Sub(s.opts.Now()) + s.opts.TTLMargin
	if ttl <= 0 {
		return nil
	}
	err := s.kv.Create(ctx, jtiKey(jti), []byte(exp.UTC().Format(time.RFC3339)), ttl)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrConflict):
		return fmt.Errorf("storage: client assertion jti: %w", fosite.ErrJTIKnown)
	default:
		return fmt.Errorf("storage: client assertion jti: %w", err)
	}
}
