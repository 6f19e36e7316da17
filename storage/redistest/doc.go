// Package redistest gives tests a clean Redis, whatever the machine has:
//
//  1. ACTAS_TEST_REDIS_CLUSTER=host:port,host:port,... (set by .ci/redis-cluster.sh): that Cluster;
//  2. else ACTAS_TEST_REDIS_URL=redis://...: that server;
//  3. else, when redis-server is on PATH: a throwaway server on a free loopback port, started once
//     per test binary and stopped when the last test using it ends (or by [Main]);
//  4. else, with ACTAS_TEST_REQUIRE_REDIS=1: the test fails, saying what is missing;
//  5. else: an in-process github.com/alicebob/miniredis/v2 (logged once), so that the plain test
//     command passes on a machine with only Go.
//
// Each call hands out its own random key prefix, so tests and test packages running in parallel
// against one server never see each other's keys; the keys are deleted when the test ends.
//
// [StartServer] starts a real redis-server that a test can stop and start again on the same port,
// for outage tests.
//
// This package is for tests only; it imports storage/redis and go-redis.
package redistest
