package storagetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/actas-dev/actas/storage"
)

var kvSetsCases = []kvCase{
	{"ok/members", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.SetAdd(t.Context(), n.key("s"), time.Hour, "m1", "m2"))
		kvMust(t, kv.SetAdd(t.Context(), n.key("s"), time.Hour, "m2", "m3"))
		kvWantMembers(t, kv, n.key("s"), "m1", "m2", "m3")
	}},
	{"ok/missing-is-nil", func(t *testing.T, kv storage.KV, n kvNS) {
		kvWantMembers(t, kv, n.key("missing"))
	}},
	{"ok/remove", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.SetAdd(t.Context(), n.key("s"), time.Hour, "m1", "m2", "m3"))
		kvMust(t, kv.SetRemove(t.Context(), n.key("s"), "m1", "not-a-member"))
		kvWantMembers(t, kv, n.key("s"), "m2", "m3")
	}},
	{"ok/remove-last-member-empties", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.SetAdd(t.Context(), n.key("s"), time.Hour, "m1", "m2"))
		kvMust(t, kv.SetRemove(t.Context(), n.key("s"), "m1", "m2"))
		kvWantMembers(t, kv, n.key("s"))
		_, err := kv.TTL(t.Context(), n.key("s"))
		kvWantErr(t, err, storage.ErrNotFound)
	}},
	{"ok/remove-from-missing-set", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.SetRemove(t.Context(), n.key("missing"), "m"))
	}},
	{"ok/new-set-gets-ttl", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.SetAdd(t.Context(), n.key("s"), time.Hour, "m"))
		kvWantTTLAbout(t, kv, n.key("s"), time.Hour)
	}},
	{"ok/ttl-only-extends", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.SetAdd(t.Context(), n.key("s"), time.Hour, "m1"))
		kvMust(t, kv.SetAdd(t.Context(), n.key("s"), time.Minute, "m2"))
		kvWantTTLAbout(t, kv, n.key("s"), time.Hour)
		kvMust(t, kv.SetAdd(t.Context(), n.key("s"), 2*time.Hour, "m3"))
		kvWantTTLAbout(t, kv, n.key("s"), 2*time.Hour)
		kvWantMembers(t, kv, n.key("s"), "m1", "m2", "m3")
	}},
	{"ok/ttl-zero-removes-expiry", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.SetAdd(t.Context(), n.key("s"), time.Hour, "m1"))
		kvMust(t, kv.SetAdd(t.Context(), n.key("s"), 0, "m2"))
		kvWantTTL(t, kv, n.key("s"), 0)
		// A set without expiry is not given one: that would shorten it.
		kvMust(t, kv.SetAdd(t.Context(), n.key("s"), time.Minute, "m3"))
		kvWantTTL(t, kv, n.key("s"), 0)
	}},
}

var kvTtlCases = []kvCase{
	{"fail/not-found", func(t *testing.T, kv storage.KV, n kvNS) {
		_, err := kv.TTL(t.Context(), n.key("missing"))
		kvWantErr(t, err, storage.ErrNotFound)
	}},
	{"ok/no-expiry", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte("v"), 0))
		kvWantTTL(t, kv, n.key("k"), 0)
	}},
	{"ok/remaining", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte("v"), 30*time.Minute))
		kvWantTTLAbout(t, kv, n.key("k"), 30*time.Minute)
	}},
}

// kvContextCases: a call with a cancelled context fails with an error wrapping context.Canceled and
// changes nothing.
var kvContextCases = []kvCase{
	{"fail/canceled", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Set(t.Context(), n.tagged("k"), []byte("v"), time.Hour))
		ctx := kvCanceled(t)
		calls := []struct {
			name string
			call func(ctx context.Context) error
		}{
			{"get", func(ctx context.Context) error { _, err := kv.Get(ctx, n.tagged("k")); return err }},
			{"set", func(ctx context.Context) error { return kv.Set(ctx, n.tagged("k"), []byte("w"), time.Hour) }},
			{"create", func(ctx context.Context) error { return kv.Create(ctx, n.tagged("new"), []byte("w"), time.Hour) }},
			{"create-all", func(ctx context.Context) error {
				return kv.CreateAll(ctx, []storage.Entry{{Key: n.tagged("new"), Value: []byte("w"), TTL: time.Hour}})
			}},
			{"compare-and-swap", func(ctx context.Context) error {
				return kv.CompareAndSwap(ctx, n.tagged("k"), []byte("v"), []byte("w"), time.Hour)
			}},
			{"compare-and-delete", func(ctx context.Context) error { return kv.CompareAndDelete(ctx, n.tagged("k"), []byte("v")) }},
			{"delete", func(ctx context.Context) error { return kv.Delete(ctx, n.tagged("k")) }},
			{"set-add", func(ctx context.Context) error { return kv.SetAdd(ctx, n.tagged("s"), time.Hour, "m") }},
			{"set-remove", func(ctx context.Context) error { return kv.SetRemove(ctx, n.tagged("s"), "m") }},
			{"set-members", func(ctx context.Context) error { _, err := kv.SetMembers(ctx, n.tagged("s")); return err }},
			{"ttl", func(ctx context.Context) error { _, err := kv.TTL(ctx, n.tagged("k")); return err }},
			{"ping", func(ctx context.Context) error { return kv.Ping(ctx) }},
		}
		for _, c := range calls {
			if err := c.call(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("%s with a cancelled context: error = %v, want context.Canceled", c.name, err)
			}
		}
		kvWantValue(t, kv, n.tagged("k"), []byte("v"))
		kvWantMissing(t, kv, n.tagged("new"))
	}},
}

// kvErrorTextCases: values may be tokens, so no error text carries one.
var kvErrorTextCases = []kvCase{
	{"ok/no-value-in-errors", func(t *testing.T, kv storage.KV, n kvNS) {
		secret := "s3cret-" + string(n)
		other := "0ther-" + string(n)
		kvMust(t, kv.Set(t.Context(), n.tagged("k"), []byte(secret), time.Hour))
		errs := []error{
			kv.Create(t.Context(), n.tagged("k"), []byte(other), time.Hour),
			kv.CreateAll(t.Context(), []storage.Entry{
				{Key: n.tagged("new"), Value: []byte(other), TTL: time.Hour},
				{Key: n.tagged("k"), Value: []byte(other), TTL: time.Hour},
			}),
			kv.CompareAndSwap(t.Context(), n.tagged("k"), []byte(other), []byte(other), time.Hour),
			kv.CompareAndDelete(t.Context(), n.tagged("k"), []byte(other)),
			kv.CompareAndSwap(t.Context(), n.tagged("missing"), []byte(secret), []byte(other), time.Hour),
			kv.CompareAndDelete(t.Context(), n.tagged("missing"), []byte(secret)),
		}
		for i, err := range errs {
			if err == nil {
				t.Fatalf("call %d: no error", i)
			}
			if msg := err.Error(); strings.Contains(msg, secret) || strings.Contains(msg, other) {
				t.Errorf("call %d: error text %q contains a value", i, msg)
			}
		}
	}},
}
