package redis

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultTimeout bounds every call when [Options.Timeout] is zero.
const DefaultTimeout = 500 * time.Millisecond

// Options selects and configures the Redis deployment. Give either URL or Addrs, not both.
//
// URL forms:
//
//	redis://[user:password@]host:port[/db][?options]    one server (rediss:// for TLS)
//	redis+cluster://[user:password@]host:port,host:port  Redis Cluster seed nodes (rediss+cluster:// for TLS)
//
// The query options are go-redis's (redis.ParseURL, redis.ParseClusterURL); a cluster URL may also
// list further seeds as ?addr=host:port. Addrs with MasterName selects Sentinel (Addrs are the
// sentinels); several Addrs without MasterName select a Cluster; one Addr a single server.
//
// Username, Password, DB, PoolSize and TLS, when set, take precedence over what the URL says.
// Timeout governs every call, dial and pool wait; a timeout set in the URL is overridden.
type Options struct {
	URL        string
	Addrs      []string
	MasterName string
	Username   string
	Password   string
	DB         int
	// KeyPrefix is prepended to every key (e.g. "actas:"). It must not contain "{" or "}", which
	// would change the keys' hash tags.
	KeyPrefix string
	// Timeout bounds each call (context.WithTimeout); 0 means DefaultTimeout.
	Timeout  time.Duration
	PoolSize int
	// AutoPipeline runs the data commands on go-redis's automatic pipeliner (the blocking face):
	// the commands of concurrent callers go out in one write and their replies come back in one
	// read, which saves system calls on both sides under load; a lone caller's command is sent at
	// once. go-redis marks the API experimental. A queued command no longer honours its context's
	// deadline, but the connection's read and write deadlines (Timeout) still bound it, and
	// MaxRetries stays -1, so nothing is sent twice.
	AutoPipeline bool
	TLS          *tls.Config
}

// client is what New builds from Options.
type client struct {
	rdb     redis.UniversalClient
	addrs   []string // for error messages: host:port only, never credentials
	cluster bool
}

// build validates o and constructs the go-redis client without connecting.
func (o Options) build() (client, error) {
	if o.Timeout < 0 {
		return client{}, fmt.Errorf("%w: timeout must not be negative", ErrInvalidOptions)
	}
	if strings.ContainsAny(o.KeyPrefix, "{}") {
		return client{}, fmt.Errorf("%w: key prefix must not contain { or }", ErrInvalidOptions)
	}
	if o.PoolSize < 0 {
		return client{}, fmt.Errorf("%w: pool size must not be negative", ErrInvalidOptions)
	}
	switch {
	case o.URL != "" && len(o.Addrs) > 0:
		return client{}, fmt.Errorf("%w: give either a URL or addresses, not both", ErrInvalidOptions)
	case o.URL != "" && o.MasterName != "":
		return client{}, fmt.Errorf("%w: a Sentinel master name needs the sentinel addresses, not a URL", ErrInvalidOptions)
	case o.URL != "":
		return o.fromURL()
	case len(o.Addrs) > 0:
		return o.fromAddrs()
	default:
		return client{}, fmt.Errorf("%w: no URL and no addresses", ErrInvalidOptions)
	}
}

func (o Options) timeout() time.Duration {
	if o.Timeout == 0 {
		return DefaultTimeout
	}
	return o.Timeout
}

func (o Options) fromURL() (client, error) {
	u, err := url.Parse(o.URL)
	if err != nil {
		// url.Parse's error repeats the URL, which may hold a password.
		return client{}, fmt.Errorf("%w: URL does not parse", ErrInvalidOptions)
	}
	switch u.Scheme {
	case "redis", "rediss":
		opt, err := redis.ParseURL(o.URL)
		if err != nil {
			return client{}, fmt.Errorf("%w: URL: %s", ErrInvalidOptions, redacted(err, o.URL))
		}
		o.simple(opt)
		return client{rdb: redis.NewClient(opt), addrs: []string{opt.Addr}}, nil
	case "redis+cluster", "rediss+cluster":
		if o.DB != 0 {
			return client{}, fmt.Errorf("%w: a Redis Cluster has only database 0", ErrInvalidOptions)
		}
		// "host:port,host:port" in the authority: the first seed stays the host, the others become
		// addr= parameters, which redis.ParseClusterURL understands.
		u.Scheme = strings.TrimSuffix(u.Scheme, "+cluster")
		seeds := strings.Split(u.Host, ",")
		u.Host = seeds[0]
		q := u.Query()
		for _, s := range seeds[1:] {
			if s = strings.TrimSpace(s); s != "" {
				q.Add("addr", s)
			}
		}
		u.RawQuery = q.Encode()
		opt, err := redis.ParseClusterURL(u.String())
		if err != nil {
			return client{}, fmt.Errorf("%w: cluster URL: %s", ErrInvalidOptions, redacted(err, o.URL))
		}
		o.cluster(opt)
		return client{rdb: redis.NewClusterClient(opt), addrs: opt.Addrs, cluster: true}, nil
	default:
		return client{}, fmt.Errorf("%w: URL scheme %q: want redis, rediss, redis+cluster or rediss+cluster",
			ErrInvalidOptions, u.Scheme)
	}
}

func (o Options) fromAddrs() (client, error) {
	addrs := make([]string, 0, len(o.Addrs))
	for _, a := range o.Addrs {
		if a = strings.TrimSpace(a); a == "" {
			return client{}, fmt.Errorf("%w: empty address", ErrInvalidOptions)
		}
		addrs = append(addrs, a)
	}
	isCluster := o.MasterName == "" && len(addrs) > 1
	if isCluster && o.DB != 0 {
		return client{}, fmt.Errorf("%w: a Redis Cluster has only database 0", ErrInvalidOptions)
	}
	t := o.timeout()
	uo := &redis.UniversalOptions{
		Addrs:                 addrs,
		MasterName:            o.MasterName,
		ClientName:            "actas",
		Username:              o.Username,
		Password:              o.Password,
		DB:                    o.DB,
		MaxRetries:            -1,
		DialTimeout:           t,
		ReadTimeout:           t,
		WriteTimeout:          t,
		PoolTimeout:           t,
		ContextTimeoutEnabled: true,
		PoolSize:              o.PoolSize,
		TLSConfig:             o.TLS,
	}
	return client{rdb: redis.NewUniversalClient(uo), addrs: addrs, cluster: isCluster}, nil
}

// simple applies the overrides to a single-server client.
//
// MaxRetries is -1 (no retries) for every client: a script whose reply was lost may already have
// run, and running it again would report a false conflict (a refresh-token rotation that succeeded
// would look like a replay). Callers fail closed and their clients retry.
func (o Options) simple(opt *redis.Options) {
	t := o.timeout()
	opt.MaxRetries = -1
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout = t, t, t, t
	opt.ContextTimeoutEnabled = true
	if opt.ClientName == "" {
		opt.ClientName = "actas"
	}
	if o.Username != "" {
		opt.Username = o.Username
	}
	if o.Password != "" {
		opt.Password = o.Password
	}
	if o.DB != 0 {
		opt.DB = o.DB
	}
	if o.PoolSize > 0 {
		opt.PoolSize = o.PoolSize
	}
	if o.TLS != nil {
		opt.TLSConfig = o.TLS
	}
}

// cluster applies the overrides to a Cluster client (see simple). MaxRedirects keeps go-redis's
// default so that MOVED and ASK replies (the command did not run) are followed while slots move.
// The same loop also sends a command again after a network error, whatever MaxRetries says, and
// go-redis offers no way to tell the two apart from outside: on Cluster a script whose reply was
// lost may run twice (it then reports a conflict; see docs/operations.md).
func (o Options) cluster(opt *redis.ClusterOptions) {
	t := o.timeout()
	opt.MaxRetries = -1
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout = t, t, t, t
	opt.ContextTimeoutEnabled = true
	if opt.ClientName == "" {
		opt.ClientName = "actas"
	}
	if o.Username != "" {
		opt.Username = o.Username
	}
	if o.Password != "" {
		opt.Password = o.Password
	}
	if o.PoolSize > 0 {
		opt.PoolSize = o.PoolSize
	}
	if o.TLS != nil {
		opt.TLSConfig = o.TLS
	}
}

// redacted returns err's text with the URL's password, if any, replaced.
func redacted(err error, raw string) string {
	msg := err.Error()
	if u, perr := url.Parse(raw); perr == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
	}
	return msg
}
