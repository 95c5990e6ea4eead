#!/usr/bin/env bash
# Catalog benchmark (issue 3): 10,000 products and 50,000 overrides; wrk on the public
# /catalog (anonymous, EUR so overrides apply) and on the staff product list.
#
#   benches/catalog.sh                                   # SQLite
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/mpanel_bench_catalog benches/catalog.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/mpanel-target}"
cargo build --release --quiet --bin mpanel --example seed_catalog
bin="$CARGO_TARGET_DIR/release/mpanel"
port="${BENCH_PORT:-18091}"
base="http://127.0.0.1:$port"
data="$(mktemp -d)"
export MPANEL_DATA_DIR="$data" MPANEL_BIND="127.0.0.1:$port" MPANEL_LOG=warn
url="${DATABASE_URL:-sqlite://$data/mpanel.db}"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT

"$CARGO_TARGET_DIR/release/examples/seed_catalog" "$url"
DATABASE_URL="$url" "$bin" serve & pid=$!
until curl -fs -o /dev/null "$base/readyz"; do sleep 0.05; done
cookie=$(curl -s -D - -o /dev/null -X POST "$base/setup" -H 'Sec-Fetch-Site: same-origin' \
    --data-urlencode company=Bench --data-urlencode email=owner@bench.test \
    --data-urlencode 'password=a quiet harbour at dusk' | grep -i '^set-cookie: mpanel_session=' | sed 's/^[^:]*: //; s/;.*//')
[ -n "$cookie" ] || { echo "setup failed" >&2; exit 1; }
duration="${BENCH_DURATION:-20s}"
for target in "/catalog?currency=EUR&page=7" "/catalog?currency=USD"; do
    echo "== anonymous $target"
    wrk -t 2 -c 32 -d "$duration" --latency "$base$target" | grep -E 'Requests/sec|99%|Non-2xx|requests in'
done
echo "== anonymous, random pages 1-280 (benches/random_catalog_page.lua)"
wrk -t 2 -c 32 -d "$duration" --latency -s benches/random_catalog_page.lua "$base" | grep -E 'Requests/sec|99%|Non-2xx|requests in'
# Signed in, the catalog is never cached: this is the cost of rendering it.
for target in "/billing/products" "/billing/products?q=bench-01&visibility=PUBLIC&sort=updated&page=3" "/catalog?currency=EUR"; do
    echo "== staff $target"
    wrk -t 2 -c 32 -d "$duration" --latency -H "Cookie: $cookie" "$base$target" | grep -E 'Requests/sec|99%|Non-2xx|requests in'
done
