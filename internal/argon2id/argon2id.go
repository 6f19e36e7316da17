// Package argon2id parses argon2id password hashes in the PHC string format, the one parser that
// both configuration validation and the login pages use, so that a hash the configuration accepts
// is one that signing in can verify.
package argon2id

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Bounds on parameters read from a hash, so that a bad configuration or record cannot exhaust the
// host.
const (
	MaxMemory  = 1 << 20 // KiB: 1 GiB
	MaxTime    = 64
	MaxThreads = 64
)

// ErrInvalid is wrapped by every error of [Parse].
var ErrInvalid = errors.New("invalid argon2id hash")

// Hash is a parsed "$argon2id$v=19$m=<KiB>,t=<passes>,p=<threads>$<salt>$<key>".
type Hash struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	Salt    []byte
	Key     []byte
}

// String encodes h as the PHC string [Parse] reads.
func (h Hash) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.Memory, h.Time, h.Threads,
		base64.RawStdEncoding.EncodeToString(h.Salt), base64.RawStdEncoding.EncodeToString(h.Key))
}

// Parse reads the PHC string strictly, as the reference implementation writes it: version 19; the
// parameters in the order m, t, p as decimal numbers without leading zeros, within the bounds
// above (and m >= 8 p); salt of 8 to 64 bytes and key of 16 to 64 bytes in unpadded standard
// base64. So an accepted string is the [Hash.String] of its result. Errors wrap [ErrInvalid] and
// never contain the hash.
func Parse(s string) (Hash, error) {
	bad := func(why string) (Hash, error) { return Hash{}, fmt.Errorf("%w: %s", ErrInvalid, why) }
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("not a PHC string $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	if parts[1] != "argon2id" {
		return bad("algorithm is not argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported version (want v=19)")
	}
	var h Hash
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return bad("parameters must be m=…,t=…,p=…")
	}
	for i, name := range []string{"m", "t", "p"} {
		k, v, ok := strings.Cut(fields[i], "=")
		if !ok || k != name {
			return bad("parameters must be m=…,t=…,p=… in that order")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || strconv.FormatUint(n, 10) != v {
			return bad("parameter " + name + " is not a decimal number")
		}
		switch name {
		case "m":
			h.Memory = uint32(n)
		case "t":
			h.Time = uint32(n)
		case "p":
			if n == 0 || n > MaxThreads {
				return bad(fmt.Sprintf("parallelism out of range (1 to %d)", MaxThreads))
			}
			h.Threads = uint8(n)
		}
	}
	if h.Time == 0 || h.Time > MaxTime {
		return bad(fmt.Sprintf("time cost out of range (1 to %d)", MaxTime))
	}
	if h.Memory < 8*uint32(h.Threads) || h.Memory > MaxMemory {
		return bad(fmt.Sprintf("memory cost out of range (8 × parallelism to %d KiB)", MaxMemory))
	}
	var err error
	if h.Salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4]); err != nil || len(h.Salt) < 8 || len(h.Salt) > 64 {
		return bad("salt is not 8 to 64 bytes of unpadded base64")
	}
	if h.Key, err = base64.RawStdEncoding.Strict().DecodeString(parts[5]); err != nil || len(h.Key) < 16 || len(h.Key) > 64 {
		return bad("key is not 16 to 64 bytes of unpadded base64")
	}
	return h, nil
}
