#!/usr/bin/env bash
# HTTP throughput of grantry-server on each store: client_credentials and refresh_token with
# rotation, keep-alive, over loopback with wrk (Debian's package). The stores: memory, SQLite at
# synchronous = FULL (the default) and NORMAL, and PostgreSQL when GRANTRY_TEST_POSTGRES_URL is
# set (`bash .ci/postgres.sh` starts a throwaway server; note that it runs with fsync=off).
# Each measurement runs DURATION seconds (default 10) with CONNECTIONS connections (default 32).
#
#   bash examples/benches/http-stores.sh
#
# Refresh tokens are single-use, so the refresh run is a chain per connection: each request
# sends the refresh token the previous response gave (wrk's Lua response hook), starting from
# one token per connection issued by the password grant.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
duration=${DURATION:-10}
connections=${CONNECTIONS:-32}

cargo build --release -q -p grantry-examples --bin grantry-server
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

# Starts grantry-server on `store` (a JSON object) and sets `base` to its URL once it listens.
# Not run in a command substitution: that subshell would keep `pid`, and nothing could stop it.
start() {
    sed "s|\"store\"[^}]*}|\"store\": $1|" examples/demo.json > "$work/config.json"
    rm -f "$work/out"
    target/release/grantry-server --config "$work/config.json" --listen 127.0.0.1:0 > "$work/out" 2> "$work/err" &
    pid=$!
    for _ in $(seq 100); do
        if grep -q '^listening on ' "$work/out" 2>/dev/null; then
            base=$(sed -n 's/^listening on //p' "$work/out")
            return
        fi
        sleep 0.1
    done
    echo "the server did not start on $1" >&2
    cat "$work/err" >&2
    exit 1
}

stop() {
    kill -INT "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
}

cat > "$work/cc.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=client_credentials&client_id=svc&client_secret=svc-secret"
LUA

# The refresh chain: a queue of live refresh tokens, one taken per request, the new one put
# back from each response.
refresh_script() {
    local base=$1
    {
        echo 'wrk.method = "POST"'
        echo 'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"'
        echo 'wrk.headers["Authorization"] = "Basic d2ViOndlYi1zZWNyZXQ="'
        echo 'local tokens = {}'
        # One more than the connections: wrk calls request() once at start to check the script.
        for _ in $(seq $((connections + 1))); do
            local token
            token=$(curl -s "$base/token" -u web:web-secret -d grant_type=password -d username=alice -d password=wonderland \
                | sed -E 's/.*"refresh_token":"([^"]*)".*/\1/')
            echo "table.insert(tokens, \"$token\")"
        done
        cat <<'LUA'
request = function()
    local token = table.remove(tokens, 1)
    return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. token)
end
response = function(status, headers, body)
    local token = string.match(body, '"refresh_token":"([^"]+)"')
    if token then table.insert(tokens, token) end
end
LUA
    } > "$work/refresh.lua"
}

# One wrk run: "requests/s p50 p99"; fails on any non-2xx answer.
measure() {
    local base=$1 script=$2
    wrk -t1 -c"$connections" -d"${duration}s" --latency -s "$work/$script" "$base/token" > "$work/wrk.txt"
    if grep -q 'Non-2xx' "$work/wrk.txt"; then
        echo "non-2xx answers from $base/token ($script):" >&2
        cat "$work/wrk.txt" >&2
        exit 1
    fi
    echo "$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt") $(awk '$1 == "50%" {print $2}' "$work/wrk.txt") \
$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")"
}

stores=(
    'memory|{"kind": "memory"}'
    'sqlite FULL|{"kind": "sqlite", "path": "'"$work"'/full.db"}'
    'sqlite NORMAL|{"kind": "sqlite", "path": "'"$work"'/normal.db", "synchronous": "normal"}'
)
if [ -n "${GRANTRY_TEST_POSTGRES_URL:-}" ]; then
    stores+=("postgres|{\"kind\": \"postgres\", \"url\": \"$GRANTRY_TEST_POSTGRES_URL\"}")
fi

echo "wrk -t1 -c$connections -d${duration}s, keep-alive, loopback, $(nproc) cores"
printf '%-14s %-30s %10s %9s %9s\n' store operation req/s p50 p99
for entry in "${stores[@]}"; do
    name=${entry%%|*}
    start "${entry#*|}"
    read -r rps p50 p99 <<< "$(measure "$base" cc.lua)"
    printf '%-14s %-30s %10s %9s %9s\n' "$name" client_credentials "$rps" "$p50" "$p99"
    refresh_script "$base"
    read -r rps p50 p99 <<< "$(measure "$base" refresh.lua)"
    printf '%-14s %-30s %10s %9s %9s\n' "$name" "refresh_token with rotation" "$rps" "$p50" "$p99"
    stop
done
