package redis

import (
	"crypto/tls"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestOptionsBuild(t *testing.T) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS13}
	tests := []struct {
		name      string
		opts      Options
		wantAddrs []string
		check     func(t *testing.T, c client)
	}{
		{
			name:      "ok/redis-url",
			opts:      Options{URL: "redis://user:pw@10.0.0.1:6380/3", Timeout: 300 * time.Millisecond},
			wantAddrs: []string{"10.0.0.1:6380"},
			check: func(t *testing.T, c client) {
				o := c.rdb.(*redis.Client).Options()
				if o.Username != "user" || o.Password != "pw" || o.DB != 3 {
					t.Errorf("credentials/db from URL: %q %q %d", o.Username, o.Password, o.DB)
				}
				if o.ReadTimeout != 300*time.Millisecond || o.DialTimeout != 300*time.Millisecond ||
					o.PoolTimeout != 300*time.Millisecond || !o.ContextTimeoutEnabled {
					t.Errorf("timeouts not applied: read %v dial %v pool %v ctx %v",
						o.ReadTimeout, o.DialTimeout, o.PoolTimeout, o.ContextTimeoutEnabled)
				}
				if o.MaxRetries > 0 {
					t.Errorf("MaxRetries = %d, want retries disabled", o.MaxRetries)
				}
				if o.TLSConfig != nil {
					t.Error("redis:// must not use TLS")
				}
			},
		},
		{
			name:      "ok/redis-url-default-timeout",
			opts:      Options{URL: "redis://localhost"},
			wantAddrs: []string{"localhost:6379"},
			check: func(t *testing.T, c client) {
				if o := c.rdb.(*redis.Client).Options(); o.ReadTimeout != DefaultTimeout {
					t.Errorf("ReadTimeout = %v, want %v", o.ReadTimeout, DefaultTimeout)
				}
			},
		},
		{
			name:      "ok/overrides-beat-url",
			opts:      Options{URL: "redis://user:pw@h:1/3", Username: "u2", Password: "p2", DB: 5, PoolSize: 7, TLS: tlsConf},
			wantAddrs: []string{"h:1"},
			check: func(t *testing.T, c client) {
				o := c.rdb.(*redis.Client).Options()
				if o.Username != "u2" || o.Password != "p2" || o.DB != 5 || o.PoolSize != 7 || o.TLSConfig != tlsConf {
					t.Errorf("overrides not applied: %q %q %d %d", o.Username, o.Password, o.DB, o.PoolSize)
				}
			},
		},
		{
			name:      "ok/rediss-url",
			opts:      Options{URL: "rediss://cache.example:6380"},
			wantAddrs: []string{"cache.example:6380"},
			check: func(t *testing.T, c client) {
				if o := c.rdb.(*redis.Client).Options(); o.TLSConfig == nil || o.TLSConfig.ServerName != "cache.example" {
					t.Errorf("rediss:// without TLS to the host: %+v", o.TLSConfig)
				}
			},
		},
		{
			name:      "ok/cluster-url-comma-list",
			opts:      Options{URL: "redis+cluster://user:pw@127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002"},
			wantAddrs: []string{"127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"},
			check: func(t *testing.T, c client) {
				o := c.rdb.(*redis.ClusterClient).Options()
				if o.MaxRetries > 0 || o.MaxRedirects <= 0 {
					t.Errorf("MaxRetries %d, MaxRedirects %d: want no retries, and MOVED/ASK followed", o.MaxRetries, o.MaxRedirects)
				}
				if !c.cluster || o.Username != "user" || o.Password != "pw" || !o.ContextTimeoutEnabled {
					t.Errorf("cluster options: cluster=%v user %q ctx %v", c.cluster, o.Username, o.ContextTimeoutEnabled)
				}
			},
		},
		{
			name:      "ok/cluster-url-addr-param",
			opts:      Options{URL: "rediss+cluster://h1:7000?addr=h2:7001"},
			wantAddrs: []string{"h1:7000", "h2:7001"},
			check: func(t *testing.T, c client) {
				if o := c.rdb.(*redis.ClusterClient).Options(); o.TLSConfig == nil {
					t.Error("rediss+cluster:// without TLS")
				}
			},
		},
		{
			name:      "ok/one-addr",
			opts:      Options{Addrs: []string{"h:6379"}, DB: 2},
			wantAddrs: []string{"h:6379"},
			check: func(t *testing.T, c client) {
				if o := c.rdb.(*redis.Client).Options(); c.cluster || o.DB != 2 {
					t.Errorf("single server: cluster=%v db %d", c.cluster, o.DB)
				}
			},
		},
		{
			name:      "ok/several-addrs-cluster",
			opts:      Options{Addrs: []string{"h1:7000", " h2:7001 "}},
			wantAddrs: []string{"h1:7000", "h2:7001"},
			check: func(t *testing.T, c client) {
				if cc, ok := c.rdb.(*redis.ClusterClient); ok && cc.Options().MaxRedirects <= 0 {
					t.Errorf("MaxRedirects %d: MOVED/ASK must be followed", cc.Options().MaxRedirects)
				}
				if _, ok := c.rdb.(*redis.ClusterClient); !ok || !c.cluster {
					t.Errorf("several addresses without a master name: %T, want a Cluster client", c.rdb)
				}
			},
		},
		{
			name:      "ok/sentinel",
			opts:      Options{Addrs: []string{"s1:26379", "s2:26379"}, MasterName: "mymaster"},
			wantAddrs: []string{"s1:26379", "s2:26379"},
			check: func(t *testing.T, c client) {
				if _, ok := c.rdb.(*redis.Client); !ok || c.cluster {
					t.Errorf("sentinel: %T cluster=%v, want a failover *redis.Client", c.rdb, c.cluster)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := tc.opts.build()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.rdb.Close() })
			if !slices.Equal(c.addrs, tc.wantAddrs) {
				t.Errorf("addrs = %q, want %q", c.addrs, tc.wantAddrs)
			}
			tc.check(t, c)
		})
	}
}

func TestOptionsBuildInvalid(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"fail/nothing", Options{}},
		{"fail/url-and-addrs", Options{URL: "redis://h:1", Addrs: []string{"h:2"}}},
		{"fail/url-and-master-name", Options{URL: "redis://h:1", MasterName: "m"}},
		{"fail/scheme", Options{URL: "http://h:1"}},
		{"fail/bad-url-param", Options{URL: "redis://h:1?no_such_option=1"}},
		{"fail/unparsable-url", Options{URL: "redis://user:s3cret-pw@h:1:2:x/%zz"}},
		{"fail/prefix-with-brace", Options{URL: "redis://h:1", KeyPrefix: "{actas}:"}},
		{"fail/negative-timeout", Options{URL: "redis://h:1", Timeout: -time.Second}},
		{"fail/negative-pool", Options{URL: "redis://h:1", PoolSize: -1}},
		{"fail/cluster-url-db", Options{URL: "redis+cluster://h:1,h:2", DB: 1}},
		{"fail/cluster-addrs-db", Options{Addrs: []string{"h:1", "h:2"}, DB: 1}},
		{"fail/empty-addr", Options{Addrs: []string{"h:1", " "}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := tc.opts.build()
			if err == nil {
				_ = c.rdb.Close()
				t.Fatal("build succeeded")
			}
			if !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("error = %v, want ErrInvalidOptions", err)
			}
			if strings.Contains(err.Error(), "s3cret-pw") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}
