package logging

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// KeyRequestID is the attribute key under which the request id appears on every log line.
const KeyRequestID = "request_id"

// Sentinel errors of [New].
var (
	// ErrFormat: the format is neither "json" nor "text".
	ErrFormat = errors.New("logging: unknown format")
	// ErrLevel: the level is not one of debug, info, warn, error (optionally with an offset, "info+2").
	ErrLevel = errors.New("logging: unknown level")
)

// New returns a logger that writes to w in format "json" (also for "") or "text", at level "debug",
// "info" (also for ""), "warn" or "error" (case-insensitive; slog's "warn+1" offsets are accepted).
//
// Every record logged with a context that carries a request id ([WithRequestID]) gets a top-level
// "request_id" attribute, and attributes whose key names a credential ([IsSensitiveKey]) are logged as
// "[redacted]". An unknown format or level is an error wrapping [ErrFormat] or [ErrLevel].
func New(w io.Writer, format, level string) (*slog.Logger, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lvl, ReplaceAttr: redactAttr}
	var h slog.Handler
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "", "json":
		h = slog.NewJSONHandler(w, opts)
	case "text":
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("%w %q (want json or text)", ErrFormat, format)
	}
	return slog.New(NewHandler(h)), nil
}

// ParseLevel parses a level name as [New] does; "" is info.
func ParseLevel(level string) (slog.Level, error) {
	var lvl slog.Level
	if strings.TrimSpace(level) == "" {
		return slog.LevelInfo, nil
	}
	if err := lvl.UnmarshalText([]byte(strings.TrimSpace(level))); err != nil {
		return 0, fmt.Errorf("%w %q (want debug, info, warn or error)", ErrLevel, level)
	}
	return lvl, nil
}

// NewHandler wraps inner so that every record handled with a context carrying a request id gets a
// top-level "request_id" attribute (unless the record already has one). It changes nothing else.
func NewHandler(inner slog.Handler) slog.Handler {
	return &contextHandler{root: inner, cur: inner}
}

// contextHandler adds the request id from the context. To keep request_id at the top level even after
// WithGroup, it remembers the handler as it was before any derivation (root) and the derivations (ops);
// cur is root with ops applied. Only records logged through a grouped handler with a request id pay for
// replaying ops.
type contextHandler struct {
	root      slog.Handler
	cur       slog.Handler
	ops       []handlerOp
	hasGroups bool
}

// handlerOp is one WithAttrs (group == "") or WithGroup call.
type handlerOp struct {
	group string
	attrs []slog.Attr
}

var _ slog.Handler = (*contextHandler)(nil)

func (h *contextHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.cur.Enabled(ctx, l)
}

func (h *contextHandler) Handle(ctx context.Context, r slog.Record) error {
	id := RequestID(ctx)
	if id == "" || hasAttr(r, KeyRequestID) {
		return h.cur.Handle(ctx, r)
	}
	if !h.hasGroups {
		r = r.Clone()
		r.AddAttrs(slog.String(KeyRequestID, id))
		return h.cur.Handle(ctx, r)
	}
	// Put request_id on the root, then replay the derivations, so it stays outside the groups.
	hh := h.root.WithAttrs([]slog.Attr{slog.String(KeyRequestID, id)})
	for _, op := range h.ops {
		if op.group != "" {
			hh = hh.WithGroup(op.group)
		} else {
			hh = hh.WithAttrs(op.attrs)
		}
	}
	return hh.Handle(ctx, r)
}

func (h *contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return h.derive(handlerOp{attrs: attrs}, h.cur.WithAttrs(attrs), false)
}

func (h *contextHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.derive(handlerOp{group: name}, h.cur.WithGroup(name), true)
}

func (h *contextHandler) derive(op handlerOp, cur slog.Handler, group bool) *contextHandler {
	ops := make([]handlerOp, len(h.ops), len(h.ops)+1)
	copy(ops, h.ops)
	return &contextHandler{root: h.root, cur: cur, ops: append(ops, op), hasGroups: h.hasGroups || group}
}

// hasAttr reports whether the record itself carries a top-level attribute with this key.
func hasAttr(r slog.Record, key string) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			found = true
			return false
		}
		return true
	})
	return found
}

// Floor returns a logger that writes l's records and, whatever level l's handler is set to, every
// record at level or above: the audit trail logs through Floor(log, slog.LevelInfo), since its
// log sink is always on (docs/audit.md) even when log.level is warn or error. Lines go to the same
// handler (same writer, format, redaction and request id).
func Floor(l *slog.Logger, level slog.Level) *slog.Logger {
	return slog.New(floorHandler{inner: l.Handler(), level: level})
}

type floorHandler struct {
	inner slog.Handler
	level slog.Level
}

func (h floorHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level || h.inner.Enabled(ctx, l)
}

// Handle passes r on: slog's built-in handlers check the level only in Enabled.
func (h floorHandler) Handle(ctx context.Context, r slog.Record) error { return h.inner.Handle(ctx, r) }

func (h floorHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return floorHandler{inner: h.inner.WithAttrs(as), level: h.level}
}

func (h floorHandler) WithGroup(name string) slog.Handler {
	return floorHandler{inner: h.inner.WithGroup(name), level: h.level}
}
