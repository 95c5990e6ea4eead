#!/usr/bin/env bash
# Security centre benchmark (issue 6): the latency bearer-token authentication adds to a
# request, and sign-in throughput (bounded by argon2id).
#
#   benches/security.sh                      # SQLite
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/mpanel_bench_sec benches/security.sh
#
# Needs wrk and curl. Runs against 127.0.0.1 only and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/mpanel-target}"
cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/mpanel"
port="${BENCH_PORT:-18091}"
base="http://127.0.0.1:$port"
data="$(mktemp -d)"
duration="${BENCH_DURATION:-15s}"
export MPANEL_DATA_DIR="$data" MPANEL_BIND="127.0.0.1:$port" MPANEL_LOG=warn
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT

"$bin" serve & pid=$!
until curl -fs -o /dev/null "$base/readyz"; do sleep 0.01; done

email=bench@bench.test
password='a quiet harbour at dusk'
cookie=$(curl -s -D - -o /dev/null -X POST "$base/setup" -H 'Sec-Fetch-Site: same-origin' \
    --data-urlencode company=Bench --data-urlencode "email=$email" \
    --data-urlencode "password=$password" | grep -i '^set-cookie: mpanel_session=' | sed 's/^[^:]*: //; s/;.*//')
[ -n "$cookie" ] || { echo "setup failed" >&2; exit 1; }
expires=$(date -u -d '+30 days' +%F)
token=$(curl -s -X POST "$base/security/tokens" -H 'Sec-Fetch-Site: same-origin' -H "Cookie: $cookie" \
    --data-urlencode name=bench --data-urlencode scope_read=on --data-urlencode "expires_on=$expires" \
    | grep -o 'mpn_[A-Za-z0-9]*' | head -1)
[ -n "$token" ] || { echo "token creation failed" >&2; exit 1; }
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$base/api/v1/me")
[ "$status" = 200 ] || { echo "/api/v1/me answered $status" >&2; exit 1; }

p50() { awk '$1 == "50%" {print $2}' "$1"; }
latency() { # name, then curl-style headers for wrk
    local name=$1 path=$2; shift 2
    wrk -t 1 -c 1 -d "$duration" --latency "$@" "$base$path" > "/tmp/mpanel-sec-$name.txt"
    printf '%-34s p50 %-9s p99 %-9s %s req/s\n' "$name" "$(p50 "/tmp/mpanel-sec-$name.txt")" \
        "$(awk '$1 == "99%" {print $2}' "/tmp/mpanel-sec-$name.txt")" \
        "$(awk '/Requests\/sec/ {print $2}' "/tmp/mpanel-sec-$name.txt")"
}
echo "== one connection, sequential requests ($duration each)"
latency anonymous-healthz /healthz
latency anonymous-api-401 /api/v1/me
latency bearer-api-me /api/v1/me -H "Authorization: Bearer $token"
latency session-dashboard / -H "Cookie: $cookie"

echo "== sign-in throughput (password only, argon2id verify per request; -c 4, $duration)"
cat > "$data/login.lua" <<LUA
wrk.method = "POST"
wrk.body = "email=bench%40bench.test&password=a%20quiet%20harbour%20at%20dusk"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Sec-Fetch-Site"] = "same-origin"
LUA
wrk -t 2 -c 4 -d "$duration" --latency -s "$data/login.lua" "$base/login" | tee /tmp/mpanel-sec-login.txt
grep -q 'Non-2xx' /tmp/mpanel-sec-login.txt && echo "WARNING: non-2xx/3xx responses during the login run"
echo "RSS after the runs: $(( $(awk '/VmRSS/ {print $2}' /proc/$pid/status) / 1024 )) MiB"
