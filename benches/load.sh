#!/usr/bin/env bash
# Load harness: fhir-jwt-proxy against nginx's proxy_pass hop and haproxy's JWT path, rounds interleaved.
#
#   bash benches/load.sh      # ROUNDS=5 DURATION=10 CONNECTIONS=64 FRESH=99000 STRACE=1 to change the defaults
#
# Installs wrk, nginx-light, haproxy and strace (Debian) if missing and builds the release binary and the examples
# it needs. The load generator (wrk -t1) runs on CPU 0; the upstream and the contenders share CPU 1. The upstream
# is nginx answering every request with a small Patient resource. The contenders:
#   nginx            nginx proxy_pass with upstream keep-alive, no authentication: the reference hop
#   bare hyper hop   examples/bare_hop.rs, the cheapest hyper 1.x pass-through (calibration, no authentication)
#   proxy            fhir-jwt-proxy as shipped: every check on, token cache on, request log on (to /dev/null)
#   proxy, no cache  the same with --token-cache-bytes 0: every request verifies an RS256 signature
#   haproxy jwt      haproxy 2.6's jwt_verify (RS256 signature, alg, iss, aud, exp): a second reference
# Every contender gets the same requests: GET /Patient/123, each with the next of 1,000 distinct RS256 tokens
# (wrk's Lua hook), so the load generator's cost is the same for all. One round runs each contender once, for
# DURATION seconds; the order is the same every round (A B C, A B C, ...), so the machine's drift hits every
# contender alike. The table gives medians over the rounds with [min–max], the ratio to nginx in the same round,
# p99, the contender's CPU per request and its context switches per request (summed over its threads, from
# /proc). With STRACE=1 a short extra run per contender counts system calls per request (strace -c -f).
# MEMORY=0 skips that last part. BASELINE=path/to/an/older/fhir-jwt-proxy adds that build as one more contender, run exactly like "proxy", so a
# change is measured against the build before it in the same interleaved rounds.
# Last, 100,000 distinct tokens (the 1,000 of the rounds and FRESH=99,000 more) are verified and cached, and the
# proxy's RSS is read.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${ROUNDS:-5}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-64}"
FRESH="${FRESH:-99000}"
STRACE="${STRACE:-1}"
OUT="${OUT:-target/bench}"
mkdir -p "$OUT"
rm -f "$OUT"/rounds.tsv "$OUT"/syscalls.tsv

missing=()
for tool in wrk:wrk nginx:nginx-light haproxy:haproxy strace:strace; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  (apt-get update -q && apt-get install -y -q "${missing[@]}") >/dev/null
fi
cargo build --release --quiet --bin fhir-jwt-proxy --example bench_issuer --example bare_hop

if [ "$(nproc)" -ge 2 ]; then LOADGEN="taskset -c 0"; SERVER="taskset -c 1"; else LOADGEN=""; SERVER=""; fi

PIDS=()
# SIGTERM, not SIGINT: a script's background jobs start with SIGINT ignored, so bare_hop and haproxy would outlive
# the harness (the proxy and nginx handle both).
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done; echo "not up: $1" >&2; return 1; }
# CPU ticks of a whole process (all threads), and context switches summed over its threads.
cpu_ticks() { local t=0 p; for p in $1; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
ctx_switches() {
  local p
  for p in $1; do cat /proc/"$p"/task/*/status; done |
    awk '/ctxt_switches/ {n += $2} END {print n + 0}'
}

UP_PORT=$(free_port); NGINX_PORT=$(free_port); BARE_PORT=$(free_port); HAPROXY_PORT=$(free_port)
PROXY_PORT=$(free_port); PROXY_ADMIN=$(free_port); NOCACHE_PORT=$(free_port); NOCACHE_ADMIN=$(free_port)

echo "minting tokens ($FRESH fresh RS256 tokens)..." >&2
$LOADGEN target/release/examples/bench_issuer "$OUT" "$FRESH" > "$OUT/issuer.out" & PIDS+=($!)
for _ in $(seq 1 6000); do grep -q ready "$OUT/issuer.out" 2>/dev/null && break; sleep 0.1; done
ISSUER=$(cat "$OUT/issuer.txt")

# The upstream: nginx answering a small Patient, keep-alive without a request limit.
cat > "$OUT/upstream.conf" <<NGINX
worker_processes 1;
daemon off;
pid $PWD/$OUT/upstream.pid;
error_log /dev/null crit;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$UP_PORT;
    location / {
      default_type application/fhir+json;
      return 200 '{"resourceType":"Patient","id":"123","name":[{"family":"Rivera","given":["Ana"]}]}';
    }
  }
}
NGINX
$SERVER nginx -c "$PWD/$OUT/upstream.conf" -p "$PWD/$OUT" & PIDS+=($!)

cat > "$OUT/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $PWD/$OUT/nginx.pid;
error_log /dev/null crit;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream fhir { server 127.0.0.1:$UP_PORT; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { proxy_pass http://fhir; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
$SERVER nginx -c "$PWD/$OUT/nginx.conf" -p "$PWD/$OUT" & PIDS+=($!)

cat > "$OUT/haproxy.cfg" <<HAPROXY
global
  nbthread 1
  tune.ssl.default-dh-param 2048
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
frontend fhir
  bind 127.0.0.1:$HAPROXY_PORT
  http-request deny deny_status 401 unless { req.hdr(authorization) -m beg "Bearer " }
  http-request set-var(txn.bearer) http_auth_bearer
  http-request set-var(txn.alg) var(txn.bearer),jwt_header_query('\$.alg')
  http-request deny deny_status 401 unless { var(txn.alg) -m str RS256 }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_verify(txn.alg,"$PWD/$OUT/rs256.pem") -m int 1 }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_payload_query('\$.iss') -m str "$ISSUER" }
  http-request deny deny_status 403 unless { var(txn.bearer),jwt_payload_query('\$.aud') -m str fhir-api }
  http-request set-var(txn.exp) var(txn.bearer),jwt_payload_query('\$.exp','int')
  http-request set-var(txn.now) date()
  http-request deny deny_status 401 unless { var(txn.exp),sub(txn.now) -m int gt 0 }
  default_backend fhir
backend fhir
  http-reuse always
  server up 127.0.0.1:$UP_PORT
HAPROXY
$SERVER haproxy -f "$OUT/haproxy.cfg" -q & PIDS+=($!); HAPROXY_PID=$!

$SERVER target/release/examples/bare_hop "127.0.0.1:$BARE_PORT" "127.0.0.1:$UP_PORT" 2>/dev/null & PIDS+=($!)
BARE_PID=$!

# The proxy as shipped (request log on, JSON lines) and the same with the token cache off.
$SERVER target/release/fhir-jwt-proxy --log-format json run --allow-insecure-http \
  --config "$OUT/config.json" --upstream "http://127.0.0.1:$UP_PORT" \
  --listen "127.0.0.1:$PROXY_PORT" --admin-listen "127.0.0.1:$PROXY_ADMIN" \
  2>/dev/null & PIDS+=($!); PROXY_PID=$!
$SERVER target/release/fhir-jwt-proxy --log-format json run --allow-insecure-http \
  --config "$OUT/config.json" --upstream "http://127.0.0.1:$UP_PORT" \
  --listen "127.0.0.1:$NOCACHE_PORT" --admin-listen "127.0.0.1:$NOCACHE_ADMIN" --token-cache-bytes 0 \
  2>/dev/null & PIDS+=($!); NOCACHE_PID=$!

if [ -n "${BASELINE:-}" ]; then
  BASE_PORT=$(free_port); BASE_ADMIN=$(free_port)
  $SERVER "$BASELINE" --log-format json run --allow-insecure-http \
    --config "$OUT/config.json" --upstream "http://127.0.0.1:$UP_PORT" \
    --listen "127.0.0.1:$BASE_PORT" --admin-listen "127.0.0.1:$BASE_ADMIN" \
    2>/dev/null & PIDS+=($!); BASE_PID=$!
fi

wait_http "http://127.0.0.1:$UP_PORT/"
wait_http "http://127.0.0.1:$NGINX_PORT/"
wait_http "http://127.0.0.1:$HAPROXY_PORT/"
wait_http "http://127.0.0.1:$BARE_PORT/"
for admin in $PROXY_ADMIN $NOCACHE_ADMIN ${BASE_ADMIN:-}; do
  for _ in $(seq 1 200); do curl -sf -o /dev/null "http://127.0.0.1:$admin/readyz" && break; sleep 0.05; done
done
# nginx's workers serve the requests (the master only supervises): measure the worker.
NGINX_PID=$(pgrep -P "$(cat "$OUT/nginx.pid")" | tr '\n' ' ')

NAMES=("nginx" "bare hyper hop" "proxy" "proxy, no cache" "haproxy jwt")
PORTS=("$NGINX_PORT" "$BARE_PORT" "$PROXY_PORT" "$NOCACHE_PORT" "$HAPROXY_PORT")
PROCS=("$NGINX_PID" "$BARE_PID" "$PROXY_PID" "$NOCACHE_PID" "$HAPROXY_PID")
if [ -n "${BASELINE:-}" ]; then
  NAMES+=("baseline build"); PORTS+=("$BASE_PORT"); PROCS+=("$BASE_PID")
fi

# Every contender must answer the harness's request with 200 before it is measured: a 401 is not a figure.
TOKEN=$(head -1 "$OUT/pool.txt")
for i in "${!NAMES[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:${PORTS[$i]}/Patient/123")
  [ "$code" = 200 ] || { echo "${NAMES[$i]} answered $code, not 200" >&2; exit 1; }
done

HZ=$(getconf CLK_TCK)
# wrk's latency to milliseconds (it prints 812.00us, 2.50ms or 1.02s).
to_ms() { awk -v v="$1" 'BEGIN { u = v; sub(/[0-9.]+/, "", u); n = v + 0;
  if (u == "us") n /= 1000; else if (u == "s") n *= 1000; printf "%.3f", n }'; }

for round in $(seq 1 "$ROUNDS"); do
  for i in "${!NAMES[@]}"; do
    name=${NAMES[$i]}; pids=${PROCS[$i]}
    cpu0=$(cpu_ticks "$pids"); cs0=$(ctx_switches "$pids")
    out=$($LOADGEN wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s benches/tokens.lua \
      "http://127.0.0.1:${PORTS[$i]}" -- "$OUT/pool.txt")
    cpu1=$(cpu_ticks "$pids"); cs1=$(ctx_switches "$pids")
    requests=$(echo "$out" | awk '/requests in/ {print $1}')
    non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(to_ms "$(echo "$out" | awk '$1=="50%" {print $2}')")
    p99=$(to_ms "$(echo "$out" | awk '$1=="99%" {print $2}')")
    cpu_us=$(awk -v t=$((cpu1 - cpu0)) -v hz="$HZ" -v n="$requests" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
    cs=$(awk -v c=$((cs1 - cs0)) -v n="$requests" 'BEGIN { printf "%.3f", c / n }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$rps" "$p50" "$p99" "$cpu_us" "$cs" "${non2xx:-0}" \
      >> "$OUT/rounds.tsv"
    echo "round $round: $name $rps req/s, p99 ${p99} ms, ${cpu_us} CPU-µs/request, $cs context switches/request" >&2
  done
done

if [ "$STRACE" = 1 ]; then
  for i in "${!NAMES[@]}"; do
    pid=${PROCS[$i]%% *}
    strace -c -f -p "$pid" -o "$OUT/strace.txt" 2>/dev/null & st=$!
    sleep 0.5
    out=$($LOADGEN wrk -t1 -c"$CONNECTIONS" -d3s -s benches/tokens.lua "http://127.0.0.1:${PORTS[$i]}" -- "$OUT/pool.txt")
    kill -INT "$st"; wait "$st" 2>/dev/null || true
    requests=$(echo "$out" | awk '/requests in/ {print $1}')
    calls=$(awk '$NF=="total" {print ($4 ~ /^[0-9]+$/) ? $4 : $3}' "$OUT/strace.txt")
    printf '%s\t%s\n' "${NAMES[$i]}" "$(awk -v c="$calls" -v n="$requests" 'BEGIN { printf "%.2f", c / n }')" \
      >> "$OUT/syscalls.tsv"
  done
fi

python3 - "$OUT/rounds.tsv" "$OUT/syscalls.tsv" "${NAMES[@]}" <<'PY'
import statistics, sys, os
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
syscalls = {}
if os.path.exists(sys.argv[2]):
    syscalls = dict(l.rstrip("\n").split("\t") for l in open(sys.argv[2]))
names = sys.argv[3:]
by = {n: [r for r in rows if r[1] == n] for n in names}
ref = {r[0]: float(r[2]) for r in rows if r[1] == "nginx"}
def med(values, fmt):
    values = sorted(values)
    return f"{fmt.format(statistics.median(values))} [{fmt.format(values[0])}–{fmt.format(values[-1])}]"
print(f"\n{len(ref)} interleaved rounds; medians [min–max]\n")
print("| contender | requests/s | × nginx (same round) | p50 ms | p99 ms | CPU µs/request | context switches/request | syscalls/request | non-2xx |")
print("|---|---|---|---|---|---|---|---|---|")
for n in names:
    rs = by[n]
    rps = [float(r[2]) for r in rs]
    ratio = [float(r[2]) / ref[r[0]] for r in rs]
    print(f"| {n} | {med(rps, '{:,.0f}')} | {med(ratio, '{:.2f}')} | {statistics.median(float(r[3]) for r in rs):.2f} "
          f"| {med([float(r[4]) for r in rs], '{:.2f}')} | {med([float(r[5]) for r in rs], '{:.1f}')} "
          f"| {med([float(r[6]) for r in rs], '{:.2f}')} | {syscalls.get(n, '-')} | {sum(int(r[7]) for r in rs)} |")
PY

[ "${MEMORY:-1}" = 1 ] || exit 0
# Memory: keep sending fresh tokens until 100,000 distinct ones have been verified and cached, then read RSS.
misses() { curl -s "http://127.0.0.1:$PROXY_ADMIN/metrics" | awk '/^fhir_jwt_proxy_token_cache_total\{result="miss"\}/ {print int($2)}'; }
for _ in $(seq 1 12); do
  [ "$(misses)" -ge 100000 ] && break
  $LOADGEN wrk -t1 -c"$CONNECTIONS" -d8s -s benches/tokens.lua "http://127.0.0.1:$PROXY_PORT" \
    -- "$OUT/fresh.txt" "" "$(( $(misses) + 1 ))" >/dev/null
done
CACHED=$(misses)
RSS=$(awk '/VmRSS/ {print $2}' "/proc/$PROXY_PID/status")
echo
echo "token-cache misses (distinct tokens verified and cached): ${CACHED:-0}; proxy RSS: $((RSS / 1024)) MiB"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); wrk -t1 -c$CONNECTIONS -d${DURATION}s × $ROUNDS rounds"
