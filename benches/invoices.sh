#!/usr/bin/env bash
# Invoice benchmarks (issue 4): issuing 10,000 five-line invoices, and the staff invoice list
# over 200,000 invoices under wrk -c 32.
#
#   benches/invoices.sh                      # SQLite
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/mpanel_bench_inv benches/invoices.sh
#       (create the database first; it is filled, not emptied)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/mpanel-target}"
cargo build --release --quiet --bin mpanel --example bench_invoices
bench="$CARGO_TARGET_DIR/release/examples/bench_invoices"
bin="$CARGO_TARGET_DIR/release/mpanel"
port="${BENCH_PORT:-18092}"
base="http://127.0.0.1:$port"
data="$(mktemp -d)"
export MPANEL_DATA_DIR="$data" MPANEL_BIND="127.0.0.1:$port" MPANEL_LOG=warn
url="${DATABASE_URL:-sqlite://$data/mpanel.db}"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT

# BENCH_LIST_ONLY=1 skips the issuing runs and measures only the list.
if [ -z "${BENCH_LIST_ONLY:-}" ]; then
    echo "== issuing 10,000 five-line invoices"
    "$bench" issue "$url" 10000 4 1 single
    "$bench" issue "$url" 10000 1 1 batch
    "$bench" issue "$url" 10000 8 100 batch
fi
echo "== seeding the list"
"$bench" seed "$url" 200000

DATABASE_URL="$url" "$bin" serve & pid=$!
until curl -fs -o /dev/null "$base/readyz"; do sleep 0.05; done
cookie=$(curl -s -D - -o /dev/null -X POST "$base/setup" -H 'Sec-Fetch-Site: same-origin' \
    --data-urlencode company=Bench --data-urlencode email=owner@bench.test \
    --data-urlencode 'password=a quiet harbour at dusk' | grep -i '^set-cookie: mpanel_session=' | sed 's/^[^:]*: //; s/;.*//' || true)
if [ -z "$cookie" ]; then
    # the seed created an operator tenant already: add an owner from the command line
    echo 'a quiet harbour at dusk' | DATABASE_URL="$url" "$bin" admin create-owner --email owner@bench.test >/dev/null
    cookie=$(curl -s -D - -o /dev/null -X POST "$base/login" -H 'Sec-Fetch-Site: same-origin' \
        --data-urlencode email=owner@bench.test --data-urlencode 'password=a quiet harbour at dusk' | grep -i '^set-cookie: mpanel_session=' | sed 's/^[^:]*: //; s/;.*//' || true)
fi
[ -n "$cookie" ] || { echo "no session" >&2; exit 1; }
tenant=$(curl -s -H "Cookie: $cookie" "$base/billing/invoices" | grep -o 'option value="[0-9a-f-]*"' | sed -n 3p | cut -d'"' -f2)
duration="${BENCH_DURATION:-20s}"
for target in "/billing/invoices" "/billing/invoices?page=40" "/billing/invoices?tenant_id=$tenant&status=ISSUED" "/billing/invoices?number=INV-2026-S00123" "/billing/invoices?number=NOPE"; do
    echo "== staff $target"
    wrk -t 2 -c 32 -d "$duration" --latency -H "Cookie: $cookie" "$base$target" | grep -E 'Requests/sec|99%|Non-2xx|requests in'
done
