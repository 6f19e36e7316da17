package login

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/actas-dev/actas/storage"
)

const (
	// kindConsent remembers what a subject approved for a client (one record per pair).
	kindConsent = "login_consent"
	// kindConsentRequest holds a consent question between the provider and the consent page.
	kindConsentRequest = "login_consent_request"
	// kindConsentQuestions indexes a user's outstanding consent questions ("<ms hex>.<id>").
	kindConsentQuestions = "login_consent_questions"
	// maxConsentQuestions bounds a user's outstanding consent questions: each authorization that
	// needs the page stores one (up to ~8 KB with its return_to) for 15 minutes, and nothing else
	// limits how fast a signed-in user can ask for them. The oldest are dropped beyond it (their
	// pages answer "expired"; the authorization can be started again).
	maxConsentQuestions = 16
	// consentRequestTTL is how long the consent page may stay open.
	consentRequestTTL = 15 * time.Minute
	maxScopes         = 64
)

// consentGrant is a remembered consent: the union of every scope the subject approved for the client.
type consentGrant struct {
	Subject   string    `json:"sub"`
	ClientID  string    `json:"client_id"`
	Scopes    []string  `json:"scopes"`
	GrantedAt time.Time `json:"granted_at"`
}

// consentRequest is what the consent page shows and decides, written by ConsentURL. The page reads
// it from storage by its random id, so a crafted URL cannot show another client's name or scopes.
type consentRequest struct {
	ReturnTo   string   `json:"return_to"`
	ClientID   string   `json:"client_id"`
	ClientName string   `json:"client_name"`
	Scopes     []string `json:"scopes"`
}

// ConsentURL stores the consent question (return_to, client and scopes) of subject under a random
// 256-bit id for 15 minutes and returns the consent page's URL for it (a path below the issuer:
// "/consent?request=<id>"). returnTo must pass [ValidateReturnTo]. clientName is shown to the user,
// so pass the registered client's name, never a request parameter. The page decides once: the
// record is deleted when the user approves or denies. At most maxConsentQuestions of a user's
// questions are kept; older ones are dropped.
func (s *Service) ConsentURL(ctx context.Context, subject, returnTo, clientID, clientName string, scopes []string) (string, error) {
	if _, err := ValidateReturnTo(returnTo); err != nil {
		return "", err
	}
	if clientID == "" || subject == "" {
		return "", errors.New("login: consent needs a subject and a client id")
	}
	if len(scopes) > maxScopes {
		return "", fmt.Errorf("login: consent for more than %d scopes", maxScopes)
	}
	if clientName == "" {
		clientName = clientID
	}
	if err := s.makeRoomForQuestion(ctx, subject); err != nil {
		return "", err
	}
	id := randomID()
	req := consentRequest{ReturnTo: returnTo, ClientID: clientID, ClientName: clientName, Scopes: normScopes(scopes)}
	if err := s.store.CreateRecord(ctx, kindConsentRequest, id, req, consentRequestTTL); err != nil {
		return "", fmt.Errorf("login: store consent request: %w", err)
	}
	member := fmt.Sprintf("%013x.%s", s.now().UnixMilli(), id)
	if err := s.store.AddToIndex(ctx, kindConsentQuestions, questionsID(subject), consentRequestTTL, member); err != nil {
		return "", fmt.Errorf("login: index consent request: %w", err)
	}
	return s.base + "/consent?" + url.Values{"request": {id}}.Encode(), nil
}

// makeRoomForQuestion forgets subject's expired consent questions and, beyond
// maxConsentQuestions-1 live ones, the oldest.
func (s *Service) makeRoomForQuestion(ctx context.Context, subject string) error {
	members, err := s.store.IndexMembers(ctx, kindConsentQuestions, questionsID(subject))
	if err != nil {
		return fmt.Errorf("login: consent questions: %w", err)
	}
	slices.Sort(members) // oldest first: members begin with their creation time
	cutoff := fmt.Sprintf("%013x", s.now().Add(-consentRequestTTL).UnixMilli())
	var drop []string
	for i, m := range members {
		if m < cutoff || len(members)-i >= maxConsentQuestions {
			drop = append(drop, m)
		}
	}
	for _, m := range drop {
		_, id, _ := strings.Cut(m, ".")
		if err := s.store.DeleteRecord(ctx, kindConsentRequest, id); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("login: drop a consent question: %w", err)
		}
	}
	if len(drop) > 0 {
		if err := s.store.RemoveFromIndex(ctx, kindConsentQuestions, questionsID(subject), drop...); err != nil {
			return fmt.Errorf("login: consent questions: %w", err)
		}
	}
	return nil
}

func questionsID(subject string) string { return hashID("consent questions", subject) }

// HasConsent reports whether subject has approved every one of scopes for clientID (and that
// approval has not expired). It does not look at prompt=consent; the provider forces the page then.
func (s *Service) HasConsent(ctx context.Context, subject, clientID string, scopes []string) (bool, error) {
	var g consentGrant
	err := s.store.GetRecord(ctx, kindConsent, consentID(subject, clientID), &g)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("login: get consent: %w", err)
	case g.Subject != subject || g.ClientID != clientID:
		return false, nil
	}
	for _, sc := range scopes {
		if !slices.Contains(g.Scopes, sc) {
			return false, nil
		}
	}
	return true, nil
}

// GrantConsent remembers that subject approved scopes for clientID, adding them to what was already
// approved, for ConsentTTL from now. It is atomic per subject and client (UpdateRecord).
func (s *Service) GrantConsent(ctx context.Context, subject, clientID string, scopes []string) error {
	if subject == "" || clientID == "" {
		return errors.New("login: consent needs a subject and a client id")
	}
	now := s.now()
	err := s.store.UpdateRecord(ctx, kindConsent, consentID(subject, clientID), s.consentTTL, func(cur []byte) ([]byte, error) {
		g := consentGrant{Subject: subject, ClientID: clientID}
		if cur != nil {
			var old consentGrant
			if err := json.Unmarshal(cur, &old); err == nil && old.Subject == subject && old.ClientID == clientID {
				g.Scopes = old.Scopes
			}
		}
		g.Scopes = normScopes(append(g.Scopes, scopes...))
		g.GrantedAt = now
		return json.Marshal(g)
	})
	if err != nil {
		return fmt.Errorf("login: grant consent: %w", err)
	}
	return nil
}

// RevokeConsent forgets what subject approved for clientID (the next authorization asks again).
func (s *Service) RevokeConsent(ctx context.Context, subject, clientID string) error {
	err := s.store.DeleteRecord(ctx, kindConsent, consentID(subject, clientID))
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("login: revoke consent: %w", err)
	}
	return nil
}

func consentID(subject, clientID string) string { return hashID(subject, clientID) }

// normScopes sorts and de-duplicates scopes and drops empty ones.
func normScopes(scopes []string) []string {
	out := slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return s == "" })
	slices.Sort(out)
	return slices.Compact(out)
}

// scopeView is one line of the consent page.
type scopeView struct {
	Name        string
	Description string
	Raw         bool // no description known: show the scope itself
}

var scopeDescriptions = map[string]string{
	"openid":         "Confirm who you are",
	"profile":        "See your name and username",
	"email":          "See your email address",
	"offline_access": "Stay connected when you are not using it",
	"actas:consent":  "Approve or decline support agents' requests to access your account",
}

func scopeViews(scopes []string) []scopeView {
	out := make([]scopeView, 0, len(scopes))
	for _, sc := range scopes {
		if d, ok := scopeDescriptions[sc]; ok {
			out = append(out, scopeView{Name: sc, Description: d})
			continue
		}
		out = append(out, scopeView{Name: sc, Description: "Use the permission", Raw: true})
	}
	return out
}
