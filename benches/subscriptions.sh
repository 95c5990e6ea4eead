#!/usr/bin/env bash
# Subscription benchmarks (issue 13): the customer's services page and the staff list with
# 10,000 subscriptions in the system under wrk -c 32, then orders per second through the
# service.
#
#   benches/subscriptions.sh                      # SQLite
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/mpanel_bench_subs benches/subscriptions.sh
#       (create the database first; it is filled, not emptied: use a fresh one so the lists
#       hold exactly the 10,000 seeded subscriptions)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/mpanel-target}"
cargo build --release --quiet --bin mpanel --example bench_subscriptions
bench="$CARGO_TARGET_DIR/release/examples/bench_subscriptions"
bin="$CARGO_TARGET_DIR/release/mpanel"
port="${BENCH_PORT:-18093}"
base="http://127.0.0.1:$port"
data="$(mktemp -d)"
export MPANEL_DATA_DIR="$data" MPANEL_BIND="127.0.0.1:$port" MPANEL_LOG=warn
url="${DATABASE_URL:-sqlite://$data/mpanel.db}"
password='a quiet harbour at dusk'
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT

session() { # email → the session cookie of a password sign-in
    curl -s -D - -o /dev/null -X POST "$base/login" -H 'Sec-Fetch-Site: same-origin' \
        --data-urlencode "email=$1" --data-urlencode "password=$password" \
        | grep -i '^set-cookie: mpanel_session=' | sed 's/^[^:]*: //; s/;.*//' || true
}
load() { # label cookie path
    echo "== $1 $3"
    wrk -t 2 -c 32 -d "${BENCH_DURATION:-20s}" --latency -H "Cookie: $2" "$base$3" | grep -E 'Requests/sec|99%|Non-2xx|requests in'
}

# The lists first, so they hold exactly the seeded subscriptions.
echo "== seeding the lists"
"$bench" seed "$url" 10000 100

DATABASE_URL="$url" "$bin" serve & pid=$!
until curl -fs -o /dev/null "$base/readyz"; do sleep 0.05; done
# the seed created the operator tenant: add a staff owner from the command line
echo "$password" | DATABASE_URL="$url" "$bin" admin create-owner --email owner@bench.test >/dev/null \
    || echo "(owner@bench.test exists already)"
staff=$(session owner@bench.test)
customer=$(session customer@bench.test)
[ -n "$staff" ] && [ -n "$customer" ] || { echo "no session" >&2; exit 1; }
# the customer's services page must show their subscriptions (the seed gives them 100)
page=$(curl -fs -H "Cookie: $customer" "$base/billing/subscriptions")
grep -q 'Bench service' <<<"$page" || { echo "the customer's page lists no subscription" >&2; exit 1; }
tenant=$(curl -s -H "Cookie: $staff" "$base/billing/subscriptions" | grep -o 'option value="[0-9a-f-]*"' | sed -n 3p | cut -d'"' -f2)

load customer "$customer" "/billing/subscriptions"
load customer "$customer" "/billing/subscriptions?page=3"
load staff "$staff" "/billing/subscriptions"
load staff "$staff" "/billing/subscriptions?page=200"
load staff "$staff" "/billing/subscriptions?status=SUSPENDED"
load staff "$staff" "/billing/subscriptions?tenant_id=$tenant"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""

# BENCH_LIST_ONLY=1 skips the ordering runs.
if [ -z "${BENCH_LIST_ONLY:-}" ]; then
    echo "== ordering (service::order: subscription, item, first invoice issued, expiry job, audit)"
    "$bench" order "$url" 2000 4 4
    "$bench" order "$url" 2000 8 100
    "$bench" order "$url" 1000 4 1
fi
