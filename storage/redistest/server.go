package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// startWait bounds how long a redis-server may take to answer its first PING.
const startWait = 10 * time.Second

// process is one running redis-server.
type process struct {
	cmd  *exec.Cmd
	port int
	log  string
	done chan struct{} // closed when the process has exited
}

func (p *process) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)) }

// stop kills the server and waits for it to exit.
func (p *process) stop() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// startRedis starts redis-server on 127.0.0.1:port with nothing persisted, its files in dir, and
// waits until it answers PING.
func startRedis(dir string, port int) (*process, error) {
	logPath := filepath.Join(dir, "redis-"+strconv.Itoa(port)+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command("redis-server",
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--dir", dir,
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	p := &process{cmd: cmd, port: port, log: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	deadline := time.Now().Add(startWait)
	for {
		select {
		case <-p.done:
			return nil, fmt.Errorf("redis-server on port %d exited: %s", port, tail(logPath))
		default:
		}
		if pingOK(p.addr()) {
			return p, nil
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("redis-server on port %d did not answer within %s: %s", port, startWait, tail(logPath))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startOnFreePort starts a server on a free loopback port, trying another port if one was taken
// between choosing and binding it.
func startOnFreePort(dir string) (*process, error) {
	var errs []error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		p, err := startRedis(dir, port)
		if err == nil {
			return p, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// pingOK reports whether a Redis server at addr answers PING.
func pingOK(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.TrimSpace(line) == "+PONG"
}

// tail returns the last lines of a log file, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return string(bytes.Join(lines, []byte(" | ")))
}

// Server is a real redis-server of one test that the test can stop and start again on the same
// port, to simulate an outage. Nothing is persisted: after Start the server is empty.
type Server struct {
	t   testing.TB
	dir string

	mu   sync.Mutex
	port int
	p    *process
}

// StartServer starts a redis-server on a free loopback port, stopped when the test ends. Without
// redis-server on PATH it skips the test, saying why, unless ACTAS_TEST_REQUIRE_REDIS=1, which makes
// it fail.
func StartServer(t testing.TB) *Server {
	t.Helper()
	if !serverOnPath() {
		msg := "redistest: redis-server not on PATH (Debian: apt-get install redis-server)"
		if required() {
			t.Fatalf("%s and %s=1", msg, EnvRequire)
		}
		t.Skip(msg)
	}
	s := &Server{t: t, dir: t.TempDir()}
	p, err := startOnFreePort(s.dir)
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	s.p, s.port = p, p.port
	t.Cleanup(s.Stop)
	return s
}

// Addr returns host:port.
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// URL returns redis://host:port.
func (s *Server) URL() string { return "redis://" + s.Addr() }

// Stop kills the server (like a crash) and waits until it is gone. Stopping a stopped server does
// nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p != nil {
		s.p.stop()
		s.p = nil
	}
}

// Start starts the server again on the same port and waits until it answers; the test fails if it
// cannot. Call it from the test's goroutine. Starting a running server does nothing.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p != nil {
		return
	}
	var err error
	for range 20 { // the port may linger for a moment after the kill
		var p *process
		if p, err = startRedis(s.dir, s.port); err == nil {
			s.p = p
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("redistest: restart on port %d: %v", s.port, err)
}
