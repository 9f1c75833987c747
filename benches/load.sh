#!/usr/bin/env bash
# Load harness: fhir-jwt-proxy against a direct upstream and a plain nginx proxy_pass hop, in one run.
#
#   bash benches/load.sh            # DURATION=10 CONNECTIONS=32 FRESH=60000 to change the defaults
#
# Installs wrk and nginx (Debian) if missing, builds the release binary and the examples it needs, pins the load
# generator to CPU 0 and the servers to CPU 1 when two CPUs exist, runs each scenario for a fixed duration and
# prints a table: requests/s, p50, p99, server CPU-µs per request, and the ratio to the nginx row. Then it caches
# 100,000 distinct tokens and reports the proxy's RSS. Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
FRESH="${FRESH:-60000}"
OUT="${OUT:-target/bench}"
mkdir -p "$OUT"

if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
  (apt-get update -q && apt-get install -y -q wrk nginx-light) >/dev/null
fi
cargo build --release --quiet --bin fhir-jwt-proxy --example upstream --example bench_issuer

if [ "$(nproc)" -ge 2 ]; then LOADGEN="taskset -c 0"; SERVER="taskset -c 1"; else LOADGEN=""; SERVER=""; fi

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done; echo "not up: $1" >&2; return 1; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

UP_PORT=$(free_port); NGINX_PORT=$(free_port); PROXY_PORT=$(free_port); ADMIN_PORT=$(free_port)

$SERVER target/release/examples/upstream "127.0.0.1:$UP_PORT" 2>/dev/null & PIDS+=($!); UP_PID=$!
echo "minting tokens ($FRESH fresh RS256 tokens)..." >&2
target/release/examples/bench_issuer "$OUT" "$FRESH" > "$OUT/issuer.out" & PIDS+=($!)
for _ in $(seq 1 6000); do grep -q ready "$OUT/issuer.out" 2>/dev/null && break; sleep 0.1; done

cat > "$OUT/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $PWD/$OUT/nginx.pid;
error_log /dev/null crit;
events { worker_connections 4096; }
http {
  access_log off;
  upstream fhir { server 127.0.0.1:$UP_PORT; keepalive 64; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { proxy_pass http://fhir; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
$SERVER nginx -c "$PWD/$OUT/nginx.conf" -p "$PWD/$OUT" & PIDS+=($!)

$SERVER target/release/fhir-jwt-proxy --log-format json run --allow-insecure-http \
  --config "$OUT/config.json" --upstream "http://127.0.0.1:$UP_PORT" \
  --listen "127.0.0.1:$PROXY_PORT" --admin-listen "127.0.0.1:$ADMIN_PORT" --token-cache-bytes 268435456 \
  2>/dev/null & PIDS+=($!); PROXY_PID=$!
# The same proxy with the per-request log line filtered out (RUST_LOG=warn), to show what logging costs.
QUIET_PORT=$(free_port); QUIET_ADMIN=$(free_port)
RUST_LOG=warn $SERVER target/release/fhir-jwt-proxy --log-format json run --allow-insecure-http \
  --config "$OUT/config.json" --upstream "http://127.0.0.1:$UP_PORT" \
  --listen "127.0.0.1:$QUIET_PORT" --admin-listen "127.0.0.1:$QUIET_ADMIN" \
  2>/dev/null & PIDS+=($!); QUIET_PID=$!
wait_http "http://127.0.0.1:$UP_PORT/"
wait_http "http://127.0.0.1:$NGINX_PORT/"
for _ in $(seq 1 200); do curl -sf -o /dev/null "http://127.0.0.1:$ADMIN_PORT/readyz" && break; sleep 0.05; done
# The worker serves the requests (the master only supervises): measure the worker's CPU.
NGINX_PID=$(pgrep -P "$(cat "$OUT/nginx.pid")" | tr '\n' ' ')
HZ=$(getconf CLK_TCK)

# run NAME URL PIDS-TO-MEASURE [TOKEN-FILE]
# One token (or none): wrk sends a fixed request (-H), exactly as for the nginx row. A token file with several
# tokens needs wrk's Lua request() hook, which costs the load generator far more per request than a fixed request;
# those rows are compared with nginx driven by the same Lua script ("nginx, Lua-driven wrk"), so the ratio measures
# the proxy, not wrk.
declare -A RPS P50 P99 CPU REFOF
ORDER=()
run() {
  local name=$1 url=$2 pids=$3; shift 3
  local before=0 after=0 p
  for p in $pids; do before=$((before + $(cpu_ticks "$p"))); done
  local out
  if [ $# -gt 0 ] && [ "$(wc -l < "$1")" -gt 1 ]; then
    out=$($LOADGEN wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s benches/tokens.lua "$url" -- "$1")
    REFOF[$name]="nginx, Lua-driven wrk"
  elif [ $# -gt 0 ]; then
    out=$($LOADGEN wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "Authorization: Bearer $(head -1 "$1")" "$url/Patient/123")
    REFOF[$name]="nginx proxy_pass (no auth)"
  else
    out=$($LOADGEN wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url")
    REFOF[$name]="nginx proxy_pass (no auth)"
  fi
  for p in $pids; do after=$((after + $(cpu_ticks "$p"))); done
  local requests
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  RPS[$name]=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  P50[$name]=$(echo "$out" | awk '$1=="50%" {print $2}')
  P99[$name]=$(echo "$out" | awk '$1=="99%" {print $2}')
  CPU[$name]=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="$requests" 'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print "-" }')
  ORDER+=("$name")
  echo "$name: ${RPS[$name]} req/s" >&2
}

run "direct upstream" "http://127.0.0.1:$UP_PORT/Patient/123" "$UP_PID"
run "nginx proxy_pass (no auth)" "http://127.0.0.1:$NGINX_PORT/Patient/123" "$NGINX_PID $UP_PID"
run "nginx, Lua-driven wrk" "http://127.0.0.1:$NGINX_PORT" "$NGINX_PID $UP_PID" "$OUT/pool.txt"
run "fhir-jwt-proxy, one token" "http://127.0.0.1:$PROXY_PORT" "$PROXY_PID $UP_PID" "$OUT/one.txt"
for _ in $(seq 1 200); do curl -sf -o /dev/null "http://127.0.0.1:$QUIET_ADMIN/readyz" && break; sleep 0.05; done
run "fhir-jwt-proxy, one token, request log off" "http://127.0.0.1:$QUIET_PORT" "$QUIET_PID $UP_PID" "$OUT/one.txt"
run "fhir-jwt-proxy, 1,000 tokens" "http://127.0.0.1:$PROXY_PORT" "$PROXY_PID $UP_PID" "$OUT/pool.txt"
run "fhir-jwt-proxy, fresh token each request" "http://127.0.0.1:$PROXY_PORT" "$PROXY_PID $UP_PID" "$OUT/fresh.txt"
run "fhir-jwt-proxy, 401 (no token)" "http://127.0.0.1:$PROXY_PORT/Patient/123" "$PROXY_PID"

echo
echo "| scenario | requests/s | p50 | p99 | server CPU µs/request | × nginx (same wrk mode) |"
echo "|---|---|---|---|---|---|"
for name in "${ORDER[@]}"; do
  ref=${RPS[${REFOF[$name]}]}
  ratio=$(awk -v a="${RPS[$name]}" -v b="$ref" 'BEGIN { printf "%.2f", a / b }')
  echo "| $name | ${RPS[$name]} | ${P50[$name]} | ${P99[$name]} | ${CPU[$name]} | $ratio |"
done

# Memory: keep sending the fresh tokens until 100,000 distinct ones have been verified and cached, then read RSS.
misses() { curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" | awk '/^fhir_jwt_proxy_token_cache_total\{result="miss"\}/ {print int($2)}'; }
for _ in 1 2 3 4 5 6; do
  [ "$(misses)" -ge 100000 ] && break
  $LOADGEN wrk -t1 -c"$CONNECTIONS" -d8s -s benches/tokens.lua "http://127.0.0.1:$PROXY_PORT" -- "$OUT/fresh.txt" >/dev/null
done
CACHED=$(misses)
RSS=$(awk '/VmRSS/ {print $2}' "/proc/$PROXY_PID/status")
echo
echo "token-cache misses (distinct tokens verified and cached): ${CACHED:-0}; proxy RSS: $((RSS / 1024)) MiB"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); wrk -t1 -c$CONNECTIONS -d${DURATION}s"
