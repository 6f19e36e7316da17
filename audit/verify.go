package audit

import (
	"context"
	"fmt"

	"github.com/actas-dev/actas/storage"
)

// BreakKind says what [Trail.Verify] found wrong.
type BreakKind string

const (
	// BreakEdited: an event's stored bytes no longer hash to the hash stored with it, or do not
	// decode: the event was changed after it was written.
	BreakEdited BreakKind = "edited"
	// BreakDeleted: an event does not follow the one before it (or, for the oldest retained event,
	// the retention checkpoint) and no event later in the stream explains the gap: events were
	// deleted there (or the event before it was edited and re-hashed).
	BreakDeleted BreakKind = "deleted"
	// BreakReordered: an event does not follow the one before it, but the missing link is found
	// later in the stream: events were moved.
	BreakReordered BreakKind = "reordered"
	// BreakTruncated: the chain head does not match the newest event: the newest events were
	// deleted (or the head was overwritten).
	BreakTruncated BreakKind = "truncated"
)

// Break is the first problem Verify found.
type Break struct {
	Kind BreakKind `json:"kind"`
	// Index is the event's number among the retained events, oldest = 1; for BreakTruncated, the
	// number of the newest event (0 when none is left).
	Index int64 `json:"index"`
	// Position is the event's position in the store, EventID its id (empty when it does not decode).
	Position string `json:"position,omitempty"`
	EventID  string `json:"event_id,omitempty"`
	Message  string `json:"message"`
}

// Report is the result of [Trail.Verify].
type Report struct {
	Stream string `json:"stream"`
	// OK is true when the whole retained chain is intact (Break is nil).
	OK bool `json:"ok"`
	// Events is the number of retained events checked.
	Events int64 `json:"events"`
	// Trimmed is the number of events retention removed, TrimmedThrough the position of the newest
	// of them: the chain continues from the checkpoint, which is fine.
	Trimmed        int64  `json:"trimmed"`
	TrimmedThrough string `json:"trimmed_through,omitempty"`
	// First and Last are the positions of the oldest and newest retained events checked.
	First string `json:"first,omitempty"`
	Last  string `json:"last,omitempty"`
	// Head is the chain head in the store: the hash of the newest event. Recording it elsewhere
	// (a ticket, a log) lets a later verification prove that nothing was rewritten since.
	Head  string `json:"head"`
	Break *Break `json:"break,omitempty"`
}

// verifyBatch is the size of one read while verifying; maxRestarts bounds how often Verify starts
// again because retention removed the events it was reading.
const (
	verifyBatch = 1000
	maxRestarts = 100
)

// Verify walks the stream from the oldest retained event to the newest and checks the chain:
// every event's bytes hash to its stored hash, every event's prev_hash is the previous event's
// hash (for the oldest retained one: the checkpoint retention left, or "" when nothing was ever
// trimmed), and the chain head is the newest event's hash. It reports the first break, with its
// kind and position, in Report.Break; the error is only for a store that cannot be read.
//
// Verify runs while others append and trim: events appended meanwhile are checked too, and events
// trimmed by retention under it are recognised by the checkpoint. What it cannot see is a store
// rewritten wholesale (every event re-hashed, head and checkpoint included): compare Report.Head
// with a value recorded earlier for that.
func (t *Trail) Verify(ctx context.Context) (Report, error) {
	rep := Report{Stream: t.o.Stream}
	s := t.o.Store
	cp, err := s.Checkpoint(ctx, t.o.Stream)
	if err != nil {
		return rep, fmt.Errorf("audit: verify: %w", err)
	}
	rep.Trimmed, rep.TrimmedThrough = cp.Trimmed, cp.ID
	if b, err := t.checkpointBelied(ctx, cp.ID); err != nil || b != nil {
		rep.Break = b
		return rep, err
	}
	expect, after := cp.Head, ""
	var idx int64
	restarts := 0
pages:
	for {
		es, err := s.ReadRange(ctx, t.o.Stream, after, verifyBatch, false)
		if err != nil {
			return rep, fmt.Errorf("audit: verify: %w", err)
		}
		if len(es) == 0 {
			head, err := s.Head(ctx, t.o.Stream)
			if err != nil {
				return rep, fmt.Errorf("audit: verify: %w", err)
			}
			// Whatever set the head we just read was appended with it, atomically: if nothing
			// follows `after` now, the head must be the last hash we saw.
			more, err := s.ReadRange(ctx, t.o.Stream, after, 1, false)
			if err != nil {
				return rep, fmt.Errorf("audit: verify: %w", err)
			}
			if len(more) > 0 {
				continue
			}
			rep.Head = head
			if head != expect {
				rep.Break = &Break{Kind: BreakTruncated, Index: idx, Position: rep.Last,
					Message: "the chain head does not match the newest event: the newest events were deleted, or the head was overwritten"}
			}
			rep.OK = rep.Break == nil
			return rep, nil
		}
		for i, se := range es {
			idx++
			if HashOf(se.Value) != se.Head {
				rep.Break = &Break{Kind: BreakEdited, Index: idx, Position: se.ID, EventID: eventID(se),
					Message: "the event's bytes do not hash to the hash stored with it: it was edited"}
				return rep, nil
			}
			e, err := decodeEntry(se)
			if err != nil {
				rep.Break = &Break{Kind: BreakEdited, Index: idx, Position: se.ID,
					Message: "the event does not decode: it was edited"}
				return rep, nil
			}
			if e.PrevHash != expect {
				// Retention may have trimmed past our reading position since we read the checkpoint.
				cp2, err := s.Checkpoint(ctx, t.o.Stream)
				if err != nil {
					return rep, fmt.Errorf("audit: verify: %w", err)
				}
				// The checkpoint explains a gap only if no event it claims trimmed is still there.
				if b, err := t.checkpointBelied(ctx, cp2.ID); err != nil || b != nil {
					rep.Break = b
					return rep, err
				}
				switch {
				case cp2.Head == e.PrevHash && e.PrevHash != "" && trimmedPast(cp2.ID, after):
					// The event's predecessor was trimmed before we could read it: fine.
					rep.Trimmed, rep.TrimmedThrough = cp2.Trimmed, cp2.ID
				case trimmedPast(cp2.ID, se.ID):
					// This event itself is gone by now: start again from the current checkpoint.
					if restarts++; restarts > maxRestarts {
						return rep, fmt.Errorf("audit: verify: retention trims the stream faster than it can be read")
					}
					rep.Trimmed, rep.TrimmedThrough = cp2.Trimmed, cp2.ID
					rep.Events, rep.First, idx = 0, "", 0
					expect, after = cp2.Head, cp2.ID
					continue pages
				default:
					b, err := t.classify(ctx, es[i+1:], se, expect, e.PrevHash, rep.Events == 0)
					if err != nil {
						return rep, err
					}
					b.Index, b.EventID = idx, e.ID
					rep.Break = b
					return rep, nil
				}
			}
			if rep.First == "" {
				rep.First = se.ID
			}
			rep.Events++
			rep.Last, expect, after = se.ID, se.Head, se.ID
		}
	}
}

// checkpointBelied returns a break when an event is still stored at or before the checkpoint
// position cpID. Retention removes those events and moves the checkpoint in one atomic step, so a
// checkpoint with events behind it was written by something else: taken at its word, it would hide
// a deletion after it (or let Verify skip the events before it).
func (t *Trail) checkpointBelied(ctx context.Context, cpID string) (*Break, error) {
	if cpID == "" {
		return nil, nil
	}
	es, err := t.o.Store.ReadRange(ctx, t.o.Stream, "", 1, false)
	if err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}
	if len(es) == 0 || !trimmedPast(cpID, es[0].ID) {
		return nil, nil
	}
	return &Break{Kind: BreakDeleted, Index: 1, Position: es[0].ID, EventID: eventID(es[0]),
		Message: "the retention checkpoint claims events up to " + cpID + " were trimmed, but events at or before it are still stored: the checkpoint was overwritten, to hide a deletion after it"}, nil
}

// trimmedPast reports whether the checkpoint position cpID is at or after the reader's position
// (the reader lost entries to retention, which is fine).
func trimmedPast(cpID, readerAt string) bool {
	if readerAt == "" {
		return cpID != ""
	}
	c, err1 := storage.ParseStreamID(cpID)
	r, err2 := storage.ParseStreamID(readerAt)
	return err1 == nil && err2 == nil && c.Compare(r) >= 0
}

// classify decides between a gap and a reordering at the broken entry se: it is a reordering when
// the rest of the stream holds the true successor of the previous event (prev_hash == expect) or the
// event se names as its predecessor (hash == got).
func (t *Trail) classify(ctx context.Context, rest []storage.StreamEntry, se storage.StreamEntry, expect, got string, first bool) (*Break, error) {
	found := func(es []storage.StreamEntry) bool {
		for _, x := range es {
			if got != "" && x.Head == got {
				return true
			}
			if e, err := decodeEntry(x); err == nil && e.PrevHash == expect {
				return true
			}
		}
		return false
	}
	reordered := found(rest)
	after := se.ID
	if len(rest) > 0 {
		after = rest[len(rest)-1].ID
	}
	for !reordered {
		es, err := t.o.Store.ReadRange(ctx, t.o.Stream, after, verifyBatch, false)
		if err != nil {
			return nil, fmt.Errorf("audit: verify: %w", err)
		}
		if len(es) == 0 {
			break
		}
		reordered, after = found(es), es[len(es)-1].ID
	}
	b := &Break{Kind: BreakDeleted, Position: se.ID}
	switch {
	case reordered:
		b.Kind, b.Message = BreakReordered, "the event does not follow the one before it, and the missing link is elsewhere in the stream: events were moved"
	case first:
		b.Message = "the oldest retained event does not follow the retention checkpoint: events before it were deleted outside retention"
	case got == "":
		b.Message = "the chain starts over here: the head was reset or the events before were deleted"
	default:
		b.Message = "the event does not follow the one before it: events were deleted here, or the event before it was edited and re-hashed"
	}
	return b, nil
}

func eventID(se storage.StreamEntry) string {
	e, err := decodeEntry(se)
	if err != nil {
		return ""
	}
	return e.ID
}
