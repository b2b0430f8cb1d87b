#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft: broker and controller in one JVM) on 127.0.0.1, without Docker.
#
#   deploy/local/kafka.sh start    resolve the jars (Maven, first run only), format, start, wait, print KAFKA_BROKERS=...
#   deploy/local/kafka.sh stop     stop the broker (SIGTERM, a clean shutdown; SIGKILL after 30 s)
#   deploy/local/kafka.sh status   print KAFKA_BROKERS=... and exit 0 if it runs; exit 3 if not
#   deploy/local/kafka.sh reset    stop, then delete the broker's data (topics, offsets)
#
# The jars come from Maven Central through `mvn` and the pom beside this script; nothing else is
# downloaded. Environment:
#   KAFKA_VERSION     Apache Kafka version (default below; see docs/adr/0008-kafka.md for why)
#   LEASH_KAFKA_HOME  cache and state directory (default <repo>/.leash/kafka, git-ignored)
#   KAFKA_HEAP_OPTS   JVM heap (default -Xms256m -Xmx512m)
#   KAFKA_PORT        listener port (default: a free port)
#   KAFKA_START_TIMEOUT_S  how long `start` waits for the broker to answer (default 90)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
version="${KAFKA_VERSION:-4.4.0}"
home="${LEASH_KAFKA_HOME:-$repo/.leash/kafka}"
libs="$home/jars/$version"
run="$home/run"
data="$run/data"
pidfile="$run/kafka.pid"
portfile="$run/port"
logfile="$run/kafka.log"
heap="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
timeout_s="${KAFKA_START_TIMEOUT_S:-90}"

say() { echo "kafka.sh: $*" >&2; }

running_pid() {
  [[ -f "$pidfile" ]] || return 1
  local pid
  pid="$(cat "$pidfile")"
  # The pid must still be our broker, not a recycled pid.
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'; then
    echo "$pid"
    return 0
  fi
  return 1
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

answers() {
  # True once the listener accepts a connection.
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

resolve_jars() {
  [[ -f "$libs/.complete" ]] && return 0
  command -v java >/dev/null || { say "java is not on PATH (Java 17 or later is needed)"; exit 2; }
  command -v mvn >/dev/null || { say "mvn is not on PATH (Maven resolves the broker's jars)"; exit 2; }
  say "resolving Apache Kafka $version from Maven Central into $libs"
  rm -rf "$libs"
  mkdir -p "$libs"
  mvn -q -B -f "$here/pom.xml" -Dkafka.version="$version" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs" >&2
  touch "$libs/.complete"
}

java_run() {
  # exec: run in a subshell, the JVM takes the subshell's pid, so the recorded pid is the JVM's.
  # shellcheck disable=SC2086 # heap holds several options
  exec java $heap -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$here/log4j2.properties" -cp "$libs/*" "$@"
}

write_config() {
  local port="$1" controller="$2"
  cat >"$run/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$data
num.partitions=8
# Topics are made by the provisioner with their partitions; a typo must not create one.
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# One node: no point waiting for more members before the first rebalance.
group.initial.rebalance.delay.ms=0
EOF
}

start() {
  if pid="$(running_pid)"; then
    say "already running (pid $pid)"
    echo "KAFKA_BROKERS=127.0.0.1:$(cat "$portfile")"
    return 0
  fi
  resolve_jars
  mkdir -p "$run"
  local port controller
  port="${KAFKA_PORT:-$(free_port)}"
  controller="$(free_port)"
  while [[ "$controller" == "$port" ]]; do controller="$(free_port)"; done
  write_config "$port" "$controller"
  if [[ ! -f "$data/meta.properties" ]]; then
    # A KRaft cluster id is a UUID in URL-safe base64 without padding.
    local cluster
    cluster="$(node -e 'console.log(require("crypto").randomBytes(16).toString("base64url"))')"
    (java_run kafka.tools.StorageTool format -t "$cluster" -c "$run/server.properties") >>"$logfile" 2>&1 ||
      { say "formatting $data failed; see $logfile"; tail -20 "$logfile" >&2; exit 1; }
  fi
  # A fresh log each start, so "started" below is this start's line.
  [[ -f "$logfile" ]] && mv "$logfile" "$logfile.1"
  (java_run kafka.Kafka "$run/server.properties") >>"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
  echo "$port" >"$portfile"
  local deadline=$((SECONDS + timeout_s))
  until answers "$port" && grep -q 'Kafka Server started' "$logfile"; do
    if ! running_pid >/dev/null; then
      say "the broker exited during start-up; see $logfile"
      tail -30 "$logfile" >&2
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      say "the broker did not answer on 127.0.0.1:$port within ${timeout_s}s; see $logfile"
      stop
      exit 1
    fi
    sleep 0.5
  done
  say "Apache Kafka $version running (pid $(cat "$pidfile")), log $logfile"
  echo "KAFKA_BROKERS=127.0.0.1:$port"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$pidfile"
    say "not running"
    return 0
  fi
  kill -TERM "$pid"
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      say "no clean shutdown within 30s; killing pid $pid"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$pidfile"
  say "stopped"
}

status() {
  if pid="$(running_pid)"; then
    say "running (pid $pid, Apache Kafka $version)"
    echo "KAFKA_BROKERS=127.0.0.1:$(cat "$portfile")"
  else
    say "not running"
    exit 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  reset) stop && rm -rf "$data" && say "data removed" ;;
  *)
    echo "usage: $0 start|stop|status|reset" >&2
    exit 64
    ;;
esac
