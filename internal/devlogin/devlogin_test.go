package devlogin

import (
	"testing"
	"time"
)

func TestRememberStep(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	if got := usedStep("http://127.0.0.1:8080", "sam"); got != -1 {
		t.Fatalf("usedStep before any run = %d, want -1", got)
	}
	now := step(time.Now())
	rememberStep("http://127.0.0.1:8080", "sam", now)
	if got := usedStep("http://127.0.0.1:8080", "sam"); got != now {
		t.Fatalf("usedStep = %d, want %d", got, now)
	}
	if got := usedStep("http://127.0.0.1:8080", "ada"); got != -1 {
		t.Fatalf("another user's step = %d, want -1", got)
	}
	if got := usedStep("http://127.0.0.1:18080", "sam"); got != -1 {
		t.Fatalf("another issuer's step = %d, want -1", got)
	}
}

func TestStep(t *testing.T) {
	base := time.Unix(1_700_000_020, 0) // 10 s into a 30 s step (1,700,000,010 is a multiple of 30)
	if step(base) != step(base.Add(19*time.Second)) || step(base) == step(base.Add(20*time.Second)) {
		t.Fatal("step does not follow 30 s boundaries")
	}
}
