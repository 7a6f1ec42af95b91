#!/usr/bin/env bash
# Stop the broker started by start-kafka.sh (by its recorded PID only).
set -euo pipefail
KAFKA_STATE=${KAFKA_STATE:-/tmp/ueba-kafka}
if [ -f "$KAFKA_STATE/broker.pid" ]; then
  pid=$(cat "$KAFKA_STATE/broker.pid")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "stop-kafka: stopped broker pid $pid"
  fi
  rm -f "$KAFKA_STATE/broker.pid"
fi
