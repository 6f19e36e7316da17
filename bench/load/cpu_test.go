package main

import (
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	// A command name with a space and a parenthesis; utime 250 and stime 50 ticks = 3 s.
	line := "4242 (actas (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 123 456 789\n"
	d, err := parseProcStat(line)
	if err != nil || d != 3*time.Second {
		t.Fatalf("parseProcStat = %v, %v; want 3s", d, err)
	}
	for _, bad := range []string{"", "4242 actas S 1", "4242 (a) S 1 2 3", "4242 (a) S 1 4242 4242 0 -1 0 0 0 0 0 x 50 0"} {
		if _, err := parseProcStat(bad); err == nil {
			t.Errorf("parseProcStat(%q) accepted", bad)
		}
	}
}

func TestParseCPUProcs(t *testing.T) {
	ps, err := parseCPUProcs("server=12, redis=34")
	if err != nil || len(ps) != 2 || ps[0] != (cpuProc{"server", 12}) || ps[1] != (cpuProc{"redis", 34}) {
		t.Fatalf("parseCPUProcs = %v, %v", ps, err)
	}
	for _, bad := range []string{"server", "=12", "server=x", "server=-1"} {
		if _, err := parseCPUProcs(bad); err == nil {
			t.Errorf("parseCPUProcs(%q) accepted", bad)
		}
	}
}
