package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/ory/fosite"
	"golang.org/x/text/language"
)

// storedRequest is the JSON form of a fosite request kept under a tok: key. It follows Hydra's
// persister row (notes §2): the session is kept as raw JSON and decoded into the prototype session
// fosite passes to the Get method; the client is kept by id and reloaded with GetClient, so a
// client's configuration change applies to tokens already issued.
type storedRequest struct {
	ID                string          `json:"id"`
	RequestedAt       time.Time       `json:"requested_at"`
	ClientID          string          `json:"client_id"`
	RequestedScope    []string        `json:"scopes,omitempty"`
	GrantedScope      []string        `json:"granted_scopes,omitempty"`
	RequestedAudience []string        `json:"requested_audience,omitempty"`
	GrantedAudience   []string        `json:"granted_audience,omitempty"`
	Form              url.Values      `json:"form,omitempty"`
	Session           json.RawMessage `json:"session"`
	Lang              string          `json:"lang,omitempty"`
	// Active is false once a code is used or a token revoked or rotated. Inactive records stay
	// until their expiry so that reuse is recognised.
	Active bool `json:"active"`
	// Exp is when the key expires (token expiry plus the margin); state flips keep it.
	Exp time.Time `json:"exp"`
	// AccessKey is, for a refresh token, the key of the access token issued with it.
	AccessKey string `json:"access_key,omitempty"`
}

// newRecord is a stored request on its way into storage: the session is encoded in the same pass
// as the rest (it shadows storedRequest.Session), rather than encoded on its own first and then
// copied and re-validated as a json.RawMessage.
type newRecord struct {
	*storedRequest
	Session fosite.Session `json:"session"`
}

// encodeRequest captures req for storage. It fails for a request without a client, which fosite
// never stores.
func encodeRequest(req fosite.Requester, exp time.Time) (*newRecord, error) {
	if req == nil || req.GetClient() == nil {
		return nil, fmt.Errorf("storage: encode request: missing request or client")
	}
	sr := &storedRequest{
		ID:                req.GetID(),
		RequestedAt:       req.GetRequestedAt().UTC(),
		ClientID:          req.GetClient().GetID(),
		RequestedScope:    req.GetRequestedScopes(),
		GrantedScope:      req.GetGrantedScopes(),
		RequestedAudience: req.GetRequestedAudience(),
		GrantedAudience:   req.GetGrantedAudience(),
		Form:              req.GetRequestForm(),
		Active:            true,
		Exp:               exp.UTC(),
	}
	if g, ok := req.(fosite.G11NContext); ok {
		if tag := g.GetLang(); tag != language.Und {
			sr.Lang = tag.String()
		}
	}
	return &newRecord{storedRequest: sr, Session: req.GetSession()}, nil
}

func decodeStored(raw []byte) (*storedRequest, error) {
	var sr storedRequest
	if err := json.Unmarshal(raw, &sr); err != nil {
		return nil, fmt.Errorf("storage: decode stored request: %w", err)
	}
	return &sr, nil
}

// toRequest rebuilds a fosite.Request from sr: the session is decoded into the given prototype
// (or a fresh one from StoreOptions.NewSession when fosite passes nil) and the client reloaded.
func (s *Store) toRequest(ctx context.Context, sr *storedRequest, session fosite.Session) (*fosite.Request, error) {
	client, err := s.GetClient(ctx, sr.ClientID)
	if err != nil {
		return nil, fmt.Errorf("storage: client of stored request: %w", err)
	}
	if session == nil {
		session = s.opts.NewSession()
	}
	if len(sr.Session) > 0 {
		if err := json.Unmarshal(sr.Session, session); err != nil {
			return nil, fmt.Errorf("storage: decode session into %T: %w", session, err)
		}
	}
	form := sr.Form
	if form == nil {
		form = url.Values{}
	}
	req := &fosite.Request{
		ID:                sr.ID,
		RequestedAt:       sr.RequestedAt,
		Client:            client,
		RequestedScope:    args(sr.RequestedScope),
		GrantedScope:      args(sr.GrantedScope),
		RequestedAudience: args(sr.RequestedAudience),
		GrantedAudience:   args(sr.GrantedAudience),
		Form:              form,
		Session:           session,
	}
	if sr.Lang != "" {
		if tag, err := language.Parse(sr.Lang); err == nil {
			req.Lang = tag
		}
	}
	return req, nil
}

func args(v []string) fosite.Arguments {
	if v == nil {
		return fosite.Arguments{}
	}
	return v
}
