#!/usr/bin/env bash
# Foundation benchmark (issue 2): RSS after start-up, start-to-ready time on an existing
# database, and wrk throughput/latency for an authenticated page.
#
#   benches/foundation.sh                      # SQLite
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/mpanel_bench benches/foundation.sh
#
# Needs wrk and curl (apt-get install wrk curl). Prints a Markdown table row set.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/mpanel-target}"
cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/mpanel"
port="${BENCH_PORT:-18090}"
base="http://127.0.0.1:$port"
data="$(mktemp -d)"
export MPANEL_DATA_DIR="$data" MPANEL_BIND="127.0.0.1:$port" MPANEL_LOG=warn
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT

start() { "$bin" serve & pid=$!; }
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }
wait_ready() { until curl -fs -o /dev/null "$base/readyz"; do sleep 0.002; done; }

# First start creates and migrates the database; set up an owner and keep the session cookie.
start; wait_ready
cookie=$(curl -s -D - -o /dev/null -X POST "$base/setup" -H 'Sec-Fetch-Site: same-origin' \
    --data-urlencode company=Bench --data-urlencode email=bench@bench.test \
    --data-urlencode 'password=a quiet harbour at dusk' | grep -i '^set-cookie: mpanel_session=' | sed 's/^[^:]*: //; s/;.*//')
[ -n "$cookie" ] || { echo "setup failed" >&2; exit 1; }
stop

# Start-to-ready on the existing database, 10 runs.
times=()
for _ in $(seq 10); do
    t0=$(date +%s%N); start; wait_ready; t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000000 )))
    stop
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
echo "start-to-ready ms (10 runs): $(echo $sorted | tr '\n' ' ')"

# The session cookie survives restarts (sessions live in the database).
start; wait_ready
rss_start=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
echo "RSS after start-up: $((rss_start / 1024)) MiB ($rss_start KiB)"
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$base/")
[ "$status" = 200 ] || { echo "authenticated page answered $status" >&2; exit 1; }
wrk -t 2 -c 32 -d "${BENCH_DURATION:-20s}" --latency -H "Cookie: $cookie" "$base/" | tee /tmp/mpanel-wrk.txt
rss_after=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
echo "RSS after load: $((rss_after / 1024)) MiB"
non2xx=$(grep -c 'Non-2xx' /tmp/mpanel-wrk.txt || true)
[ "$non2xx" = 0 ] || echo "WARNING: non-2xx responses during the run"
