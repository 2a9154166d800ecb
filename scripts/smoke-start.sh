#!/usr/bin/env bash
# Starts the service the way the README says (`npm start`, embedded Postgres, no DATABASE_URL),
# checks that it becomes ready and answers, stops it, starts it again on the same data directory.
set -euo pipefail
cd "$(dirname "$0")/.."

data=$(mktemp -d)
# As root, Postgres runs as its own user, which must be able to reach the data directory.
chmod 755 "$data"
port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
log="$data/refgraph.log"
pid=
cleanup() { [ -n "$pid" ] && kill -- "-$pid" 2>/dev/null; rm -rf "$data"; }
trap cleanup EXIT

start() {
  env -u DATABASE_URL PORT="$port" REFGRAPH_DATA_DIR="$data/pg" REFGRAPH_CONFIG="$data/missing-ok.yaml" \
    setsid npm start >>"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then echo "refgraph exited early:"; cat "$log"; exit 1; fi
    sleep 0.5
  done
  echo "refgraph did not become ready:"; cat "$log"; exit 1
}

stops=0
stop() {
  # SIGTERM to the whole group: npm itself then exits with the signal's status, so the service's
  # own clean shutdown is read from its log instead.
  kill -TERM -- "-$pid"
  wait "$pid" || true
  pid=
  stops=$((stops + 1))
  # npm may exit before the service has written its last lines: give the service a moment.
  for _ in $(seq 1 40); do
    [ "$(grep -c '"msg":"shutting down"' "$log")" -eq "$stops" ] && ! curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.25
  done
  if [ "$(grep -c '"msg":"shutting down"' "$log")" -ne "$stops" ] || grep -q 'failed to start' "$log"; then
    echo "refgraph did not shut down cleanly:"; cat "$log"; exit 1
  fi
}

: >"$data/missing-ok.yaml"
start
curl -fsS "http://127.0.0.1:$port/healthz" | grep -q '"ok"'
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/webhooks/nosuch" -d '{}')
[ "$code" = 404 ] || { echo "expected 404 for an unknown registry, got $code"; exit 1; }
curl -fsS "http://127.0.0.1:$port/metrics" | grep -q refgraph_webhook_requests_rejected_total
stop
start # same data directory: the embedded database is kept across restarts
stop
grep -q '"msg":"refgraph started' "$log"
echo "smoke: npm start became ready twice on port $port with embedded Postgres"
