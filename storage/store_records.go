package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// KeepTTL, given to [Store.UpdateRecord], keeps the record's remaining time to live.
const KeepTTL time.Duration = -1

// Record is one entry of [Store.CreateRecords].
type Record struct {
	Kind  string
	ID    string
	Value any // JSON-encoded
	TTL   time.Duration
}

func recordKey(kind, id string) string { return "rec:" + kind + ":{" + id + "}" }

func indexKey(kind, id string) string { return "idx:" + kind + ":{" + id + "}" }

// checkRef validates a record or index address. A kind is a short lowercase name such as
// "representation" or "consent"; it must not contain ':' or braces, which would break the key
// layout. An id must not be empty.
func checkRef(kind, id string) error {
	if kind == "" || id == "" {
		return errors.New("storage: record kind and id must not be empty")
	}
	for _, r := range kind {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("storage: record kind %q: only a-z, 0-9, '-', '_' and '.' are allowed", kind)
		}
	}
	return nil
}

// PutRecord writes v, JSON-encoded, under (kind, id) unconditionally. ttl 0 means no expiry and is
// meant only for records seeded from configuration; ephemeral records must carry a positive ttl.
func (s *Store) PutRecord(ctx context.Context, kind, id string, v any, ttl time.Duration) error {
	raw, err := encodeRecord(kind, id, v, ttl)
	if err != nil {
		return err
	}
	if err := s.kv.Set(ctx, recordKey(kind, id), raw, ttl); err != nil {
		return fmt.Errorf("storage: put %s record: %w", kind, err)
	}
	return nil
}

// CreateRecord writes v under (kind, id) only if no such record exists; otherwise ErrConflict.
// It is the single-key lock primitive ("SET NX").
func (s *Store) CreateRecord(ctx context.Context, kind, id string, v any, ttl time.Duration) error {
	return s.CreateRecords(ctx, Record{Kind: kind, ID: id, Value: v, TTL: ttl})
}

// CreateRecords writes every record only if none exists, in one atomic step: all or nothing
// (ErrConflict naming the first existing key). All records must share one id (with different
// kinds): records with the same id share a Redis Cluster hash tag, which is what makes one atomic
// write possible there. Use it to take a lock and write what it protects together, for example
// kind "rep-lock" and kind "rep-active", both with the actor's id.
func (s *Store) CreateRecords(ctx context.Context, recs ...Record) error {
	if len(recs) == 0 {
		return nil
	}
	entries := make([]Entry, 0, len(recs))
	for _, r := range recs {
		if r.ID != recs[0].ID {
			return fmt.Errorf("storage: create records: ids %q and %q differ; records created together must share one id", recs[0].ID, r.ID)
		}
		raw, err := encodeRecord(r.Kind, r.ID, r.Value, r.TTL)
		if err != nil {
			return err
		}
		entries = append(entries, Entry{Key: recordKey(r.Kind, r.ID), Value: raw, TTL: r.TTL})
	}
	if err := s.kv.CreateAll(ctx, entries); err != nil {
		return fmt.Errorf("storage: create %s record: %w", recs[0].Kind, err)
	}
	return nil
}

func encodeRecord(kind, id string, v any, ttl time.Duration) ([]byte, error) {
	if err := checkRef(kind, id); err != nil {
		return nil, err
	}
	if ttl < 0 {
		return nil, fmt.Errorf("storage: %s record: negative ttl", kind)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("storage: encode %s record: %w", kind, err)
	}
	return raw, nil
}

// GetRecord decodes the record (kind, id) into out (a pointer), or returns ErrNotFound.
func (s *Store) GetRecord(ctx context.Context, kind, id string, out any) error {
	if err := checkRef(kind, id); err != nil {
		return err
	}
	raw, err := s.kv.Get(ctx, recordKey(kind, id))
	if err != nil {
		return fmt.Errorf("storage: get %s record: %w", kind, err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("storage: decode %s record: %w", kind, err)
	}
	return nil
}

// UpdateRecord changes the record (kind, id) with an optimistic compare-and-swap loop: fn gets the
// current JSON (nil when the record does not exist) and returns the new JSON; if the record changed
// meanwhile, fn is called again with the newer value, up to StoreOptions.MaxRetries times (then
// ErrConflict). fn must therefore be free of side effects. An error from fn aborts the update, is
// never retried (even one wrapping ErrConflict) and is returned wrapped.
//
// ttl > 0 sets the record's TTL, 0 removes any expiry, and [KeepTTL] keeps the remaining TTL (with
// KeepTTL a missing record is ErrNotFound and fn is not called).
func (s *Store) UpdateRecord(ctx context.Context, kind, id string, ttl time.Duration, fn func(cur []byte) ([]byte, error)) error {
	if err := checkRef(kind, id); err != nil {
		return err
	}
	key := recordKey(kind, id)
	return s.casLoop(ctx, "update "+kind+" record", func() error {
		cur, err := s.kv.Get(ctx, key)
		switch {
		case errors.Is(err, ErrNotFound) && ttl != KeepTTL:
			cur = nil
		case err != nil:
			return fmt.Errorf("storage: update %s record: %w", kind, err)
		}
		newTTL := ttl
		if ttl == KeepTTL {
			if newTTL, err = s.kv.TTL(ctx, key); err != nil {
				return fmt.Errorf("storage: update %s record: %w", kind, err)
			}
		}
		next, err := fn(cur)
		if err != nil {
			return fmt.Errorf("storage: update %s record: %w", kind, err)
		}
		if !json.Valid(next) {
			return fmt.Errorf("storage: update %s record: the new value is not JSON", kind)
		}
		if cur == nil {
			err = s.kv.Create(ctx, key, next, newTTL)
		} else {
			err = s.kv.CompareAndSwap(ctx, key, cur, next, newTTL)
		}
		if err != nil {
			if errors.Is(err, ErrConflict) {
				return errRetry
			}
			return fmt.Errorf("storage: update %s record: %w", kind, err)
		}
		return nil
	})
}

// DeleteRecord removes the record (kind, id); a missing one is not an error.
func (s *Store) DeleteRecord(ctx context.Context, kind, id string) error {
	if err := checkRef(kind, id); err != nil {
		return err
	}
	if err := s.kv.Delete(ctx, recordKey(kind, id)); err != nil {
		return fmt.Errorf("storage: delete %s record: %w", kind, err)
	}
	return nil
}

// DeleteRecordIf removes the record (kind, id) only if pred accepts its current JSON, atomically
// (release-by-owner: a lock is released only by the one who holds it). It returns ErrNotFound when
// the record does not exist and ErrConflict when pred refuses it.
func (s *Store) DeleteRecordIf(ctx context.Context, kind, id string, pred func(cur []byte) (bool, error)) error {
	if err := checkRef(kind, id); err != nil {
		return err
	}
	key := recordKey(kind, id)
	return s.casLoop(ctx, "delete "+kind+" record", func() error {
		cur, err := s.kv.Get(ctx, key)
		if err != nil {
			return fmt.Errorf("storage: delete %s record: %w", kind, err)
		}
		ok, err := pred(cur)
		if err != nil {
			return fmt.Errorf("storage: delete %s record: %w", kind, err)
		}
		if !ok {
			return fmt.Errorf("storage: delete %s record: refused: %w", kind, ErrConflict)
		}
		if err := s.kv.CompareAndDelete(ctx, key, cur); err != nil {
			if errors.Is(err, ErrConflict) {
				return errRetry
			}
			return fmt.Errorf("storage: delete %s record: %w", kind, err)
		}
		return nil
	})
}

// AddToIndex adds members to the set index (kind, id) and extends its TTL to at least ttl (0: no
// expiry). An index shares its hash tag with the record of the same id.
func (s *Store) AddToIndex(ctx context.Context, kind, id string, ttl time.Duration, members ...string) error {
	if err := checkRef(kind, id); err != nil {
		return err
	}
	if len(members) == 0 {
		return nil
	}
	if err := s.kv.SetAdd(ctx, indexKey(kind, id), ttl, members...); err != nil {
		return fmt.Errorf("storage: add to %s index: %w", kind, err)
	}
	return nil
}

// IndexMembers returns the members of the index (kind, id), sorted; an empty or missing index
// gives nil.
func (s *Store) IndexMembers(ctx context.Context, kind, id string) ([]string, error) {
	if err := checkRef(kind, id); err != nil {
		return nil, err
	}
	m, err := s.kv.SetMembers(ctx, indexKey(kind, id))
	if err != nil {
		return nil, fmt.Errorf("storage: read %s index: %w", kind, err)
	}
	slices.Sort(m)
	return m, nil
}

// RemoveFromIndex removes members from the index (kind, id); missing ones are not an error.
func (s *Store) RemoveFromIndex(ctx context.Context, kind, id string, members ...string) error {
	if err := checkRef(kind, id); err != nil {
		return err
	}
	if len(members) == 0 {
		return nil
	}
	if err := s.kv.SetRemove(ctx, indexKey(kind, id), members...); err != nil {
		return fmt.Errorf("storage: remove from %s index: %w", kind, err)
	}
	return nil
}
