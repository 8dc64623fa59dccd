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
# cluster tests and the PostgreSQL pass of the suites, Redis for the cluster tests on the Redis bus.
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || missing+=(fonts-noto-color-emoji)
[ -x "$(pg_bin)/initdb" ] || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  as_root apt-get update -q >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null || echo "apt-get install failed: ${missing[*]}"
fi

# npm packages the suites drive: s3rver, an S3-compatible server for the S3 blob store, and
# dynalite, a DynamoDB-compatible server for the DynamoDB backend.
npm_dir="$root/test-output/npm"
if [ ! -x "$npm_dir/node_modules/.bin/s3rver" ] || [ ! -x "$npm_dir/node_modules/.bin/dynalite" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "== installing nodejs and npm"
    as_root apt-get update -q >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null || echo "apt-get install failed: nodejs npm"
  fi
  echo "== installing s3rver and dynalite from npm"
  mkdir -p "$npm_dir"
  npm install --prefix "$npm_dir" --no-audit --no-fund --loglevel=error s3rver@3.7.1 dynalite@4.0.0 >/dev/null \
    || echo "npm install s3rver dynalite failed"
fi

# The CloudFormation linter for the AWS template (the Python cfn-lint; the npm package of that name
# is an older, different validator). Without it its test is skipped, or fails under CI=true.
for dir in "$HOME/.pyenv/shims" "$HOME/.local/bin"; do
  command -v cfn-lint >/dev/null 2>&1 || { [ -x "$dir/cfn-lint" ] && export PATH="$dir:$PATH"; }
done
if ! command -v cfn-lint >/dev/null 2>&1; then
  echo "== installing cfn-lint"
  python3 -m pip install -q cfn-lint >/dev/null 2>&1 || pip3 install -q cfn-lint >/dev/null 2>&1 \
    || echo "cfn-lint could not be installed: the template's lint test is skipped (fails under CI=true)"
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
stop_pg() { pg_run "$(pg_bin)/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1; rm -rf "$pg_dir" 2>/dev/null; }
redis_dir=$(mktemp -d /tmp/parley-redis.XXXXXX)
# The summary must stay the last line: wait for a stopped server to let go of its directory, and
# keep a removal that still races with it quiet.
stop_and_wait() { kill "$1" 2>/dev/null || return 0; for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; }
stop_redis() { [ -f "$redis_dir/redis.pid" ] && stop_and_wait "$(cat "$redis_dir/redis.pid")"; rm -rf "$redis_dir" 2>/dev/null; }
trap 'stop_pg; stop_redis' EXIT
free_port() {
  for _ in $(seq 1 50); do
    candidate=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then echo "$candidate"; return; fi
  done
  echo 0
}
pg_port=$(free_port)
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

# A throwaway Redis on a free port, for the cluster tests on the Redis bus.
redis_failed=0
redis_port=$(free_port)
echo "== starting a throwaway Redis on port $redis_port"
if command -v redis-server >/dev/null 2>&1 && [ "$redis_port" != 0 ] \
  && redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
       --pidfile "$redis_dir/redis.pid" --logfile "$redis_dir/redis.log" --dir "$redis_dir" >/dev/null \
  && for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done \
  && redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG; then
  export PARLEY_TEST_REDIS="127.0.0.1:$redis_port"
else
  echo "Redis could not be started; the Redis bus tests fail under CI=true and are skipped otherwise"
  cat "$redis_dir"/*.log 2>/dev/null | tail -n 20
  redis_failed=1
fi

# A throwaway S3 (s3rver) on a free port, for the media blobs of the PostgreSQL pass.
s3_failed=0
s3_dir=$(mktemp -d /tmp/parley-s3.XXXXXX)
s3_pid=""
stop_s3() { [ -n "$s3_pid" ] && stop_and_wait "$s3_pid"; rm -rf "$s3_dir" 2>/dev/null; }
trap 'stop_pg; stop_redis; stop_s3' EXIT
s3_port=$(free_port)
echo "== starting a throwaway S3 (s3rver) on port $s3_port"
if [ -x "$npm_dir/node_modules/.bin/s3rver" ] && [ "$s3_port" != 0 ]; then
  "$npm_dir/node_modules/.bin/s3rver" -d "$s3_dir" -a 127.0.0.1 -p "$s3_port" --silent >"$s3_dir.log" 2>&1 &
  s3_pid=$!
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$s3_port") 2>/dev/null && break
    sleep 0.2
  done
fi
if [ -n "$s3_pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$s3_port") 2>/dev/null; then
  export PARLEY_TEST_S3="http://127.0.0.1:$s3_port"
else
  echo "s3rver could not be started; the S3 tests fail under CI=true and are skipped otherwise"
  cat "$s3_dir.log" 2>/dev/null | tail -n 20
  s3_failed=1
fi
rm -f "$s3_dir.log"

# A throwaway DynamoDB (dynalite, in memory) on a free port, for the DynamoDB backend. Tables are
# created at once (dynalite otherwise pretends to take half a second per table).
dynamo_failed=0
dynamo_pid=""
stop_dynamo() { [ -n "$dynamo_pid" ] && kill "$dynamo_pid" 2>/dev/null; }
trap 'stop_pg; stop_redis; stop_s3; stop_dynamo' EXIT
dynamo_port=$(free_port)
echo "== starting a throwaway DynamoDB (dynalite) on port $dynamo_port"
if [ -x "$npm_dir/node_modules/.bin/dynalite" ] && [ "$dynamo_port" != 0 ]; then
  "$npm_dir/node_modules/.bin/dynalite" --port "$dynamo_port" --host 127.0.0.1 \
    --createTableMs 0 --deleteTableMs 0 --updateTableMs 0 >"$root/test-output/dynalite.log" 2>&1 &
  dynamo_pid=$!
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$dynamo_port") 2>/dev/null && break
    sleep 0.2
  done
fi
if [ -n "$dynamo_pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$dynamo_port") 2>/dev/null; then
  export PARLEY_TEST_DYNAMODB="http://127.0.0.1:$dynamo_port"
else
  echo "dynalite could not be started; the DynamoDB tests fail under CI=true and are skipped otherwise"
  tail -n 20 "$root/test-output/dynalite.log" 2>/dev/null
  dynamo_failed=1
fi

# The backends the suites run on, one pass each. On sqlite every test project runs (the store
# contract, cluster and deploy tests of Parley.Tests cover PostgreSQL and both buses themselves); on
# every other backend the test servers of the HTTP/WebSocket suite and of the browser suite run on
# it, each with a database (and a bucket) of its own.
backends="sqlite postgres dynamodb"
# One test project at a time: the browser suite drives Chromium against timing-sensitive pages,
# and on two cores it must not compete with the cluster suites' node processes.
status=0
ran=()  # backend/project of every run, to find the ones that left no results
for backend in $backends; do
  backend_env=()
  filter=""
  case "$backend" in
    sqlite)
      projects=(tests/*/*.csproj) ;;
    postgres)
      if [ $pg_failed -ne 0 ]; then echo "== no PostgreSQL pass: PostgreSQL did not start"; continue; fi
      blobs=directory; [ $s3_failed -eq 0 ] && blobs=s3
      backend_env=(PARLEY_TEST_STORE=postgres PARLEY_TEST_BLOBS=$blobs)
      projects=(tests/Parley.Tests/Parley.Tests.csproj tests/Parley.BrowserTests/Parley.BrowserTests.csproj)
      # Storage, cluster and deploy tests pick their backends themselves: the sqlite pass ran them.
      filter="FullyQualifiedName!~Parley.Tests.Storage&FullyQualifiedName!~Parley.Tests.Cluster&FullyQualifiedName!~Parley.Tests.Deploy" ;;
    dynamodb)
      if [ $dynamo_failed -ne 0 ]; then echo "== no DynamoDB pass: dynalite did not start"; continue; fi
      backend_env=(PARLEY_TEST_STORE=dynamodb)
      projects=(tests/Parley.Tests/Parley.Tests.csproj tests/Parley.BrowserTests/Parley.BrowserTests.csproj)
      filter="FullyQualifiedName!~Parley.Tests.Storage&FullyQualifiedName!~Parley.Tests.Cluster&FullyQualifiedName!~Parley.Tests.Deploy" ;;
    *)
      echo "unknown backend $backend"; status=1; continue ;;
  esac
  for project in "${projects[@]}"; do
    name=$(basename "$project" .csproj)
    filter_args=()
    [ -n "$filter" ] && [ "$name" = Parley.Tests ] && filter_args=(--filter "$filter")
    echo "== $name on $backend ${backend_env[*]}"
    ran+=("$backend/$name")
    env "${backend_env[@]}" dotnet test "$project" -c Release --no-build -nologo "${filter_args[@]}" \
      --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" --results-directory "$results/$backend"
    project_status=$?
    [ $project_status -ne 0 ] && status=$project_status
  done
done

passed=0
failed=$((pg_failed + redis_failed + s3_failed + dynamo_failed))
for trx in "$results"/*/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(echo "$counters" | sed -n 's/.* passed="\([0-9]*\)".*/\1/p')
  f=$(echo "$counters" | sed -n 's/.* failed="\([0-9]*\)".*/\1/p')
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
done
# Name every failed test just above the summary, with the first lines of its message, so a red
# run says what to look at even when only the end of its output is kept.
for trx in "$results"/*/*.trx; do
  [ -f "$trx" ] || continue
  if ! command -v python3 >/dev/null 2>&1; then
    grep -o '<UnitTestResult [^>]*outcome="Failed"[^>]*>' "$trx" | sed -n 's/.*testName="\([^"]*\)".*/FAILED (\1)/p'
    continue
  fi
  python3 - "$trx" "$(basename "$(dirname "$trx")")" <<'PY'
import sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
for result in ET.parse(sys.argv[1]).getroot().iterfind(".//t:UnitTestResult[@outcome='Failed']", ns):
    print(f"FAILED [{sys.argv[2]}] ({result.get('testName')})")
    message = result.find("t:Output/t:ErrorInfo/t:Message", ns)
    for line in (message.text or "").strip().splitlines()[:6] if message is not None else []:
        print("    " + line[:300])
PY
done
# A test project that ran but left no results file crashed: count it as a failure.
for run in "${ran[@]}"; do
  if [ ! -f "$results/$run.trx" ]; then
    echo "CRASHED [${run%%/*}] (${run#*/} left no results: its test host crashed)"
    failed=$((failed + 1))
  fi
done
# A crashed test host leaves no counters: never report green when dotnet test failed.
if [ $status -ne 0 ] && [ $failed -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
