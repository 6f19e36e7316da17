package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"
)

// pool hands out keep-alive HTTP/1.1 connections to the server. The load command writes its
// requests itself and reads the answers with net/http's ReadResponse: the point is that the load
// generator, which shares the machine with the server, spends as little CPU per request as it can
// (net/http's Client costs several times more per request, which the server would not get).
type pool struct {
	addr string // host:port
	host string // Host header
	free chan *conn
}

type conn struct {
	c   net.Conn
	r   *bufio.Reader
	w   *bufio.Writer
	buf bytes.Buffer
}

func newPool(base string, size int) (*pool, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("the load command speaks plain HTTP on loopback, not %q", u.Scheme)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return &pool{addr: addr, host: u.Host, free: make(chan *conn, size)}, nil
}

func (p *pool) get() (*conn, error) {
	select {
	case c := <-p.free:
		return c, nil
	default:
	}
	nc, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &conn{c: nc, r: bufio.NewReaderSize(nc, 16<<10), w: bufio.NewWriterSize(nc, 16<<10)}, nil
}

func (p *pool) put(c *conn) {
	select {
	case p.free <- c:
	default:
		c.c.Close()
	}
}

func (p *pool) close() {
	for {
		select {
		case c := <-p.free:
			c.c.Close()
		default:
			return
		}
	}
}

// basic is the Authorization header value for HTTP Basic client authentication (RFC 6749 §2.3.1:
// the id and secret are form-encoded first).
func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// do sends one request (a form body when body is not empty) and returns the status and the body.
// The request is bounded by ctx's deadline and by 10 s.
func (p *pool) do(ctx context.Context, method, path, auth string, body []byte) (int, []byte, error) {
	c, err := p.get()
	if err != nil {
		return 0, nil, err
	}
	deadline := time.Now().Add(10 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = c.c.SetDeadline(deadline)
	fail := func(err error) (int, []byte, error) {
		c.c.Close()
		if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil && !time.Now().Before(deadline) {
			if d, ok := ctx.Deadline(); ok && !d.After(deadline) {
				return 0, nil, context.DeadlineExceeded // the run's end, not the server
			}
		}
		return 0, nil, err
	}
	w := c.w
	w.WriteString(method)
	w.WriteByte(' ')
	w.WriteString(path)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(p.host)
	w.WriteString("\r\nUser-Agent: actas-load\r\n")
	if auth != "" {
		w.WriteString("Authorization: ")
		w.WriteString(auth)
		w.WriteString("\r\n")
	}
	if len(body) > 0 {
		w.WriteString("Content-Type: application/x-www-form-urlencoded\r\n")
	}
	w.WriteString("Content-Length: ")
	w.WriteString(strconv.Itoa(len(body)))
	w.WriteString("\r\n\r\n")
	w.Write(body)
	if err := w.Flush(); err != nil {
		return fail(err)
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return fail(err)
	}
	c.buf.Reset()
	_, err = io.Copy(&c.buf, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return fail(err)
	}
	if resp.Close {
		c.c.Close()
	} else {
		defer p.put(c)
	}
	return resp.StatusCode, bytes.Clone(c.buf.Bytes()), nil
}
