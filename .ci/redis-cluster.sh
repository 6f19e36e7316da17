#!/usr/bin/env bash
# Runs the storage tests against a real Redis Cluster: three masters (redis-server --cluster-enabled
# yes) on free loopback ports, joined with redis-cli --cluster create, torn down on exit whatever
# happens. Extra arguments go to `go test`, e.g. .ci/redis-cluster.sh -run KV -v
#
# Needs redis-server and redis-cli (Debian: apt-get install redis-server redis-tools).
set -euo pipefail

cd "$(dirname "$0")/.."

for bin in redis-server redis-cli go; do
	if ! command -v "$bin" >/dev/null 2>&1; then
		echo "redis-cluster.sh: $bin not found (Debian: apt-get install redis-server redis-tools)" >&2
		exit 1
	fi
done

dir="$(mktemp -d "${TMPDIR:-/tmp}/actas-redis-cluster.XXXXXX")"
pids=()
ports=()

teardown() {
	local pid
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$dir"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# listening PORT: true when something accepts connections on 127.0.0.1:PORT.
listening() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# start_node: starts one cluster node on a free port (the port and port+10000, the cluster bus, must
# both be free) and appends it to ports and pids.
start_node() {
	local attempt port pid i
	for attempt in 1 2 3 4 5 6 7 8 9 10; do
		port=$((20000 + RANDOM % 10000))
		if listening "$port" || listening $((port + 10000)); then
			continue
		fi
		mkdir -p "$dir/$port"
		redis-server \
			--port "$port" --bind 127.0.0.1 \
			--cluster-enabled yes --cluster-config-file "$dir/$port/nodes.conf" \
			--cluster-node-timeout 5000 \
			--save "" --appendonly no --daemonize no \
			--dir "$dir/$port" --logfile "$dir/$port/redis.log" &
		pid=$!
		for i in $(seq 1 100); do
			if [[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null || true)" == PONG ]]; then
				pids+=("$pid")
				ports+=("$port")
				return 0
			fi
			if ! kill -0 "$pid" 2>/dev/null; then
				break # it exited, most likely because the port was taken meanwhile
			fi
			sleep 0.05
		done
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		echo "redis-cluster.sh: node on port $port did not start (attempt $attempt):" >&2
		tail -n 5 "$dir/$port/redis.log" >&2 || true
	done
	echo "redis-cluster.sh: could not start a cluster node" >&2
	return 1
}

for _ in 1 2 3; do
	start_node
done

addrs=()
for port in "${ports[@]}"; do
	addrs+=("127.0.0.1:$port")
done

redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 || {
	cat "$dir/create.log" >&2
	exit 1
}

# Wait until every node sees the whole cluster as ok.
for i in $(seq 1 300); do
	ok=0
	for port in "${ports[@]}"; do
		if redis-cli -h 127.0.0.1 -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; then
			ok=$((ok + 1))
		fi
	done
	if [[ $ok -eq ${#ports[@]} ]]; then
		break
	fi
	if [[ $i -eq 300 ]]; then
		echo "redis-cluster.sh: cluster_state did not become ok within 30s" >&2
		exit 1
	fi
	sleep 0.1
done

cluster="$(IFS=,; echo "${addrs[*]}")"
echo "redis-cluster.sh: cluster $cluster is up; running the storage tests against it" >&2

ACTAS_TEST_REDIS_CLUSTER="$cluster" \
	ACTAS_TEST_REQUIRE_REDIS="${ACTAS_TEST_REQUIRE_REDIS:-1}" \
	go test -race -count=1 ./storage/... "$@"
