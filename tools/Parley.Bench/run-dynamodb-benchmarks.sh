#!/bin/bash
# Parley on DynamoDB (BENCHMARKS.md, "DynamoDB"): starts dynalite and one server on it, runs either
# dynamodb-cost.py (what each operation costs in capacity units; dynalite reports the units of each
# request as DynamoDB prices them, per item and KB, but leaves out index writes) or one workload of
# the bench tool, then stops both. Run after building Release, with dynalite installed by ./test.sh
# (or on PATH):
#   tools/Parley.Bench/run-dynamodb-benchmarks.sh cost [--group 1000] [--repeat 50]
#   tools/Parley.Bench/run-dynamodb-benchmarks.sh <workload> [bench options]
set -u
cd "$(dirname "$0")/../.."
dynalite=test-output/npm/node_modules/.bin/dynalite
[ -x "$dynalite" ] || dynalite=$(command -v dynalite) || { echo "dynalite not found: run ./test.sh once (it installs it) or put it on PATH"; exit 2; }
D=$(mktemp -d /tmp/parley-cost.XXXXXX)
"$dynalite" --port 18300 --host 127.0.0.1 --createTableMs 0 --deleteTableMs 0 --updateTableMs 0 > "$D/dynalite.log" 2>&1 &
dynalite_pid=$!
sleep 1
Parley__Storage__Provider=DynamoDb Parley__Storage__DynamoDb__ServiceUrl=http://127.0.0.1:18300 Parley__Storage__DynamoDb__CreateTables=true \
Parley__Storage__DynamoDb__AccessKey=local Parley__Storage__DynamoDb__SecretKey=local Parley__DataDirectory="$D/data" \
Parley__Auth__PasswordIterations=1000 Parley__Auth__AttemptsPerIpPerMinute=1000000 Parley__Auth__AttemptsPerAccountPer15Minutes=1000000 \
Parley__Limits__MessagesPerSecond=100000 Parley__Limits__FramesPerSecond=100000 Parley__Limits__SocketsPerUser=100 Logging__LogLevel__Default=Warning \
  dotnet src/Parley.Server/bin/Release/net10.0/Parley.Server.dll --urls http://127.0.0.1:18301 > "$D/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18301/health/ready >/dev/null && break; sleep 0.3; done
if [ "${1:-}" = cost ]; then
  shift
  timeout 900 python3 tools/Parley.Bench/dynamodb-cost.py http://127.0.0.1:18301 "$@"
else
  timeout 900 dotnet tools/Parley.Bench/bin/Release/net10.0/Parley.Bench.dll "$@" --url http://127.0.0.1:18301 --server-pid $server_pid --quiet
fi
status=$?
kill $server_pid $dynalite_pid 2>/dev/null
wait 2>/dev/null
[ $status -eq 0 ] && rm -rf "$D" || echo "logs kept in $D"
exit $status
