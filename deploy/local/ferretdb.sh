#!/usr/bin/env bash
# FerretDB 1.x on its embedded SQLite storage, on 127.0.0.1, without Docker: a server that speaks
# MongoDB's wire protocol but has no transactions. What the MongoDB store's contract cases that
# need no transaction run against where no MongoDB can be had (libs/store-mongo).
#
#   deploy/local/ferretdb.sh start   build it from the Go module proxy (first run only), start it,
#                                    wait until it answers, print MONGO_URL_WITHOUT_TRANSACTIONS=...
#   deploy/local/ferretdb.sh stop    stop it and delete its data
#
# Environment:
#   FERRETDB_VERSION   the FerretDB module version (default below: the newest 1.x)
#   LEASH_FERRETDB_HOME  build and state directory (default <repo>/.leash/ferretdb, git-ignored)
#   FERRETDB_START_TIMEOUT_S  how long `start` waits for it to answer (default 60)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
version="${FERRETDB_VERSION:-v1.24.2}"
home="${LEASH_FERRETDB_HOME:-$repo/.leash/ferretdb}"
bin="$home/bin/ferretdb-$version"
run="$home/run"
pidfile="$run/ferretdb.pid"
logfile="$run/ferretdb.log"
timeout_s="${FERRETDB_START_TIMEOUT_S:-60}"

say() { echo "ferretdb.sh: $*" >&2; }

running_pid() {
  [[ -f "$pidfile" ]] || return 1
  local pid
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q ferretdb; then
    echo "$pid"
    return 0
  fi
  return 1
}

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# The module's zip lacks a file `bin/task gen-version` writes; without it the binary panics at start.
build() {
  command -v go >/dev/null || { say "go is missing: FerretDB is built from the Go module proxy"; exit 1; }
  say "building FerretDB $version (first run only, about two minutes)"
  local module src
  module="$(GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$version" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
  [[ -n "$module" ]] || { say "go mod download of FerretDB $version failed"; exit 1; }
  src="$home/src-$version"
  rm -rf "$src"
  mkdir -p "$home"
  cp -r "$module" "$src"
  chmod -R u+w "$src"
  echo "$version" >"$src/build/version/version.txt"
  mkdir -p "$(dirname "$bin")"
  (cd "$src" && GOFLAGS=-mod=mod go build -o "$bin" ./cmd/ferretdb)
}

answers() {
  # A ping through the driver the store uses: a wire-protocol answer, not only an open port.
  (cd "$repo" && node -e "
    const { mongo } = require('mongoose');
    const client = new mongo.MongoClient('mongodb://127.0.0.1:$1/', { serverSelectionTimeoutMS: 1000 });
    client.db('admin').command({ ping: 1 }).then(() => client.close().then(() => process.exit(0)), () => process.exit(1));
  ") >/dev/null 2>&1
}

start() {
  if pid="$(running_pid)"; then
    say "already running (pid $pid)"
    echo "MONGO_URL_WITHOUT_TRANSACTIONS=mongodb://127.0.0.1:$(cat "$run/port")/"
    return 0
  fi
  [[ -x "$bin" ]] || build
  rm -rf "$run"
  mkdir -p "$run/data" "$run/state"
  local port
  port="$(free_port)"
  echo "$port" >"$run/port"
  nohup "$bin" --handler=sqlite --sqlite-url="file:$run/data/" --state-dir="$run/state" \
    --listen-addr="127.0.0.1:$port" --debug-addr=- --telemetry=disable --log-level=warn \
    >"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
  local deadline=$((SECONDS + timeout_s))
  until answers "$port"; do
    if ! running_pid >/dev/null; then
      say "FerretDB exited; its log:"
      tail -20 "$logfile" >&2
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      say "FerretDB did not answer within ${timeout_s} s; its log is $logfile"
      stop
      exit 1
    fi
    sleep 0.5
  done
  say "FerretDB $version running (pid $(cat "$pidfile")), log $logfile"
  echo "MONGO_URL_WITHOUT_TRANSACTIONS=mongodb://127.0.0.1:$port/"
}

stop() {
  if pid="$(running_pid)"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$run"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: deploy/local/ferretdb.sh start|stop" >&2
    exit 2
    ;;
esac
