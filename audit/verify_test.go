package audit_test

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/actas-dev/actas/audit"
	redisstore "github.com/actas-dev/actas/storage/redis"
	"github.com/actas-dev/actas/storage/redistest"
)

// tamperEnv is a trail with n events on a real Redis (or what redistest provides), and raw access
// to its stream for tampering.
type tamperEnv struct {
	kv     *redisstore.KV
	tr     *audit.Trail
	events []audit.Event
	ids    []string // stream positions, oldest first
}

func newTamperEnv(t *testing.T, n int, maxLen int64) *tamperEnv {
	t.Helper()
	kv := redistest.New(t)
	env := &tamperEnv{kv: kv, tr: quietTrail(t, kv, func(o *audit.Options) { o.MaxLen = maxLen })}
	for i := range n {
		env.events = append(env.events, mustRecord(t, env.tr, grant(i)))
	}
	for _, m := range env.msgs(t) {
		env.ids = append(env.ids, m.ID)
	}
	return env
}

func (env *tamperEnv) key(name string) string { return env.kv.Prefix() + "{audit}:" + name }

func (env *tamperEnv) rdb() redis.UniversalClient { return env.kv.Client() }

func (env *tamperEnv) msgs(t *testing.T) []redis.XMessage {
	t.Helper()
	ms, err := env.rdb().XRange(context.Background(), env.key("log"), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// rewrite replaces the stream with f's result, keeping each message's position (positions must
// stay increasing, as in any Redis Stream).
func (env *tamperEnv) rewrite(t *testing.T, f func([]redis.XMessage) []redis.XMessage) {
	t.Helper()
	ctx := context.Background()
	ms := f(env.msgs(t))
	if err := env.rdb().Del(ctx, env.key("log")).Err(); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if err := env.rdb().XAdd(ctx, &redis.XAddArgs{Stream: env.key("log"), ID: m.ID,
			Values: []any{"h", m.Values["h"], "v", m.Values["v"]}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

func wantBreak(t *testing.T, rep audit.Report, kind audit.BreakKind, index int64, position string) {
	t.Helper()
	if rep.OK || rep.Break == nil {
		t.Fatalf("report = %+v: want a break", rep)
	}
	b := rep.Break
	if b.Kind != kind || b.Index != index || (position != "" && b.Position != position) || b.Message == "" {
		t.Fatalf("break = %+v; want %s at index %d, position %s", b, kind, index, position)
	}
}

func TestVerifyTamperingInRedis(t *testing.T) {
	t.Parallel()
	t.Logf("redis: %s", redistest.Which())
	cases := []struct {
		name   string
		n      int
		maxLen int64
		tamper func(t *testing.T, env *tamperEnv)
		check  func(t *testing.T, env *tamperEnv, rep audit.Report)
	}{
		{"ok/intact", 6, 0, nil, func(t *testing.T, env *tamperEnv, rep audit.Report) {
			wantOK(t, rep, 6)
			if rep.First != env.ids[0] || rep.Last != env.ids[5] || rep.Head != env.events[5].Hash || rep.Trimmed != 0 {
				t.Fatalf("report = %+v", rep)
			}
		}},
		{"fail/edited", 6, 0, func(t *testing.T, env *tamperEnv) {
			env.rewrite(t, func(ms []redis.XMessage) []redis.XMessage {
				v := ms[2].Values["v"].(string)
				ms[2].Values["v"] = strings.Replace(v, `"actor":"u-sam"`, `"actor":"u-eve"`, 1)
				return ms
			})
		}, func(t *testing.T, env *tamperEnv, rep audit.Report) {
			wantBreak(t, rep, audit.BreakEdited, 3, env.ids[2])
			if rep.Break.EventID != env.events[2].ID {
				t.Fatalf("event id %q, want %q", rep.Break.EventID, env.events[2].ID)
			}
		}},
		{"fail/edited-and-rehashed", 6, 0, func(t *testing.T, env *tamperEnv) {
			env.rewrite(t, func(ms []redis.XMessage) []redis.XMessage {
				v := strings.Replace(ms[2].Values["v"].(string), `"decision":"allow"`, `"decision":"deny"`, 1)
				ms[2].Values["v"], ms[2].Values["h"] = v, audit.HashOf([]byte(v))
				return ms
			})
		}, func(t *testing.T, env *tamperEnv, rep audit.Report) {
			wantBreak(t, rep, audit.BreakDeleted, 4, env.ids[3])
		}},
		{"fail/deleted-in-the-middle", 6, 0, func(t *testing.T, env *tamperEnv) {
			env.rdb().XDel(context.Background(), env.key("log"), env.ids[2])
		}, func(t *testing.T, env *tamperEnv, rep audit.Report) {
			wantBreak(t, rep, audit.BreakDeleted, 3, env.ids[3])
		}},
		{"fail/reordered", 6, 0, func(t *testing.T, env *tamperEnv) {
			env.rewrite(t, func(ms []redis.XMessage) []redis.XMessage {
				ms[2].Values, ms[3].Values = ms[3].Values, ms[2].Values
				return ms
			})
		}, func(t *testing.T, env *tamperEnv, rep audit.Report) {
			wantBreak(t, rep, audit.BreakReordered, 3, env.ids[2])
		}},
		{"fail/moved-to-the-end", 6, 0, func(t *testing.T, env *tamperEnv) {
			env.rewrite(t, func(ms []redis.XMessage) []redis.XMessage {
				moved := ms[1].Values
				for i := 1; i < len(ms)-1; i++ {
					ms[i].Values = ms[i+1].Values
				}
				ms[len(ms)-1].Values = moved
				return ms
			})
		}, func(t *testing.T, env *tamperEnv, rep audit.Report) {
			wantBreak(t, rep, audit.BreakReordered, 2, env.ids[1])
		}},
		{"fail/newest-deleted", 6, 0, func(t *testing.T, env *tamperEnv) {
			env.rdb().XDel(context.Background(), env.key("log"), env.ids[5])
		}, func(t *testing.T, env *tamperEnv, rep audit.Report) {
			wantBreak(t, rep, audit.BreakTruncated, 5, env.ids[4])
		}},
		{"fail/head-overwritten", 6, 0, func(t *testing.T, env *tamperEnv) {
			env.rdb().Set(context.Background(), env.key("head"), strings.Repeat("0", 64), 0)
		}, func(t *testing.T, env *tamperEnv, rep audit.Report) {
			wantBreak(t, rep, audit.BreakTruncated, 6, env.ids[5])
		}},
		{"fail/all-events-deleted", 6, 0, func(t *testing.T, env *tamperEnv) {
			env.rdb().Del(context.Background(), env.key("log"))
		}, func(t *testing.T, env *tamperEnv, rep audit.Report) {
			wantBreak(t, rep, audit.BreakTruncated, 0, "")
		}},
		{"fail/oldest-deleted-without-retention", 6, 0, func(t *testing.T, env *tamperEnv) {
			env.rdb().XDel(context.Background(), env.key("log"), env.ids[0])
		}, func(t *testing.T, env *tamperEnv, rep audit.Report) {
			wantBreak(t, rep, audit.BreakDeleted, 1, env.ids[1])
			if !strings.Contains(rep.Break.Message, "outside retention") {
				t.Fatalf("message %q", rep.Break.Message)
			}
		}},
		{"ok/trimmed-by-retention", 10, 4, nil, func(t *testing.T, env *tamperEnv, rep audit.Report) {
			wantOK(t, rep, 4)
			if rep.Trimmed != 6 || rep.First != env.ids[0] {
				t.Fatalf("report = %+v", rep)
			}
		}},
		{"fail/deleted-after-retention", 10, 4, func(t *testing.T, env *tamperEnv) {
			env.rdb().XDel(context.Background(), env.key("log"), env.ids[0]) // the oldest retained
		}, func(t *testing.T, env *tamperEnv, rep audit.Report) {
			wantBreak(t, rep, audit.BreakDeleted, 1, env.ids[1])
			if rep.Trimmed != 6 {
				t.Fatalf("trimmed %d", rep.Trimmed)
			}
		}},
		{"fail/trimmed-by-hand", 6, 0, func(t *testing.T, env *tamperEnv) {
			env.rdb().XTrimMaxLen(context.Background(), env.key("log"), 3)
		}, func(t *testing.T, env *tamperEnv, rep audit.Report) {
			wantBreak(t, rep, audit.BreakDeleted, 1, env.ids[3])
		}},
		{"fail/checkpoint-moved-over-a-deletion", 6, 0, func(t *testing.T, env *tamperEnv) {
			// An event is deleted and the checkpoint pointed at it, as if retention had trimmed up
			// to it: the events before it are still there, so the checkpoint is a lie.
			ctx := context.Background()
			env.rdb().XDel(ctx, env.key("log"), env.ids[3])
			env.rdb().HSet(ctx, env.key("checkpoint"), "head", env.events[3].Hash, "id", env.ids[3], "trimmed", 4)
		}, func(t *testing.T, env *tamperEnv, rep audit.Report) {
			wantBreak(t, rep, audit.BreakDeleted, 1, env.ids[0])
			if !strings.Contains(rep.Break.Message, "checkpoint") {
				t.Fatalf("message %q", rep.Break.Message)
			}
		}},
		{"fail/checkpoint-forged-after-deletion", 10, 4, func(t *testing.T, env *tamperEnv) {
			ctx := context.Background()
			env.rdb().XDel(ctx, env.key("log"), env.ids[0])
			env.rdb().HSet(ctx, env.key("checkpoint"), "head", strings.Repeat("f", 64))
		}, func(t *testing.T, env *tamperEnv, rep audit.Report) {
			wantBreak(t, rep, audit.BreakDeleted, 1, env.ids[1])
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := newTamperEnv(t, tc.n, tc.maxLen)
			if tc.tamper != nil {
				tc.tamper(t, env)
			}
			tc.check(t, env, mustVerify(t, env.tr))
		})
	}
}

// TestVerifyEmpty: a trail never written verifies as intact with no events.
func TestVerifyEmpty(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			wantOK(t, mustVerify(t, quietTrail(t, b.new(t), nil)), 0)
		})
	}
}

// TestVerifyWhileWritingAndTrimming: verification runs while another replica appends with a small
// MaxLen, so retention trims under the verifier's feet: the chain is still reported intact.
func TestVerifyWhileWritingAndTrimming(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s := b.new(t)
			writer := quietTrail(t, s, func(o *audit.Options) { o.MaxLen = 50 })
			for i := range 50 {
				mustRecord(t, writer, grant(i))
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := range 300 {
					if err := writer.Record(context.Background(), grant(i)); err != nil {
						t.Error(err)
						return
					}
				}
			}()
			defer func() { <-done }() // the writer stops before the store is closed
			reader := quietTrail(t, s, nil)
			for {
				rep := mustVerify(t, reader)
				if !rep.OK {
					t.Fatalf("report while writing: %+v %+v", rep, rep.Break)
				}
				select {
				case <-done:
					wantOK(t, mustVerify(t, reader), 50)
					return
				default:
				}
			}
		})
	}
}
