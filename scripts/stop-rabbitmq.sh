#!/usr/bin/env bash
# Stop the broker started by start-rabbitmq.sh (same scratch directory). Idempotent.
set -uo pipefail

DIR="${UEBA_RABBIT_DIR:-/tmp/ueba-rabbit}"
CTL=/usr/lib/rabbitmq/bin/rabbitmqctl
[ -x "$CTL" ] || exit 0

export HOME="$DIR/home"
export RABBITMQ_NODENAME=rabbit@localhost
export RABBITMQ_CONFIG_FILE="$DIR/rabbitmq"
export RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/enabled_plugins"
export RABBITMQ_MNESIA_BASE="$DIR/mnesia"
export RABBITMQ_LOG_BASE="$DIR/log"
export ERL_EPMD_ADDRESS=127.0.0.1

if "$CTL" -q status >/dev/null 2>&1; then
  "$CTL" -q stop >/dev/null 2>&1 || true
fi
if [ -f "$DIR/server.pid" ]; then
  pid="$(cat "$DIR/server.pid")"
  kill "$pid" 2>/dev/null || true
  rm -f "$DIR/server.pid"
fi
# epmd ignores SIGTERM; ask it to exit.
command -v epmd >/dev/null 2>&1 && epmd -kill >/dev/null 2>&1 || true
echo "rabbitmq stopped" >&2
