package audit

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/actas-dev/actas/storage"
)

// Defaults of [Options].
const (
	DefaultStream      = "audit"
	DefaultMaxAttempts = 50
	// trimEvery bounds how often Record applies retention by age.
	trimEvery = time.Minute
	// maxBackoff caps the pause between two attempts after a conflict.
	maxBackoff = 20 * time.Millisecond
	// bestEffortTimeout bounds RecordBestEffort, which does not end with the caller's context.
	bestEffortTimeout = 5 * time.Second
)

// ErrContention: the chain head kept moving under this writer for [Options.MaxAttempts] attempts
// (other replicas appending). Nothing was recorded. It wraps [storage.ErrConflict].
var ErrContention = fmt.Errorf("audit: chain head kept moving: %w", storage.ErrConflict)

// Options configure a [Trail].
type Options struct {
	// Store is the durable sink (required): the storage backend, type-asserted to storage.Streams.
	Store storage.Streams
	// Stream names the stream in the store; default DefaultStream ("audit").
	Stream string
	// MaxLen keeps at most this many events (the oldest are trimmed, recorded in the checkpoint);
	// 0: no limit by length (the memory backend still keeps a bounded ring).
	MaxLen int64
	// MaxAge trims events older than this, at most once a minute, after a successful Record;
	// 0: no limit by age.
	MaxAge time.Duration
	// Logger receives one structured line per event (the log sink); default slog.Default().
	Logger *slog.Logger
	// Now is the clock for event times and retention; default time.Now.
	Now func() time.Time
	// RequestID, when set, fills an event's empty RequestID from the context (cmd passes
	// logging.RequestID; audit imports nothing of ours but storage).
	RequestID func(context.Context) string
	// MaxAttempts bounds the compare-and-set attempts of one Record; default DefaultMaxAttempts.
	MaxAttempts int
	// Registerer, when set, gets the trail's collectors (see [Trail.Collectors]).
	Registerer prometheus.Registerer
}

// Trail is the audit trail: it validates events, chains them by SHA-256 and appends them to the
// durable stream, logs each one, and reads and verifies the stream. It is safe for concurrent use;
// several Trails (one per replica) may append to one stream and keep one chain.
type Trail struct {
	o   Options
	log *slog.Logger
	// sem serializes this process's appends (a channel so that waiting honours the context);
	// conflicts then only arise between replicas. Whoever holds it commits every queued event in
	// one store call (group commit), so concurrent requests share round trips instead of waiting
	// for each other's.
	sem chan struct{}
	// qmu guards queue, the events waiting for the next commit.
	qmu   sync.Mutex
	queue []*pending
	// head is the chain head this Trail last saw, valid while headOK; guarded by sem.
	head     string
	headOK   bool
	lastTrim atomic.Int64 // unix ns of the last retention-by-age pass
	m        metrics
}

// New returns a Trail; the error names the option at fault.
func New(o Options) (*Trail, error) {
	if o.Store == nil {
		return nil, errors.New("audit: Options.Store is required")
	}
	if o.Stream == "" {
		o.Stream = DefaultStream
	}
	if err := storage.CheckStreamName(o.Stream); err != nil {
		return nil, fmt.Errorf("audit: Options.Stream: %w", err)
	}
	if o.MaxLen < 0 || o.MaxAge < 0 || o.MaxAttempts < 0 {
		return nil, errors.New("audit: Options.MaxLen, MaxAge and MaxAttempts must not be negative")
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	t := &Trail{o: o, log: o.Logger, sem: make(chan struct{}, 1), m: newMetrics()}
	if o.Registerer != nil {
		for _, c := range t.Collectors() {
			if err := o.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("audit: registering metrics: %w", err)
			}
		}
	}
	return t, nil
}

// Stream returns the name of the stream the trail writes.
func (t *Trail) Stream() string { return t.o.Stream }

// Record appends e to the trail and writes its log line. It is the call for events that are part
// of what they record — a grant: when Record returns an error, the caller must fail closed (issue
// no token, undo what it wrote, answer 503). See [Trail.Append] for the contract.
func (t *Trail) Record(ctx context.Context, e Event) error {
	_, err := t.Append(ctx, e)
	return err
}

// errBestEffortTimeout is the cause of RecordBestEffort's own deadline.
var errBestEffortTimeout = errors.New("audit: the store did not take a best-effort event in time")

// RecordBestEffort records e for events whose loss must not fail the caller: denials, failed
// logins. The event is passed through [Sanitize] first, so a malformed request is recorded without
// what made it malformed. When it still cannot be stored, the lost-events counter
// (actas_audit_events_lost_total) is incremented and an error is logged with the event's fields.
// It never returns an error; it does not end with ctx (a client that hangs up does not erase its
// denial) but is bounded by its own timeout. On a nil Trail it does nothing.
func (t *Trail) RecordBestEffort(ctx context.Context, e Event) {
	if t == nil {
		return
	}
	// The caller's context may end (a client hanging up on its denial); the record must not.
	ctx, cancel := context.WithTimeoutCause(context.WithoutCancel(ctx), bestEffortTimeout, errBestEffortTimeout)
	defer cancel()
	e = Sanitize(e)
	if d := e.Time.Sub(t.o.Now()); !e.Time.IsZero() && (d > MaxClockSkew || d < -MaxClockSkew) {
		e.Time = time.Time{}
		e.Detail = withSanitized(e.Detail)
	}
	// A failure is logged and counted as lost by Append.
	_, _ = t.Append(ctx, e)
}

// Append records e and returns it as stored (with ID, Time, PrevHash and Hash set).
//
// The contract:
//
//   - e is checked with [Validate]; an invalid event is refused with an error wrapping
//     [ErrInvalidEvent] (or [ErrSecret]) and nothing is written.
//   - ID (128 random bits) and Time (the trail's clock, UTC) are filled when empty; RequestID from
//     the context when Options.RequestID is set. A Time given by the caller must be within
//     [MaxClockSkew] of the trail's clock: an event's time is when it was recorded (a time reported
//     by someone else, such as a resource server's activity time, belongs in Detail). This keeps
//     event times close to stream positions, which Query and Export use to find times quickly.
//   - The event is chained: PrevHash is the current head, Hash the SHA-256 of [Canonical], and the
//     append is a compare-and-set on the head, retried (with a short jittered pause, re-reading the
//     head) when another replica appended first, at most Options.MaxAttempts times
//     ([ErrContention]).
//   - A nil error means the event is durably in the store (as durable as the backend: a Redis
//     failover may lose the last writes that had not reached a replica).
//   - An error means the caller must treat the event as not recorded. When the store did not
//     answer (the error wraps [storage.ErrUnavailable] or the context's error), the append may
//     still have happened: the trail may then hold the record of a grant the caller undid, never
//     the reverse.
//   - Either way one log line is written: level INFO "audit event" when stored, ERROR "audit event
//     not stored" otherwise, with the event's fields (no field ever holds a credential) — or WARN
//     "audit event abandoned" when the append ended with the caller's own context (a client that
//     went away; counted apart from lost events, since the store did not fail).
func (t *Trail) Append(ctx context.Context, e Event) (Event, error) {
	return t.Enqueue(ctx, e)()
}

// Enqueue is [Trail.Append] in two steps: it checks e and queues it for the next commit now, and
// the function it returns (to be called once, from any goroutine) waits until the event is
// stored, or has failed, writes its log line and returns what Append would. Events are chained
// in the order they were queued, so an event queued after another is never stored before it,
// whoever waits first: a caller can queue an event, go on, and let a later event of its own wait
// for both. An event whose wait is never called is still committed by the next waiter, but
// neither logged nor counted. ctx bounds the wait; its values (the request id) are taken now.
func (t *Trail) Enqueue(ctx context.Context, e Event) func() (Event, error) {
	if e.ID == "" {
		e.ID = newID()
	}
	now := t.o.Now()
	if e.Time.IsZero() {
		e.Time = now
	}
	e.Time = e.Time.UTC()
	if d := e.Time.Sub(now); d > MaxClockSkew || d < -MaxClockSkew {
		err := fmt.Errorf("%w: time is more than %v away from the trail's clock (leave it zero)", ErrInvalidEvent, MaxClockSkew)
		return func() (Event, error) { t.lost(ctx, e, err); return Event{}, err }
	}
	if e.RequestID == "" && t.o.RequestID != nil {
		e.RequestID = t.o.RequestID(ctx)
	}
	e.PrevHash, e.Hash = "", ""
	if err := Validate(e); err != nil {
		return func() (Event, error) { t.lost(ctx, e, err); return Event{}, err }
	}
	start := time.Now()
	p := t.push(&e)
	return func() (Event, error) {
		pos, err := t.wait(ctx, p, &e)
		t.m.appendSeconds.Observe(time.Since(start).Seconds())
		if err != nil {
			// A caller that gave up abandons its event; the best-effort recorder's own deadline
			// passing means the store was too slow: that event is lost.
			if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) && !errors.Is(context.Cause(ctx), errBestEffortTimeout) {
				t.abandoned(ctx, e, err)
			} else {
				t.lost(ctx, e, err)
			}
			return Event{}, err
		}
		t.m.recorded.WithLabelValues(e.Type).Inc()
		t.log.LogAttrs(ctx, slog.LevelInfo, "audit event", append(t.logAttrs(ctx, e), slog.String("audit_position", pos))...)
		t.maybeTrim(ctx)
		return e, nil
	}
}

// pending is an event waiting in the queue; done is closed once pos or err is set.
type pending struct {
	ev   Event // a copy: the committer never touches the caller's event; it sets PrevHash and Hash
	pos  string
	err  error
	done chan struct{}
}

// commitTimeout bounds one group commit, which runs on behalf of several callers and so does not
// end with any one caller's context.
const commitTimeout = 10 * time.Second

// push queues e for the next commit; wait then waits until a commit (its own, or another
// caller's that took it along) stored it or failed; on success it sets e.PrevHash and e.Hash and
// returns the position.
//
// Group commit: the caller that holds sem takes every queued event (up to
// storage.MaxChainedBatch), chains them in queue order onto the head and appends them with one
// compare-and-set on the head ([storage.Streams.AppendChainedBatch]), retried on conflicts as a
// whole. A caller whose context ends while its event is still queued takes it out: it is never
// written. Once a commit has taken it, the caller gets its context's error and the event may still
// be stored, as when a store call times out.
func (t *Trail) push(e *Event) *pending {
	p := &pending{ev: *e, done: make(chan struct{})}
	t.qmu.Lock()
	t.queue = append(t.queue, p)
	t.qmu.Unlock()
	return p
}

func (t *Trail) wait(ctx context.Context, p *pending, e *Event) (string, error) {
	settled := func() (string, error) {
		if p.err != nil {
			return "", p.err
		}
		e.PrevHash, e.Hash = p.ev.PrevHash, p.ev.Hash
		return p.pos, nil
	}
	for {
		select {
		case <-p.done:
			return settled()
		case t.sem <- struct{}{}:
			t.qmu.Lock()
			n := min(len(t.queue), storage.MaxChainedBatch)
			batch := slices.Clone(t.queue[:n])
			t.queue = slices.Delete(t.queue, 0, n)
			t.qmu.Unlock()
			if len(batch) > 0 {
				cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
				t.commit(cctx, batch)
				cancel()
			}
			<-t.sem
		case <-ctx.Done():
			t.qmu.Lock()
			i := slices.Index(t.queue, p)
			if i >= 0 {
				t.queue = slices.Delete(t.queue, i, i+1)
			}
			t.qmu.Unlock()
			if i < 0 {
				select {
				case <-p.done: // committed meanwhile
					return settled()
				default:
				}
			}
			return "", fmt.Errorf("audit: append: %w", ctx.Err())
		}
	}
}

// commit chains and appends batch with one compare-and-set per attempt and settles every
// pending event of it. It runs while holding sem.
func (t *Trail) commit(ctx context.Context, batch []*pending) {
	settle := func(err error) {
		for _, p := range batch {
			p.err = err
			close(p.done)
		}
	}
	entries := make([]storage.ChainedEntry, len(batch))
	for attempt := range t.o.MaxAttempts {
		if !t.headOK {
			h, err := t.o.Store.Head(ctx, t.o.Stream)
			if err != nil {
				settle(fmt.Errorf("audit: reading the chain head: %w", err))
				return
			}
			t.head, t.headOK = h, true
		}
		prev := t.head
		for i, p := range batch {
			p.ev.PrevHash = prev
			enc := Canonical(p.ev)
			prev = HashOf(enc)
			entries[i] = storage.ChainedEntry{Head: prev, Value: enc}
		}
		ids, err := t.o.Store.AppendChainedBatch(ctx, t.o.Stream, t.head, entries, t.o.MaxLen)
		if err == nil {
			for i, p := range batch {
				p.ev.Hash, p.pos = entries[i].Head, ids[i]
			}
			t.head = prev
			settle(nil)
			return
		}
		t.headOK = false
		if !errors.Is(err, storage.ErrConflict) {
			settle(fmt.Errorf("audit: append: %w", err))
			return
		}
		t.m.conflicts.Inc()
		if attempt == t.o.MaxAttempts-1 {
			break
		}
		pause := time.Duration(rand.Int64N(int64(min(time.Millisecond<<min(attempt, 10), maxBackoff)) + 1))
		timer := time.NewTimer(pause)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			settle(fmt.Errorf("audit: append: %w", ctx.Err()))
			return
		}
	}
	settle(ErrContention)
}

// lost logs an event that was not stored and counts it.
func (t *Trail) lost(ctx context.Context, e Event, err error) {
	typ := e.Type
	if !KnownType(typ) {
		typ = "unknown"
	}
	t.m.lost.WithLabelValues(typ).Inc()
	attrs := t.logAttrs(ctx, e)
	if errors.Is(err, ErrInvalidEvent) {
		// The values may be what Validate refused (a token): log only the type.
		attrs = []slog.Attr{slog.String("event_type", typ)}
	}
	t.log.LogAttrs(ctx, slog.LevelError, "audit event not stored", append(attrs, slog.String("err", err.Error()))...)
}

// abandoned logs an event whose caller's context ended before the append finished (the store may
// still have taken it, see Append) and counts it apart from lost events.
func (t *Trail) abandoned(ctx context.Context, e Event, err error) {
	typ := e.Type // Validate passed: a catalogue type
	t.m.abandoned.WithLabelValues(typ).Inc()
	t.log.LogAttrs(ctx, slog.LevelWarn, "audit event abandoned", append(t.logAttrs(ctx, e), slog.String("err", err.Error()))...)
}

// maybeTrim applies retention by age at most once per trimEvery; failures are logged.
func (t *Trail) maybeTrim(ctx context.Context) {
	if t.o.MaxAge <= 0 {
		return
	}
	now := t.o.Now()
	last := t.lastTrim.Load()
	if now.UnixNano()-last < int64(trimEvery) || !t.lastTrim.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	if _, err := t.Trim(ctx); err != nil {
		t.log.LogAttrs(ctx, slog.LevelWarn, "audit retention by age failed", slog.String("err", err.Error()))
	}
}

// Trim removes the events older than Options.MaxAge (nothing when MaxAge is 0), recording the
// newest removed one in the checkpoint, and returns how many it removed.
func (t *Trail) Trim(ctx context.Context) (int64, error) {
	if t.o.MaxAge <= 0 {
		return 0, nil
	}
	n, err := t.o.Store.TrimBefore(ctx, t.o.Stream, t.o.Now().Add(-t.o.MaxAge))
	if err != nil {
		return n, fmt.Errorf("audit: trim: %w", err)
	}
	return n, nil
}

func newID() string {
	b := make([]byte, 16)
	_, _ = crand.Read(b) // never fails on supported platforms
	return hex.EncodeToString(b)
}

// logAttrs are an event's fields as log attributes (snake_case, "event_" where a bare name would
// clash with the logger's own keys). The request id is left to the log handler when the context
// carries the same one.
func (t *Trail) logAttrs(ctx context.Context, e Event) []slog.Attr {
	as := make([]slog.Attr, 0, 20)
	add := func(k, v string) {
		if v != "" {
			as = append(as, slog.String(k, v))
		}
	}
	add("event_id", e.ID)
	add("event_type", e.Type)
	if !e.Time.IsZero() {
		add("event_time", e.Time.UTC().Format(TimeLayout))
	}
	add("actor", e.Actor)
	add("target", e.Target)
	add("client_id", e.Client)
	add("representation_id", e.RepresentationID)
	add("consent_id", e.ConsentID)
	add("decision", e.Decision)
	add("rule", e.Rule)
	add("reason_code", e.ReasonCode)
	add("reason_text", e.ReasonText)
	add("ticket", e.Ticket)
	add("source_address", e.SourceAddress)
	add("user_agent", e.UserAgent)
	if t.o.RequestID == nil || t.o.RequestID(ctx) != e.RequestID {
		add("event_request_id", e.RequestID)
	}
	add("prev_hash", e.PrevHash)
	add("hash", e.Hash)
	if len(e.Detail) > 0 {
		keys := make([]string, 0, len(e.Detail))
		for k := range e.Detail {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		d := make([]any, 0, len(keys))
		for _, k := range keys {
			d = append(d, slog.String(k, e.Detail[k]))
		}
		as = append(as, slog.Group("detail", d...))
	}
	return as
}
