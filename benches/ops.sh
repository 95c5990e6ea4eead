#!/usr/bin/env bash
# Ops overview benchmark (issue 16): each tile under load over a large history, and the CPU the
# worker's probe loop spends keeping 1,000 nodes on a 30 s interval.
#
#   benches/ops.sh                      # SQLite
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/mpanel_bench_ops benches/ops.sh
#   BENCH_PHASES=tiles benches/ops.sh   # only the tiles (or: probes)
#
# Tiles: 1,000 nodes (24 h of probes and CPU samples), 5,000,000 jobs over 90 days and 100,000
# security events (examples/seed_ops.rs), then `wrk -t2 -c32` on each tile as a staff member.
# Probes: a second, fresh database with 1,000 nodes checking this machine's panel (TCP and
# HTTP), `mpanel worker` running for BENCH_PROBE_SECS; its CPU time from /proc, and the probes
# it recorded against the number due.
# Needs wrk, curl and (PostgreSQL) psql. Runs against 127.0.0.1 only and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/mpanel-target}"
# BENCH_SKIP_BUILD=1: use the binaries already built there.
[ -n "${BENCH_SKIP_BUILD:-}" ] || cargo build --release --quiet --bin mpanel --example seed_ops
bin="$CARGO_TARGET_DIR/release/mpanel"
seed="$CARGO_TARGET_DIR/release/examples/seed_ops"
port="${BENCH_PORT:-18093}"
base="http://127.0.0.1:$port"
duration="${BENCH_DURATION:-15s}"
phases="${BENCH_PHASES:-tiles probes}"
probe_secs="${BENCH_PROBE_SECS:-120}"
data="$(mktemp -d)"
export MPANEL_LOG=warn MPANEL_BIND="127.0.0.1:$port"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$data"; }
trap cleanup EXIT

# A database URL for one phase: a fresh PostgreSQL database next to DATABASE_URL's, or a
# SQLite file in the phase's data directory.
fresh_db() { # phase
    if [ -n "${DATABASE_URL:-}" ]; then
        local admin="${DATABASE_URL%/*}/postgres" name="${DATABASE_URL##*/}_$1"
        psql -q "$admin" -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >&2
        echo "${DATABASE_URL%/*}/$name"
    else
        echo "sqlite://$data/$1/mpanel.db"
    fi
}

start_serve() { # phase, url; sets $cookie (a staff owner's session)
    mkdir -p "$data/$1"
    # the panel alone: in the probes phase the worker under test does all the probing
    MPANEL_NO_WORKER=true MPANEL_DATA_DIR="$data/$1" DATABASE_URL="$2" "$bin" serve > "$data/$1/serve.log" 2>&1 &
    pids+=($!)
    until curl -fs -o /dev/null "$base/readyz"; do sleep 0.05; done
    cookie=$(curl -s -D - -o /dev/null -X POST "$base/setup" -H 'Sec-Fetch-Site: same-origin' \
        --data-urlencode company=Bench --data-urlencode email=bench@bench.test \
        --data-urlencode 'password=a quiet harbour at dusk' \
        | grep -i '^set-cookie: mpanel_session=' | sed 's/^[^:]*: //; s/;.*//')
    [ -n "$cookie" ] || { echo "setup failed" >&2; exit 1; }
}

if [[ " $phases " == *" tiles "* ]]; then
    url=$(fresh_db tiles)
    start_serve tiles "$url"
    echo "== seeding (1,000 nodes, 5,000,000 jobs, 100,000 security events)"
    "$seed" "$url" "127.0.0.1:$port" 1000 5000000 100000
    echo "== each tile, wrk -t2 -c32 -d$duration, as the staff owner"
    printf '%-14s %10s %9s %9s %9s\n' tile 'req/s' p50 p99 bytes
    for tile in nodes queues provisioning billing security; do
        out="$data/wrk-$tile.txt"
        wrk -t2 -c32 -d"$duration" --latency -H "Cookie: $cookie" -H 'HX-Request: true' \
            "$base/ops/tiles/$tile" > "$out"
        grep -q 'Non-2xx' "$out" && { echo "non-2xx answers from the $tile tile" >&2; cat "$out" >&2; exit 1; }
        printf '%-14s %10s %9s %9s %9s\n' "$tile" "$(awk '/Requests\/sec/ {print $2}' "$out")" \
            "$(awk '$1 == "50%" {print $2}' "$out")" "$(awk '$1 == "99%" {print $2}' "$out")" \
            "$(curl -s -H "Cookie: $cookie" -H 'HX-Request: true' "$base/ops/tiles/$tile" | wc -c)"
    done
    echo "serve RSS after the runs: $(( $(awk '/VmRSS/ {print $2}' "/proc/${pids[-1]}/status") / 1024 )) MiB"
    kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
fi

if [[ " $phases " == *" probes "* ]]; then
    url=$(fresh_db probes)
    start_serve probes "$url"
    "$seed" "$url" "127.0.0.1:$port" 1000 0 0 2> /dev/null
    # Seeded history would hide what the worker records: count from here on.
    q() { if [ -n "${DATABASE_URL:-}" ]; then psql -qtA "$url" -c "$1"; else sqlite3 -cmd '.timeout 10000' "$data/probes/mpanel.db" "$1"; fi; }
    q "DELETE FROM ops_probe_results" > /dev/null
    MPANEL_DATA_DIR="$data/probes" DATABASE_URL="$url" "$bin" worker > "$data/probes/worker.log" 2>&1 &
    worker=$!; pids+=($worker)
    sleep 30 # the first pass of every node
    tick=$(getconf CLK_TCK)
    cpu0=$(awk '{print $14 + $15}' "/proc/$worker/stat"); t0=$(date +%s%N)
    probes0=$(q "SELECT COUNT(*) FROM ops_probe_results")
    sleep "$probe_secs"
    cpu1=$(awk '{print $14 + $15}' "/proc/$worker/stat"); t1=$(date +%s%N)
    probes1=$(q "SELECT COUNT(*) FROM ops_probe_results")
    now_ms=$(( $(date +%s%N) / 1000000 ))
    behind=$(q "SELECT COUNT(*) FROM ops_nodes WHERE next_probe_at < $now_ms - 5000")
    secs=$(( (t1 - t0) / 1000000 ))
    echo "== probe loop, 1,000 nodes every 30 s, ${probe_secs} s measured"
    awk -v t="$(( cpu1 - cpu0 ))" -v hz="$tick" -v ms="$secs" \
        'BEGIN { printf "worker CPU: %.1f %% of one core (%.2f s of CPU in %.1f s)\n", t / hz * 100000 / ms, t / hz, ms / 1000 }'
    echo "probes recorded: $(( probes1 - probes0 )) (due: $(( 1000 * secs / 30000 )))"
    echo "nodes more than 5 s overdue at the end: $behind"
    echo "worker RSS: $(( $(awk '/VmRSS/ {print $2}' "/proc/$worker/status") / 1024 )) MiB"
fi
