package redis

import (
	"fmt"
	"strings"
)

// slotCount is the number of Redis Cluster hash slots.
const slotCount = 16384

// KeySlot returns the Redis Cluster hash slot of key (0..16383): CRC16 (XMODEM) of the key's hash
// tag, or of the whole key when it has none. The hash tag is the text between the first "{" and the
// first "}" after it, if that text is not empty (Redis Cluster specification, "Hash tags").
//
// It is the same number CLUSTER KEYSLOT returns, and works on any client: KV uses it to refuse, on
// every deployment, an atomic operation whose keys a Cluster could not run together.
func KeySlot(key string) int {
	return int(crc16(hashTag(key)) % slotCount)
}

// hashTag returns the part of key that Redis Cluster hashes.
func hashTag(key string) string {
	if s := strings.IndexByte(key, '{'); s >= 0 {
		if e := strings.IndexByte(key[s+1:], '}'); e > 0 {
			return key[s+1 : s+1+e]
		}
	}
	return key
}

// sameSlot checks that all keys (already prefixed) hash to one slot; names are the callers' keys,
// used in the error text.
func sameSlot(keys, names []string) error {
	if len(keys) < 2 {
		return nil
	}
	first := KeySlot(keys[0])
	for i := 1; i < len(keys); i++ {
		if KeySlot(keys[i]) != first {
			return fmt.Errorf("%w: %q and %q", ErrCrossSlot, names[0], names[i])
		}
	}
	return nil
}

// crc16 is CRC-16/XMODEM (polynomial 0x1021, initial value 0), the checksum Redis Cluster uses.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
