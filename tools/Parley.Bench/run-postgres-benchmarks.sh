#!/bin/bash
# Benchmarks Parley on PostgreSQL: starts a throwaway PostgreSQL, one node or two nodes behind
# nginx (deploy/nginx/parley.conf on port 18200), runs one bench workload, stops everything.
# Run as root on Debian with postgresql and nginx installed, after building Release:
#   tools/Parley.Bench/run-postgres-benchmarks.sh one|two <workload> [bench options]
set -u
mode=$1; shift   # one | two
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
D=/tmp/pgb; rm -rf $D; mkdir -p $D; chown postgres $D
runuser -u postgres -- $PGBIN/initdb -D $D/data -A trust -U parley -E UTF8 >/dev/null
runuser -u postgres -- $PGBIN/pg_ctl -D $D/data -l $D/log -w start -o "-p 55432 -k $D -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=512MB" >/dev/null
psql -h 127.0.0.1 -p 55432 -U parley -d postgres -c "CREATE DATABASE parley" >/dev/null
CS="Host=127.0.0.1;Port=55432;Username=parley;Database=parley;Maximum Pool Size=50"
cd "$(dirname "$0")/../.."
# Two nodes deliver to each other's sockets over the PostgreSQL bus; one node needs no bus.
bus=InMemory; [ "$mode" = two ] && bus=Postgres
start_node() {
  Parley__Cluster__Bus=$bus Parley__Storage__Provider=Postgres Parley__Storage__ConnectionString="$CS" Parley__DataDirectory=/tmp/pgb/node$1 \
  Parley__Auth__PasswordIterations=1000 Parley__Auth__AttemptsPerIpPerMinute=1000000 Parley__Auth__AttemptsPerAccountPer15Minutes=1000000 \
  Parley__Limits__MessagesPerSecond=100000 Parley__Limits__FramesPerSecond=100000 Parley__Limits__SocketsPerUser=100 Logging__LogLevel__Default=Warning \
  dotnet src/Parley.Server/bin/Release/net10.0/Parley.Server.dll --urls http://127.0.0.1:$1 > /tmp/pgb/node$1.log 2>&1 &
}
start_node 18201; sleep 4
URL=http://127.0.0.1:18201
if [ "$mode" = two ]; then
  start_node 18202; sleep 4
  sed -e 's/127.0.0.1:8081/127.0.0.1:18201/; s/127.0.0.1:8082/127.0.0.1:18202/; s/listen 8080;/listen 18200;/; s#/var/log/nginx/parley.access.log#/tmp/pgb/access.log#' deploy/nginx/parley.conf > /tmp/pgb/parley.conf
  printf 'worker_processes 1;\npid /tmp/pgb/nginx.pid;\nerror_log /tmp/pgb/nginx.err;\nevents { worker_connections 8192; }\nhttp {\n include /tmp/pgb/parley.conf;\n}\n' > /tmp/pgb/nginx.conf
  nginx -c /tmp/pgb/nginx.conf
  URL=http://127.0.0.1:18200
  sleep 1
fi
timeout 300 dotnet tools/Parley.Bench/bin/Release/net10.0/Parley.Bench.dll "$@" --url $URL --quiet
[ -f /tmp/pgb/nginx.pid ] && kill $(cat /tmp/pgb/nginx.pid)
pkill -f "127.0.0.1:1820[12]"; sleep 1
runuser -u postgres -- $PGBIN/pg_ctl -D $D/data -m fast stop >/dev/null
