package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/actas-dev/actas/storage"
)

// Page sizes of [Trail.Query].
const (
	DefaultLimit = 50
	MaxLimit     = 500
	// maxScan bounds the entries one Query examines: a filter that matches rarely returns a short
	// (even empty) page with a cursor, instead of walking the whole stream in one request.
	maxScan = 5000
	// readBatch is the size of one read from the store.
	readBatch = 500
	// clockSkew is how far an event's time (the writer's clock) may be from its position (the
	// store's clock) for Query and Export to still find it by time.
	clockSkew = 2 * MaxClockSkew
)

// MaxClockSkew bounds how far an event's Time may be from the recording trail's clock.
const MaxClockSkew = 5 * time.Minute

// ErrInvalidFilter: a Query filter is malformed (unknown type, bad cursor, Since after Until).
var ErrInvalidFilter = errors.New("audit: invalid filter")

// Filter selects events for [Trail.Query]. Empty fields match everything.
type Filter struct {
	Actor          string
	Target         string
	Type           string // one of the catalogue's types
	Representation string // the representation session id
	// Since (inclusive) and Until (exclusive) bound the event time.
	Since, Until time.Time
	// Cursor continues a previous Query (its nextCursor); "" starts at the newest event.
	Cursor string
	// Limit is the page size: 0 means DefaultLimit; larger than MaxLimit means MaxLimit.
	Limit int
}

func (f *Filter) check() error {
	if f.Type != "" && !KnownType(f.Type) {
		return fmt.Errorf("%w: type %q is not in the catalogue", ErrInvalidFilter, clip(f.Type, 64))
	}
	if f.Cursor != "" {
		if _, err := storage.ParseStreamID(f.Cursor); err != nil {
			return fmt.Errorf("%w: cursor does not parse", ErrInvalidFilter)
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return fmt.Errorf("%w: since must be before until", ErrInvalidFilter)
	}
	if f.Limit < 0 {
		return fmt.Errorf("%w: limit must not be negative", ErrInvalidFilter)
	}
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	f.Limit = min(f.Limit, MaxLimit)
	return nil
}

func (f *Filter) match(e Event) bool {
	return (f.Actor == "" || e.Actor == f.Actor) &&
		(f.Target == "" || e.Target == f.Target) &&
		(f.Type == "" || e.Type == f.Type) &&
		(f.Representation == "" || e.RepresentationID == f.Representation) &&
		(f.Since.IsZero() || !e.Time.Before(f.Since)) &&
		(f.Until.IsZero() || e.Time.Before(f.Until))
}

// Query returns the events that match f, newest first, at most f.Limit of them, and the cursor of
// the next page ("" when there is none). A page may hold fewer events than the limit (even none)
// with a non-empty cursor: one call examines a bounded number of stored events. Events that do not
// decode (the stream was edited: run Verify) are skipped and logged.
func (t *Trail) Query(ctx context.Context, f Filter) ([]Event, string, error) {
	if err := f.check(); err != nil {
		return nil, "", err
	}
	after := f.Cursor
	if after == "" && !f.Until.IsZero() {
		if ms := f.Until.Add(clockSkew).UnixMilli(); ms > 0 {
			after = storage.StreamID{MS: uint64(ms)}.String()
		}
	}
	var floor uint64 // positions below it cannot hold events since f.Since
	if !f.Since.IsZero() {
		floor = uint64(max(f.Since.Add(-clockSkew).UnixMilli(), 0))
	}
	out := []Event{}
	for scanned := 0; scanned < maxScan; {
		es, err := t.o.Store.ReadRange(ctx, t.o.Stream, after, min(readBatch, maxScan-scanned), true)
		if err != nil {
			return nil, "", fmt.Errorf("audit: query: %w", err)
		}
		if len(es) == 0 {
			return out, "", nil
		}
		for _, se := range es {
			scanned++
			after = se.ID
			if id, _ := storage.ParseStreamID(se.ID); id.MS < floor {
				return out, "", nil
			}
			e, err := decodeEntry(se)
			if err != nil {
				t.log.LogAttrs(ctx, slog.LevelWarn, "audit: stored event does not decode; run actas audit verify",
					slog.String("audit_position", se.ID))
				continue
			}
			if f.match(e) {
				out = append(out, e)
				if len(out) == f.Limit {
					return out, se.ID, nil
				}
			}
		}
	}
	return out, after, nil
}

// Export calls fn with every event whose time is in [since, until) (a zero bound is open), oldest
// first — the chain's order, so that the output can be verified line by line. An event that does
// not decode stops the export with an error naming its position; fn's error stops it too.
func (t *Trail) Export(ctx context.Context, since, until time.Time, fn func(Event) error) error {
	after := ""
	if !since.IsZero() {
		if ms := since.Add(-clockSkew).UnixMilli(); ms > 0 {
			after = storage.StreamID{MS: uint64(ms) - 1, Seq: math.MaxUint64}.String()
		}
	}
	var ceiling uint64 = math.MaxUint64 // positions above it cannot hold events before until
	if !until.IsZero() {
		ceiling = uint64(max(until.Add(clockSkew).UnixMilli(), 0))
	}
	f := Filter{Since: since, Until: until}
	for {
		es, err := t.o.Store.ReadRange(ctx, t.o.Stream, after, readBatch, false)
		if err != nil {
			return fmt.Errorf("audit: export: %w", err)
		}
		if len(es) == 0 {
			return nil
		}
		for _, se := range es {
			after = se.ID
			if id, _ := storage.ParseStreamID(se.ID); id.MS > ceiling {
				return nil
			}
			e, err := decodeEntry(se)
			if err != nil {
				return fmt.Errorf("audit: export: the event at position %s does not decode (run verify): %w", se.ID, err)
			}
			if f.match(e) {
				if err := fn(e); err != nil {
					return err
				}
			}
		}
	}
}

// decodeEntry turns a stored entry into an Event; Hash is the head the entry set.
func decodeEntry(se storage.StreamEntry) (Event, error) {
	var e Event
	if err := json.Unmarshal(se.Value, &e); err != nil {
		return Event{}, err
	}
	e.Hash = se.Head
	return e, nil
}
