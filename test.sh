#!/usr/bin/env bash
# Parley's one test command. On a fresh Debian machine it installs what the tests need,
# builds everything, runs every test project, and ends with the line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
root=$(pwd)
results="$root/test-output/results"
rm -rf "$results"
mkdir -p "$results"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# System packages the suites drive for real: Chromium for the browser tests (with a colour emoji
# font, so emoji in messages and screenshots render), PostgreSQL for the PostgreSQL backend, the
# cluster tests and the second run of the suites.
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || missing+=(fonts-noto-color-emoji)
[ -x "$(pg_bin)/initdb" ] || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  as_root apt-get update -q >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null || echo "apt-get install failed: ${missing[*]}"
fi

echo "== building"
if ! dotnet build Parley.slnx -c Release -nologo -clp:ErrorsOnly; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

# A throwaway PostgreSQL cluster in a temporary directory on a free port, stopped on exit.
pg_failed=0
pg_dir=$(mktemp -d /tmp/parley-pg.XXXXXX)
pg_run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop_pg() { pg_run "$(pg_bin)/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1; rm -rf "$pg_dir"; }
trap stop_pg EXIT
pg_port=0
for _ in $(seq 1 50); do
  candidate=$((20000 + RANDOM % 40000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then pg_port=$candidate; break; fi
done
echo "== starting a throwaway PostgreSQL on port $pg_port"
[ "$(id -u)" = 0 ] && chown postgres "$pg_dir"
if [ -x "$(pg_bin)/initdb" ] && [ "$pg_port" != 0 ] \
  && pg_run "$(pg_bin)/initdb" -D "$pg_dir/data" -A trust -U parley -E UTF8 --no-sync >"$pg_dir/initdb.log" 2>&1 \
  && pg_run "$(pg_bin)/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 start \
       -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=500 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null; then
  export PARLEY_TEST_PG="Host=127.0.0.1;Port=$pg_port;Username=parley;Database=postgres"
else
  echo "PostgreSQL could not be started; its tests fail under CI=true and are skipped otherwise"
  cat "$pg_dir"/*.log 2>/dev/null | tail -n 20
  pg_failed=1
fi

echo "== testing (SQLite server; store contract and cluster tests on both backends)"
dotnet test Parley.slnx -c Release --no-build -nologo \
  --logger "trx" --logger "console;verbosity=normal" --results-directory "$results/sqlite"
status=$?

if [ $pg_failed -eq 0 ]; then
  echo "== testing again with every test server on PostgreSQL (the HTTP and WebSocket suites)"
  PARLEY_TEST_STORE=postgres dotnet test tests/Parley.Tests/Parley.Tests.csproj -c Release --no-build -nologo \
    --filter "FullyQualifiedName!~Parley.Tests.Storage&FullyQualifiedName!~Parley.Tests.Cluster" \
    --logger "trx" --logger "console;verbosity=normal" --results-directory "$results/postgres"
  pg_status=$?
  [ $pg_status -ne 0 ] && status=$pg_status
fi

passed=0
failed=$pg_failed
for trx in "$results"/*/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(echo "$counters" | sed -n 's/.* passed="\([0-9]*\)".*/\1/p')
  f=$(echo "$counters" | sed -n 's/.* failed="\([0-9]*\)".*/\1/p')
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
done
# A crashed test host leaves no counters: never report green when dotnet test failed.
if [ $status -ne 0 ] && [ $failed -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
