// Package storage owns everything actas keeps between requests.
//
// It has two layers:
//
//   - [KV], a small key-value contract with the few atomic primitives actas needs (create-if-absent,
//     compare-and-swap, all-or-nothing multi-key create, sets with TTL). It has two implementations,
//     [github.com/actas-dev/actas/storage/memory] (one lock for the whole store) and
//     [github.com/actas-dev/actas/storage/redis] (go-redis v9 UniversalClient: standalone, Sentinel or
//     Cluster; Lua scripts for the atomic primitives).
//   - [Store], built once on any KV: what fosite's handlers need (clients, authorization codes, access
//     and refresh token sessions, PKCE and OIDC requests, whole-grant revocation), users, login sessions
//     and a generic record primitive with TTLs for later features.
//
// Because the protocol logic is written once over KV, both backends behave identically by
// construction, and one conformance suite ([github.com/actas-dev/actas/storage/storagetest]) runs
// unchanged against both.
//
// Every ephemeral key carries a TTL. Keys that one atomic operation touches together share a Redis
// hash tag ("{...}"), so the same code runs on Redis Cluster.
//
// storage imports fosite only for the request types it persists; it knows nothing of HTTP.
package storage
