package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// TimeLayout is the encoding of [Event.Time]: RFC 3339 in UTC with exactly nine fractional digits,
// so that encodings sort as strings in time order and re-encode to the same bytes.
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

// Canonical returns the canonical encoding of e, the bytes whose SHA-256 is e's hash:
//
//   - a JSON object whose members are the event's non-empty fields under their snake_case names
//     (id, time, type, actor, target, client, representation_id, consent_id, decision, rule,
//     reason_code, reason_text, ticket, source_address, user_agent, request_id, prev_hash, and detail
//     as a nested object); "hash" is never part of it;
//   - every value a JSON string; time formatted with [TimeLayout];
//   - members sorted by name (byte order; all names are ASCII), also inside detail;
//   - no whitespace; strings escaped as RFC 8785 (JCS) §3.2.2.2 says: only '"', '\' and the
//     control characters, as \b \t \n \f \r or \u00xx; everything else as UTF-8.
//
// For an event that passes [Validate] this is exactly the RFC 8785 canonical form of the JSON
// object, so anyone can recompute a hash from an exported line: drop "hash", canonicalize with any
// JCS implementation, SHA-256, hex. Invalid UTF-8 (which Validate refuses) is encoded as U+FFFD.
func Canonical(e Event) []byte { return encode(e, false) }

// HashOf returns the lowercase hex SHA-256 of a canonical encoding.
func HashOf(canonical []byte) string {
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:])
}

type member struct{ name, value string }

// members returns e's non-empty fields as JSON members (without detail), unsorted.
func members(e Event, withHash bool) []member {
	ms := make([]member, 0, 20)
	add := func(name, value string) {
		if value != "" {
			ms = append(ms, member{name, value})
		}
	}
	add("id", e.ID)
	if !e.Time.IsZero() {
		add("time", e.Time.UTC().Format(TimeLayout))
	}
	add("type", e.Type)
	add("actor", e.Actor)
	add("target", e.Target)
	add("client", e.Client)
	add("representation_id", e.RepresentationID)
	add("consent_id", e.ConsentID)
	add("decision", e.Decision)
	add("rule", e.Rule)
	add("reason_code", e.ReasonCode)
	add("reason_text", e.ReasonText)
	add("ticket", e.Ticket)
	add("source_address", e.SourceAddress)
	add("user_agent", e.UserAgent)
	add("request_id", e.RequestID)
	add("prev_hash", e.PrevHash)
	if withHash {
		add("hash", e.Hash)
	}
	return ms
}

func encode(e Event, withHash bool) []byte {
	ms := members(e, withHash)
	hasDetail := len(e.Detail) > 0
	if hasDetail {
		ms = append(ms, member{name: "detail"})
	}
	slices.SortFunc(ms, func(a, b member) int { return cmpString(a.name, b.name) })
	size := 2
	for _, m := range ms {
		size += len(m.name) + len(m.value) + 6
	}
	for k, v := range e.Detail {
		size += len(k) + len(v) + 6
	}
	var b bytes.Buffer
	b.Grow(size + size/8) // escapes are rare: one allocation for the whole encoding
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(&b, m.name)
		b.WriteByte(':')
		if m.name == "detail" && hasDetail {
			writeDetail(&b, e.Detail)
			continue
		}
		writeString(&b, m.value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func writeDetail(b *bytes.Buffer, d map[string]string) {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmpString)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, k)
		b.WriteByte(':')
		writeString(b, d[k])
	}
	b.WriteByte('}')
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// writeString writes s as a JSON string escaped per RFC 8785 §3.2.2.2: '"' and '\\' escaped,
// control characters as \b \t \n \f \r or \u00xx, everything else as is (invalid UTF-8 as
// U+FFFD). Safe stretches are copied at once.
func writeString(b *bytes.Buffer, s string) {
	const hexDigits = "0123456789abcdef"
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteString(s[start:i])
				b.WriteString("\ufffd")
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		b.WriteString(s[start:i])
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteString(`\u00`)
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}

// MarshalJSON encodes e canonically, with "hash" among the members (see [Canonical]).
func (e Event) MarshalJSON() ([]byte, error) { return encode(e, true), nil }

// wireEvent is the decoding side of the encoding.
type wireEvent struct {
	ID               string            `json:"id"`
	Time             string            `json:"time"`
	Type             string            `json:"type"`
	Actor            string            `json:"actor"`
	Target           string            `json:"target"`
	Client           string            `json:"client"`
	RepresentationID string            `json:"representation_id"`
	ConsentID        string            `json:"consent_id"`
	Decision         string            `json:"decision"`
	Rule             string            `json:"rule"`
	ReasonCode       string            `json:"reason_code"`
	ReasonText       string            `json:"reason_text"`
	Ticket           string            `json:"ticket"`
	SourceAddress    string            `json:"source_address"`
	UserAgent        string            `json:"user_agent"`
	RequestID        string            `json:"request_id"`
	PrevHash         string            `json:"prev_hash"`
	Hash             string            `json:"hash"`
	Detail           map[string]string `json:"detail"`
}

// UnmarshalJSON decodes the JSON form of an event (as MarshalJSON writes it).
func (e *Event) UnmarshalJSON(b []byte) error {
	var w wireEvent
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	var t time.Time
	if w.Time != "" {
		var err error
		if t, err = time.Parse(time.RFC3339Nano, w.Time); err != nil {
			return fmt.Errorf("audit: event time %s: %w", strconv.Quote(w.Time), err)
		}
		t = t.UTC()
	}
	*e = Event{
		ID: w.ID, Time: t, Type: w.Type, Actor: w.Actor, Target: w.Target, Client: w.Client,
		RepresentationID: w.RepresentationID, ConsentID: w.ConsentID, Decision: w.Decision, Rule: w.Rule,
		ReasonCode: w.ReasonCode, ReasonText: w.ReasonText, Ticket: w.Ticket, SourceAddress: w.SourceAddress,
		UserAgent: w.UserAgent, RequestID: w.RequestID, PrevHash: w.PrevHash, Hash: w.Hash, Detail: w.Detail,
	}
	return nil
}
