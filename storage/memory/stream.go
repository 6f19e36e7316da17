package memory

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"
	"weak"

	"github.com/actas-dev/actas/storage"
)

// MaxStreamLen bounds every in-memory stream: an append with maxLen 0 (no limit) or above it trims
// to MaxStreamLen, recording the checkpoint as any trim does. The memory backend is for --dev and
// tests; a ring this size keeps a busy dev server's memory bounded.
const MaxStreamLen = 100_000

var _ storage.Streams = (*KV)(nil)

// streamSet holds the streams of one KV. It has its own lock: stream appends never wait for the
// key-value operations, and the other way round. Every stream operation takes it once, so each is
// one critical section.
type streamSet struct {
	mu sync.Mutex
	m  map[string]*memStream
}

type memStream struct {
	entries []memEntry // oldest first; positions strictly increasing
	head    string
	last    storage.StreamID // position of the newest entry ever appended (survives trimming)
	cp      storage.StreamCheckpoint
}

type memEntry struct {
	id   storage.StreamID
	head string
	val  []byte
}

// streamSets maps a KV (weakly, so that a dropped KV is collected with its streams) to its streams.
// The KV type is declared in memory.go; keeping the streams here leaves that file untouched.
var streamSets sync.Map // weak.Pointer[KV] -> *streamSet

func (k *KV) streams() *streamSet {
	wp := weak.Make(k)
	if v, ok := streamSets.Load(wp); ok {
		return v.(*streamSet)
	}
	v, loaded := streamSets.LoadOrStore(wp, &streamSet{m: map[string]*memStream{}})
	if !loaded {
		runtime.AddCleanup(k, func(wp weak.Pointer[KV]) { streamSets.Delete(wp) }, wp)
	}
	return v.(*streamSet)
}

// AppendChained implements [storage.Streams.AppendChained] in one critical section.
func (k *KV) AppendChained(ctx context.Context, stream, expectHead, newHead string, entry []byte, maxLen int64) (string, error) {
	ids, err := k.AppendChainedBatch(ctx, stream, expectHead, []storage.ChainedEntry{{Head: newHead, Value: entry}}, maxLen)
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// AppendChainedBatch implements [storage.Streams.AppendChainedBatch] under the streams' lock.
func (k *KV) AppendChainedBatch(ctx context.Context, stream, expectHead string, entries []storage.ChainedEntry, maxLen int64) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := storage.CheckStreamName(stream); err != nil {
		return nil, fmt.Errorf("memory: append %q: %w", stream, err)
	}
	if err := storage.CheckChainedBatch(entries); err != nil {
		return nil, fmt.Errorf("memory: append %q: %w", stream, err)
	}
	ss := k.streams()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[stream]
	cur := ""
	if s != nil {
		cur = s.head
	}
	if cur != expectHead {
		return nil, fmt.Errorf("memory: append %q: head moved: %w", stream, storage.ErrConflict)
	}
	if s == nil {
		s = &memStream{}
		ss.m[stream] = s
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		id := nextID(s.last, k.now())
		s.entries = append(s.entries, memEntry{id: id, head: e.Head, val: clone(e.Value)})
		s.last, s.head = id, e.Head
		ids[i] = id.String()
	}
	if maxLen <= 0 || maxLen > MaxStreamLen {
		maxLen = MaxStreamLen
	}
	if n := int64(len(s.entries)) - maxLen; n > 0 {
		s.trim(int(n))
	}
	return ids, nil
}

// nextID returns the position after last at time now, as Redis assigns them: the clock's ms, or
// last's ms with the next sequence number when the clock has not moved on (or went back).
func nextID(last storage.StreamID, now time.Time) storage.StreamID {
	ms := now.UnixMilli()
	if ms > 0 && uint64(ms) > last.MS {
		return storage.StreamID{MS: uint64(ms)}
	}
	if last.MS == 0 && last.Seq == 0 {
		return storage.StreamID{Seq: 1} // 0-0 is not a valid position
	}
	return storage.StreamID{MS: last.MS, Seq: last.Seq + 1}
}

// trim removes the n oldest entries and records the newest of them in the checkpoint. Callers
// hold the set's lock.
func (s *memStream) trim(n int) {
	if n <= 0 {
		return
	}
	lastGone := s.entries[n-1]
	s.cp.Head, s.cp.ID = lastGone.head, lastGone.id.String()
	s.cp.Trimmed += int64(n)
	clear(s.entries[:n]) // release the values; the array is reallocated by a later append
	s.entries = s.entries[n:]
}

// ReadRange implements [storage.Streams.ReadRange].
func (k *KV) ReadRange(ctx context.Context, stream, after string, limit int, reverse bool) ([]storage.StreamEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := storage.CheckStreamName(stream); err != nil {
		return nil, fmt.Errorf("memory: read %q: %w", stream, err)
	}
	if err := storage.CheckReadLimit(limit); err != nil {
		return nil, fmt.Errorf("memory: read %q: %w", stream, err)
	}
	var from storage.StreamID
	if after != "" {
		id, err := storage.ParseStreamID(after)
		if err != nil {
			return nil, fmt.Errorf("memory: read %q: %w", stream, err)
		}
		from = id
	}
	ss := k.streams()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[stream]
	if s == nil {
		return nil, nil
	}
	es := s.entries
	var out []storage.StreamEntry
	emit := func(e memEntry) {
		out = append(out, storage.StreamEntry{ID: e.id.String(), Head: e.head, Value: clone(e.val)})
	}
	if !reverse {
		i := 0
		if after != "" {
			i = sort.Search(len(es), func(i int) bool { return es[i].id.Compare(from) > 0 })
		}
		for ; i < len(es) && len(out) < limit; i++ {
			emit(es[i])
		}
		return out, nil
	}
	i := len(es) - 1
	if after != "" {
		i = sort.Search(len(es), func(i int) bool { return es[i].id.Compare(from) >= 0 }) - 1
	}
	for ; i >= 0 && len(out) < limit; i-- {
		emit(es[i])
	}
	return out, nil
}

// Head implements [storage.Streams.Head].
func (k *KV) Head(ctx context.Context, stream string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := storage.CheckStreamName(stream); err != nil {
		return "", fmt.Errorf("memory: head %q: %w", stream, err)
	}
	ss := k.streams()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s := ss.m[stream]; s != nil {
		return s.head, nil
	}
	return "", nil
}

// Checkpoint implements [storage.Streams.Checkpoint].
func (k *KV) Checkpoint(ctx context.Context, stream string) (storage.StreamCheckpoint, error) {
	if err := ctx.Err(); err != nil {
		return storage.StreamCheckpoint{}, err
	}
	if err := storage.CheckStreamName(stream); err != nil {
		return storage.StreamCheckpoint{}, fmt.Errorf("memory: checkpoint %q: %w", stream, err)
	}
	ss := k.streams()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s := ss.m[stream]; s != nil {
		return s.cp, nil
	}
	return storage.StreamCheckpoint{}, nil
}

// TrimBefore implements [storage.Streams.TrimBefore] in one critical section.
func (k *KV) TrimBefore(ctx context.Context, stream string, t time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := storage.CheckStreamName(stream); err != nil {
		return 0, fmt.Errorf("memory: trim %q: %w", stream, err)
	}
	cutoff := t.UnixMilli()
	if cutoff <= 0 {
		return 0, nil
	}
	ss := k.streams()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[stream]
	if s == nil {
		return 0, nil
	}
	n := sort.Search(len(s.entries), func(i int) bool { return s.entries[i].id.MS >= uint64(cutoff) })
	s.trim(n)
	return int64(n), nil
}
