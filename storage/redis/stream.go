package redis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/actas-dev/actas/storage"
)

// A stream named s lives in three keys that share the hash tag {s}, so that one script can touch
// all three on a Redis Cluster:
//
//	<prefix>{s}:log         the Redis Stream; each entry has the fields h (chain head) and v (value)
//	<prefix>{s}:head        a string: the chain head set by the newest append
//	<prefix>{s}:checkpoint  a hash: head and id of the newest entry retention removed, trimmed count
//
// None of them expires: retention is by length (AppendChained's maxLen) and by age (TrimBefore).

var _ storage.Streams = (*KV)(nil)

// trimBatch bounds how many entries one TrimBefore script removes, so that a large backlog never
// blocks Redis for long; TrimBefore loops over batches.
const trimBatch = 1000

func (k *KV) streamKeys(stream string) []string {
	tag := "{" + stream + "}"
	return []string{k.key(tag + ":log"), k.key(tag + ":head"), k.key(tag + ":checkpoint")}
}

// appendScript: KEYS log, head, checkpoint; ARGV expectHead, maxLen, then head and value of each
// entry. Returns {1, id...} when appended, {0, currentHead} when the head differs (nothing written).
var appendScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[2]) or ''
if cur ~= ARGV[1] then return {0, cur} end
local res = {1}
for i = 3, #ARGV, 2 do
  res[#res + 1] = redis.call('XADD', KEYS[1], '*', 'h', ARGV[i], 'v', ARGV[i + 1])
end
redis.call('SET', KEYS[2], ARGV[#ARGV - 1])
local max = tonumber(ARGV[2])
if max > 0 then
  local n = redis.call('XLEN', KEYS[1])
  if n > max then
    local gone = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', n - max)
    local last = gone[#gone]
    local h = ''
    for i = 1, #last[2], 2 do
      if last[2][i] == 'h' then h = last[2][i + 1] end
    end
    redis.call('HSET', KEYS[3], 'head', h, 'id', last[1])
    redis.call('HINCRBY', KEYS[3], 'trimmed', #gone)
    redis.call('XTRIM', KEYS[1], 'MAXLEN', max)
  end
end
return res
`)

// trimScript: KEYS log, head, checkpoint; ARGV the last position to remove (inclusive), batch size.
// Removes up to batch entries at or before that position, oldest first, and returns how many.
var trimScript = redis.NewScript(`
local gone = redis.call('XRANGE', KEYS[1], '-', ARGV[1], 'COUNT', tonumber(ARGV[2]))
if #gone == 0 then return 0 end
local last = gone[#gone]
local h = ''
for i = 1, #last[2], 2 do
  if last[2][i] == 'h' then h = last[2][i + 1] end
end
local n = redis.call('XLEN', KEYS[1])
redis.call('HSET', KEYS[3], 'head', h, 'id', last[1])
redis.call('HINCRBY', KEYS[3], 'trimmed', #gone)
redis.call('XTRIM', KEYS[1], 'MAXLEN', n - #gone)
return #gone
`)

// AppendChained implements [storage.Streams.AppendChained]: a batch of one.
func (k *KV) AppendChained(ctx context.Context, stream, expectHead, newHead string, entry []byte, maxLen int64) (string, error) {
	ids, err := k.AppendChainedBatch(ctx, stream, expectHead, []storage.ChainedEntry{{Head: newHead, Value: entry}}, maxLen)
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// AppendChainedBatch implements [storage.Streams.AppendChainedBatch] with one script (an XADD with
// an auto-generated id per entry, SET of the head, exact XTRIM with the checkpoint update).
func (k *KV) AppendChainedBatch(ctx context.Context, stream, expectHead string, entries []storage.ChainedEntry, maxLen int64) ([]string, error) {
	if err := storage.CheckStreamName(stream); err != nil {
		return nil, fmt.Errorf("redis: append %q: %w", stream, err)
	}
	if err := storage.CheckChainedBatch(entries); err != nil {
		return nil, fmt.Errorf("redis: append %q: %w", stream, err)
	}
	if maxLen < 0 {
		maxLen = 0
	}
	args := make([]any, 0, 2+2*len(entries))
	args = append(args, expectHead, maxLen)
	for _, e := range entries {
		args = append(args, e.Head, e.Value)
	}
	// Not through the automatic pipeliner: the audit trail commits one batch at a time, and every
	// event of the batch waits for it, so it goes out at once on a connection of its own rather
	// than queued behind the other requests' commands (and their replies).
	c, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()
	res, err := appendScript.Run(c, k.rdb, k.streamKeys(stream), args...).Slice()
	if err != nil {
		return nil, wrap(ctx, "append", stream, err)
	}
	if len(res) < 2 {
		return nil, fmt.Errorf("redis: append %q: unexpected script result", stream)
	}
	if ok, _ := res[0].(int64); ok != 1 {
		return nil, fmt.Errorf("redis: append %q: head moved: %w", stream, storage.ErrConflict)
	}
	if len(res) != 1+len(entries) {
		return nil, fmt.Errorf("redis: append %q: unexpected script result", stream)
	}
	ids := make([]string, len(entries))
	for i, r := range res[1:] {
		id, _ := r.(string)
		if _, err := storage.ParseStreamID(id); err != nil {
			return nil, fmt.Errorf("redis: append %q: unexpected id: %w", stream, err)
		}
		ids[i] = id
	}
	return ids, nil
}

// ReadRange implements [storage.Streams.ReadRange] with XRANGE / XREVRANGE. Exclusive bounds are
// computed here (the next or previous position) rather than with "(", so any Redis 5+ serves it.
func (k *KV) ReadRange(ctx context.Context, stream, after string, limit int, reverse bool) ([]storage.StreamEntry, error) {
	if err := storage.CheckStreamName(stream); err != nil {
		return nil, fmt.Errorf("redis: read %q: %w", stream, err)
	}
	if err := storage.CheckReadLimit(limit); err != nil {
		return nil, fmt.Errorf("redis: read %q: %w", stream, err)
	}
	start, end := "-", "+"
	if after != "" {
		id, err := storage.ParseStreamID(after)
		if err != nil {
			return nil, fmt.Errorf("redis: read %q: %w", stream, err)
		}
		var edge string
		var none bool
		if reverse {
			edge, none = prevID(id)
		} else {
			edge, none = nextStreamID(id)
		}
		if none {
			return nil, nil
		}
		if reverse {
			end = edge
		} else {
			start = edge
		}
	}
	c, cancel := k.call(ctx)
	defer cancel()
	key := k.streamKeys(stream)[0]
	var msgs []redis.XMessage
	var err error
	if reverse {
		msgs, err = k.on(c).XRevRangeN(c, key, end, start, int64(limit)).Result()
	} else {
		msgs, err = k.on(c).XRangeN(c, key, start, end, int64(limit)).Result()
	}
	if err != nil {
		return nil, wrap(ctx, "read", stream, err)
	}
	out := make([]storage.StreamEntry, 0, len(msgs))
	for _, m := range msgs {
		h, _ := m.Values["h"].(string)
		v, _ := m.Values["v"].(string)
		out = append(out, storage.StreamEntry{ID: m.ID, Head: h, Value: []byte(v)})
	}
	return out, nil
}

// nextStreamID returns the smallest position after id; none when id is the largest.
func nextStreamID(id storage.StreamID) (string, bool) {
	switch {
	case id.Seq < math.MaxUint64:
		return storage.StreamID{MS: id.MS, Seq: id.Seq + 1}.String(), false
	case id.MS < math.MaxUint64:
		return storage.StreamID{MS: id.MS + 1}.String(), false
	}
	return "", true
}

// prevID returns the largest position before id; none when id is 0-0.
func prevID(id storage.StreamID) (string, bool) {
	switch {
	case id.Seq > 0:
		return storage.StreamID{MS: id.MS, Seq: id.Seq - 1}.String(), false
	case id.MS > 0:
		return storage.StreamID{MS: id.MS - 1, Seq: math.MaxUint64}.String(), false
	}
	return "", true
}

// Head implements [storage.Streams.Head].
func (k *KV) Head(ctx context.Context, stream string) (string, error) {
	if err := storage.CheckStreamName(stream); err != nil {
		return "", fmt.Errorf("redis: head %q: %w", stream, err)
	}
	c, cancel := k.call(ctx)
	defer cancel()
	h, err := k.on(c).Get(c, k.streamKeys(stream)[1]).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", wrap(ctx, "head", stream, err)
	}
	return h, nil
}

// Checkpoint implements [storage.Streams.Checkpoint].
func (k *KV) Checkpoint(ctx context.Context, stream string) (storage.StreamCheckpoint, error) {
	if err := storage.CheckStreamName(stream); err != nil {
		return storage.StreamCheckpoint{}, fmt.Errorf("redis: checkpoint %q: %w", stream, err)
	}
	c, cancel := k.call(ctx)
	defer cancel()
	m, err := k.on(c).HGetAll(c, k.streamKeys(stream)[2]).Result()
	if err != nil {
		return storage.StreamCheckpoint{}, wrap(ctx, "checkpoint", stream, err)
	}
	cp := storage.StreamCheckpoint{Head: m["head"], ID: m["id"]}
	if t := m["trimmed"]; t != "" {
		if cp.Trimmed, err = strconv.ParseInt(t, 10, 64); err != nil {
			return storage.StreamCheckpoint{}, fmt.Errorf("redis: checkpoint %q: trimmed count does not parse", stream)
		}
	}
	return cp, nil
}

// TrimBefore implements [storage.Streams.TrimBefore] in batches of [trimBatch] entries, each one
// script that removes the entries and updates the checkpoint together.
func (k *KV) TrimBefore(ctx context.Context, stream string, t time.Time) (int64, error) {
	if err := storage.CheckStreamName(stream); err != nil {
		return 0, fmt.Errorf("redis: trim %q: %w", stream, err)
	}
	cutoff := t.UnixMilli()
	if cutoff <= 0 {
		return 0, nil
	}
	last, _ := prevID(storage.StreamID{MS: uint64(cutoff)})
	var total int64
	for {
		c, cancel := k.call(ctx)
		n, err := trimScript.Run(c, k.on(c), k.streamKeys(stream), last, trimBatch).Int64()
		cancel()
		if err != nil {
			return total, wrap(ctx, "trim", stream, err)
		}
		total += n
		if n < trimBatch {
			return total, nil
		}
	}
}
