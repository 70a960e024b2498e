#!/usr/bin/env bash
# HTTP throughput of grantry-server against its floor (http_floor: a bare axum handler that
# parses the same form and writes a same-sized JSON body), side by side in one run, over
# loopback with wrk (Debian's package): client credentials, introspection and the protected
# resource, on the memory store and on a SQLite file. Prints requests/s, p50 and p99 latency and
# the ratio to the floor. Bounded: each measurement runs DURATION seconds (default 10) with CONNECTIONS
# connections (default 32), against 127.0.0.1 only.
#
#   bash examples/benches/http.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
duration=${DURATION:-10}
connections=${CONNECTIONS:-32}

cargo build --release -q -p grantry-examples --bin grantry-server --bin http_floor
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

# Starts a server binary on a free port and sets `base` to its URL once it listens. Not run in
# a command substitution: that subshell would keep the pid, and the trap could not stop it.
start() {
    local name=$1; shift
    "$@" > "$work/$name.out" 2> "$work/$name.err" &
    pids+=($!)
    for _ in $(seq 100); do
        if grep -q '^listening on ' "$work/$name.out"; then
            base=$(sed -n 's/^listening on //p' "$work/$name.out")
            return
        fi
        sleep 0.1
    done
    echo "$name did not start" >&2
    exit 1
}

# The demo configuration on the memory store, and on a SQLite file (synchronous = FULL).
sed 's/"store"[^}]*},//' examples/demo.json > "$work/memory.json"
sed "s|\"store\"[^}]*}|\"store\": {\"kind\": \"sqlite\", \"path\": \"$work/store.db\"}|" examples/demo.json > "$work/sqlite.json"
start floor target/release/http_floor --listen 127.0.0.1:0
floor=$base

cat > "$work/cc.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=client_credentials&client_id=svc&client_secret=svc-secret"
LUA

# One wrk run: "requests/s p50 p99".
measure() {
    local base=$1 path=$2 script=$3
    wrk -t1 -c"$connections" -d"${duration}s" --latency -s "$work/$script" "$base$path" > "$work/wrk.txt"
    local rps p50 p99
    rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt")
    p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
    if grep -q 'Non-2xx' "$work/wrk.txt"; then
        echo "non-2xx answers from $base$path:" >&2
        cat "$work/wrk.txt" >&2
        exit 1
    fi
    echo "$rps $p50 $p99"
}

echo "wrk -t1 -c$connections -d${duration}s, loopback, $(nproc) cores"
printf '%-8s %-20s %14s %9s %9s %14s %9s %9s %8s\n' store endpoint grantry-req/s p50 p99 floor-req/s p50 p99 ratio
for store in memory sqlite; do
    start "grantry-$store" target/release/grantry-server --config "$work/$store.json" --listen 127.0.0.1:0
    grantry=$base
    token=$(curl -s "$grantry/token" -d grant_type=client_credentials -d client_id=svc -d client_secret=svc-secret \
        | sed -E 's/.*"access_token":"([^"]*)".*/\1/')
    cat > "$work/introspect.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "client_id=svc&client_secret=svc-secret&token=$token"
LUA
    cat > "$work/me.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
LUA
    for row in "client_credentials /token cc.lua" "introspection /introspect introspect.lua" "protected_resource /api/me me.lua"; do
        set -- $row
        read -r grps gp50 gp99 <<< "$(measure "$grantry" "$2" "$3")"
        read -r frps fp50 fp99 <<< "$(measure "$floor" "$2" "$3")"
        ratio=$(awk -v g="$grps" -v f="$frps" 'BEGIN { printf "%.0f%%", 100 * g / f }')
        printf '%-8s %-20s %14s %9s %9s %14s %9s %9s %8s\n' "$store" "$1" "$grps" "$gp50" "$gp99" "$frps" "$fp50" "$fp99" "$ratio"
    done
done
