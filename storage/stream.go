package storage

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ChainedEntry is one entry of [Streams.AppendChainedBatch]: its value and the chain head after it.
type ChainedEntry struct {
	Head  string
	Value []byte
}

// MaxChainedBatch bounds the entries of one [Streams.AppendChainedBatch].
const MaxChainedBatch = 256

// CheckChainedBatch reports whether entries is a batch a backend accepts.
func CheckChainedBatch(entries []ChainedEntry) error {
	if len(entries) == 0 || len(entries) > MaxChainedBatch {
		return fmt.Errorf("storage: a chained batch has 1 to %d entries, not %d", MaxChainedBatch, len(entries))
	}
	return nil
}

// Streams is an optional capability of a backend, next to [KV]: append-only logs whose entries form
// a hash chain kept by the caller. The audit trail is its one user. Both backends implement it
// ([github.com/actas-dev/actas/storage/memory.KV] as a bounded ring, [github.com/actas-dev/actas/storage/redis.KV]
// as a Redis Stream); callers type-assert a KV to Streams.
//
// A stream has three parts that change together, atomically:
//
//   - the entries, oldest first, each with a position ([StreamEntry.ID], "<ms>-<seq>" as in Redis
//     Streams: increasing, and ms is the backend's clock at append time), the chain head it set
//     ([StreamEntry.Head]) and its value;
//   - the head: the chain value set by the newest append ("" for a stream never written);
//   - the checkpoint ([StreamCheckpoint]): the head value and position of the newest entry that
//     retention removed, so that a verifier can tell "trimmed by retention" from "deleted".
//
// The backend never computes or checks the chain itself (Redis scripts have no SHA-256); it only
// compares the head, which is what keeps one chain when several processes append at once.
//
// Stream names are short identifiers without "{" or "}": a backend may use the name as a Redis
// Cluster hash tag so that the entries, head and checkpoint keys share one slot.
type Streams interface {
	// AppendChained appends entry only if the stream's head currently equals expectHead ("" for a
	// stream never written), sets the head to newHead and, when maxLen > 0, removes the oldest
	// entries beyond maxLen, recording the newest removed entry in the checkpoint — all in one atomic
	// operation. It returns the new entry's position. When the head moved, nothing is written and
	// the error wraps [ErrConflict]: re-read [Streams.Head], rebuild the entry and try again.
	AppendChained(ctx context.Context, stream, expectHead, newHead string, entry []byte, maxLen int64) (string, error)
	// AppendChainedBatch is AppendChained for several entries in one atomic operation: when the
	// head equals expectHead, the entries are appended in order, the head becomes the last entry's
	// Head, and retention applies once after them. It returns their positions, in order. An empty
	// batch is an error; at most [MaxChainedBatch] entries.
	AppendChainedBatch(ctx context.Context, stream, expectHead string, entries []ChainedEntry, maxLen int64) ([]string, error)
	// ReadRange returns up to limit entries (1..[MaxStreamRead]) strictly after the position after,
	// oldest first; with reverse, strictly before it, newest first. after == "" starts at the
	// oldest (or, with reverse, the newest) entry. A missing stream reads as empty.
	ReadRange(ctx context.Context, stream, after string, limit int, reverse bool) ([]StreamEntry, error)
	// Head returns the current chain head; "" for a stream never written.
	Head(ctx context.Context, stream string) (string, error)
	// Checkpoint returns what retention removed; the zero value when nothing was ever removed.
	Checkpoint(ctx context.Context, stream string) (StreamCheckpoint, error)
	// TrimBefore removes, oldest first, the entries appended before t (by their position's ms) and
	// updates the checkpoint in the same atomic step. It returns how many entries it removed. A
	// backend may work in batches; each batch is atomic and leaves a consistent checkpoint.
	TrimBefore(ctx context.Context, stream string, t time.Time) (int64, error)
}

// StreamEntry is one entry of a stream.
type StreamEntry struct {
	// ID is the position, "<ms>-<seq>" (see [ParseStreamID]).
	ID string
	// Head is the chain head this entry set (the newHead of its append).
	Head string
	// Value is the entry as appended.
	Value []byte
}

// StreamCheckpoint records what retention removed from the start of a stream.
type StreamCheckpoint struct {
	// Head is the chain head set by the newest removed entry: the predecessor of the oldest
	// retained entry. "" when nothing was removed.
	Head string
	// ID is the position of the newest removed entry.
	ID string
	// Trimmed counts the entries retention removed over the stream's life.
	Trimmed int64
}

// MaxStreamRead bounds the limit of one [Streams.ReadRange].
const MaxStreamRead = 10000

// MaxStreamNameLen bounds a stream name.
const MaxStreamNameLen = 128

// ErrInvalidArgument: a stream name, position or limit is malformed. It is a programming error of
// the caller (or a forged cursor), never a storage fault.
var ErrInvalidArgument = errors.New("storage: invalid argument")

// CheckStreamName returns an error wrapping [ErrInvalidArgument] when name is empty, too long, or
// holds a character a backend cannot use in a key's hash tag ("{", "}", whitespace or control
// characters).
func CheckStreamName(name string) error {
	if name == "" || len(name) > MaxStreamNameLen {
		return fmt.Errorf("%w: stream name must be 1..%d bytes", ErrInvalidArgument, MaxStreamNameLen)
	}
	for _, r := range name {
		if r == '{' || r == '}' || r <= ' ' || r == 0x7f {
			return fmt.Errorf("%w: stream name %q: braces, spaces and control characters are not allowed", ErrInvalidArgument, name)
		}
	}
	return nil
}

// CheckReadLimit returns an error wrapping [ErrInvalidArgument] unless 1 <= limit <= [MaxStreamRead].
func CheckReadLimit(limit int) error {
	if limit < 1 || limit > MaxStreamRead {
		return fmt.Errorf("%w: read limit %d: want 1..%d", ErrInvalidArgument, limit, MaxStreamRead)
	}
	return nil
}

// StreamID is a parsed stream position: milliseconds of the backend's clock and a sequence number
// within that millisecond.
type StreamID struct {
	MS  uint64
	Seq uint64
}

// ParseStreamID parses "<ms>-<seq>" (both decimal, unsigned 64-bit). The error wraps
// [ErrInvalidArgument].
func ParseStreamID(s string) (StreamID, error) {
	ms, seq, ok := strings.Cut(s, "-")
	if !ok || ms == "" || seq == "" || len(s) > 41 {
		return StreamID{}, fmt.Errorf("%w: stream position %q", ErrInvalidArgument, clipForError(s, 48))
	}
	m, err1 := strconv.ParseUint(ms, 10, 64)
	q, err2 := strconv.ParseUint(seq, 10, 64)
	if err1 != nil || err2 != nil || (len(ms) > 1 && ms[0] == '0') || (len(seq) > 1 && seq[0] == '0') {
		return StreamID{}, fmt.Errorf("%w: stream position %q", ErrInvalidArgument, clipForError(s, 48))
	}
	return StreamID{MS: m, Seq: q}, nil
}

// String formats the position as "<ms>-<seq>".
func (id StreamID) String() string {
	return strconv.FormatUint(id.MS, 10) + "-" + strconv.FormatUint(id.Seq, 10)
}

// Compare returns -1, 0 or +1 as id is before, equal to or after o.
func (id StreamID) Compare(o StreamID) int {
	switch {
	case id.MS < o.MS:
		return -1
	case id.MS > o.MS:
		return 1
	case id.Seq < o.Seq:
		return -1
	case id.Seq > o.Seq:
		return 1
	}
	return 0
}

// Time returns the backend's clock at append time, to the millisecond.
func (id StreamID) Time() time.Time { return time.UnixMilli(int64(id.MS)).UTC() }

func clipForError(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
