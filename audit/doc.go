// Package audit owns actas's audit trail (issue 7): every attempt — logins, token exchanges,
// representation sessions, consents, hand-offs, revocations, policy dry runs, configuration loads —
// recorded with both identities, durable, queryable and tamper-evident.
//
// What it owns:
//
//   - The event model: [Event] with the fields, the catalogue of types (the Type*
//     constants), and [Validate] / [Sanitize], which keep tokens, secrets and forged log lines out.
//   - The chain: each event's [Canonical] encoding (RFC 8785 JSON, "hash" excluded) includes the
//     previous event's hash; its SHA-256 is the event's hash. Hashing happens here, in Go; the store
//     only compares the chain head ([storage.Streams.AppendChainedBatch]), which keeps one chain when
//     several replicas append at once (compare-and-set, retried on conflict).
//   - The sinks: [Trail.Record] writes one structured slog line per event and appends it to a
//     [storage.Streams] (a Redis Stream in production, a bounded ring in memory for --dev), with
//     retention by length and age and a checkpoint of what retention removed.
//     [Trail.RecordBestEffort] is for denials and failed logins: a lost event is counted
//     (actas_audit_events_lost_total) and logged, never returned.
//   - Reading: [Trail.Query] (newest first, filtered, paginated with a cursor, bounded work per
//     call), [Trail.Export] (oldest first, for JSON Lines), [Trail.Verify] (walks the chain and
//     reports the first break — edited, deleted, reordered, truncated — with its position, and
//     tells trimmed-by-retention apart from deleted), and the HTTP API [Trail.Routes]:
//     GET /api/v1/audit, for the auditor and admin roles with the actas:audit scope.
//
// The ordering contract for grants (docs/audit.md): the audit record of a grant is part of the
// grant. A caller records the grant event with [Trail.Record] and fails closed on its error —
// no token is issued and whatever it wrote for the grant is undone.
//
// audit imports storage and nothing else of ours (oauth and exchange import audit); the
// [Authenticator] it needs for its API is an interface that cmd satisfies over oauth.
package audit
