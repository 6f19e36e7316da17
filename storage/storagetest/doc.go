// Package storagetest is the one conformance suite every storage backend runs unchanged:
// [RunKVTests] checks the KV contract (including its atomic primitives under contention) and
// [RunTests] checks the Store built on it (fosite's records, rotation and revocation, users,
// login sessions, records). A backend's test file only wires its factory; no part is skippable.
package storagetest
