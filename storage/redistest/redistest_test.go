package redistest

import (
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

func TestOptionsUniquePrefix(t *testing.T) {
	a, b := Options(t), Options(t)
	if a.KeyPrefix == b.KeyPrefix || a.KeyPrefix == "" {
		t.Fatalf("prefixes %q and %q: want two different ones", a.KeyPrefix, b.KeyPrefix)
	}
	kv := New(t)
	if err := kv.Set(t.Context(), "k", []byte("v"), time.Minute); err != nil {
		t.Fatalf("%s: %v", Which(), err)
	}
	if got, err := kv.Get(t.Context(), "k"); err != nil || string(got) != "v" {
		t.Fatalf("%s: get = %q, %v", Which(), got, err)
	}
}

func TestServerStopStart(t *testing.T) {
	s := StartServer(t)
	addr := s.Addr()
	if !pingOK(addr) {
		t.Fatal("server does not answer after StartServer")
	}
	s.Stop()
	if pingOK(addr) {
		t.Fatal("server still answers after Stop")
	}
	s.Stop() // stopping twice does nothing
	s.Start()
	if s.Addr() != addr || !pingOK(addr) {
		t.Fatalf("after Start: addr %s (was %s), answering %v", s.Addr(), addr, pingOK(addr))
	}
}
