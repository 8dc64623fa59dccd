#!/usr/bin/env bash
# Reproduces the figures in BENCHMARKS.md: for each workload, a fresh Release server on
# 127.0.0.1:8080 with an empty data directory, then the generator against it, then the server is
# stopped. Reports (table and JSON) land in $OUT (default /tmp/parley-bench-results).
#
#   tools/Parley.Bench/run-benchmarks.sh                 # every workload, the issue's sizes
#   tools/Parley.Bench/run-benchmarks.sh pairs-5000 conns  # some of them
#   OUT=/tmp/steady WARMUP=45 tools/Parley.Bench/run-benchmarks.sh pairs-max pairs-5000
#
# WARMUP (seconds, default 5) is the load before the measured phase of the pairs, one-socket and
# group runs. A fresh server keeps compiling its hot code for about half a minute under load (the
# report's "server JIT compilation" figure), so the default measures a server still warming up;
# 45 measures it once compiled, as it runs for the rest of its life.
#
# The server settings below are benchmark-only: a password hash of 1,000 PBKDF2 iterations (the
# default is 600,000) so that registering 19,000 users takes seconds, and rate limits a load
# generator does not trip. Never run a real server with them.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/parley-bench-results}
WARMUP=${WARMUP:-5}
PORT=${PORT:-8080}
mkdir -p "$OUT"

dotnet build src/Parley.Server -c Release -nologo -clp:ErrorsOnly >/dev/null
dotnet build tools/Parley.Bench -c Release -nologo -clp:ErrorsOnly >/dev/null
BENCH="dotnet tools/Parley.Bench/bin/Release/net10.0/Parley.Bench.dll"

server_pid=""
start_server() {
  local data=/tmp/parley-bench-data
  rm -rf "$data"
  Parley__DataDirectory=$data \
  Parley__Auth__PasswordIterations=1000 \
  Parley__Auth__AttemptsPerIpPerMinute=1000000 \
  Parley__Auth__AttemptsPerAccountPer15Minutes=1000000 \
  Parley__Limits__MessagesPerSecond=100000 Parley__Limits__FramesPerSecond=100000 \
  Parley__Limits__SocketsPerUser=100 \
  Logging__LogLevel__Default=Warning \
  DOTNET_GCgen0size=0x2000000 \
    dotnet src/Parley.Server/bin/Release/net10.0/Parley.Server.dll --urls "http://127.0.0.1:$PORT" >"$OUT/server-$1.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 120); do
    curl -fs -m 1 "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "server did not start" >&2
  return 1
}
stop_server() {
  [ -n "$server_pid" ] || return 0
  kill "$server_pid" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.25; done
  kill -9 "$server_pid" 2>/dev/null || true
  server_pid=""
}
trap stop_server EXIT

run() {
  local name=$1; shift
  echo "== $name: $BENCH $* --url http://127.0.0.1:$PORT --server-pid \$SERVER_PID"
  start_server "$name"
  $BENCH "$@" --url "http://127.0.0.1:$PORT" --server-pid "$server_pid" --json-out "$OUT/$name.json" \
    2>"$OUT/$name.progress" | tee "$OUT/$name.txt" || true
  stop_server
}

# A run with a second observer: latency-probe.mjs (one pair at 200/s, in a Node process of its own)
# times its own messages through the generator's measured phase, from the send call to the
# recipient's socket, so that the server's share of the end-to-end latency shows apart from the
# generator's (the probe's header says more).
run_with_probe() {
  local name=$1; shift
  echo "== $name: $BENCH $* --url http://127.0.0.1:$PORT --server-pid \$SERVER_PID, and latency-probe.mjs beside it"
  start_server "$name"
  $BENCH "$@" --url "http://127.0.0.1:$PORT" --server-pid "$server_pid" --json-out "$OUT/$name.json" \
    2>"$OUT/$name.progress" >"$OUT/$name.txt" &
  local bench=$!
  # The measured phase has begun once the warm-up's summary (or, without one, the first count) is out.
  until grep -qE "warm-up: [0-9,]+ messages|\] sent [0-9]" "$OUT/$name.progress" 2>/dev/null || ! kill -0 "$bench" 2>/dev/null; do
    sleep 0.2
  done
  node --experimental-websocket tools/Parley.Bench/latency-probe.mjs --url "http://127.0.0.1:$PORT" --warmup 2 --duration 15 \
    --json-out "$OUT/$name-probe.json" | tee "$OUT/$name-probe.txt" || true
  wait "$bench" || true
  cat "$OUT/$name.txt"
  stop_server
}

all=(pairs-2000 pairs-5000 pairs-5000-probe pairs-max one-socket-1 one-socket-16 two-sockets-1 two-sockets-16 group-200 group-max history conns conns-header reconnect reconnect-10k)
selected=("$@")
[ ${#selected[@]} -gt 0 ] || selected=("${all[@]}")
for w in "${selected[@]}"; do
  case $w in
    pairs-2000) run pairs-2000 pairs --users 1000 --rate 2000 --duration 20 --warmup "$WARMUP" ;;
    pairs-5000) run pairs-5000 pairs --users 1000 --rate 5000 --duration 20 --warmup "$WARMUP" ;;
    pairs-5000-probe) run_with_probe pairs-5000-probe pairs --users 1000 --rate 5000 --duration 20 --warmup "$WARMUP" ;;
    pairs-max)  run pairs-max pairs --users 1000 --rate max --window 4 --duration 20 --warmup "$WARMUP" ;;
    # One busy device: one socket with 1 or 16 sends in flight, into a 1:1 chat whose other member's
    # socket only receives.
    one-socket-1)  run one-socket-1 pairs --users 2 --one-way --rate max --window 1 --duration 20 --warmup "$WARMUP" ;;
    one-socket-16) run one-socket-16 pairs --users 2 --one-way --rate max --window 16 --duration 20 --warmup "$WARMUP" ;;
    # Both members of the chat sending at once, each with 1 or 16 in flight (the one-socket rows
    # before 2026-12-05: two busy devices, so one in flight is two round trips side by side).
    two-sockets-1)  run two-sockets-1 pairs --users 2 --rate max --window 1 --duration 20 --warmup "$WARMUP" ;;
    two-sockets-16) run two-sockets-16 pairs --users 2 --rate max --window 16 --duration 20 --warmup "$WARMUP" ;;
    group-200)  run group-200 group --members 1000 --senders 10 --rate 200 --duration 20 --warmup "$WARMUP" ;;
    group-max)  run group-max group --members 1000 --senders 10 --rate max --window 4 --duration 20 --warmup "$WARMUP" ;;
    history)    run history history --messages 1000000 --chats 100 --reads 10000 --concurrency 8 ;;
    conns)      run conns conns --steps 1000,5000,10000,19000 --settle 5 --hold 30 ;;
    # The same sockets with their token in the Authorization header (a native client) rather than the URL.
    conns-header) run conns-header conns --steps 1000,5000,10000,19000 --settle 5 --hold 30 --ws-token header ;;
    reconnect)  run reconnect reconnect --users 1000 --rate 2000 --duration 5 --offline-messages 2 ;;
    reconnect-10k) run reconnect-10k reconnect --users 10000 --rate 2000 --duration 5 --offline-messages 2 ;;
    *) echo "unknown run $w (known: ${all[*]})" >&2; exit 2 ;;
  esac
done
echo "reports in $OUT"
