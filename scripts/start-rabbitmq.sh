#!/usr/bin/env bash
# Start a local RabbitMQ with the AMQP 1.0 plugin on 127.0.0.1:5672, entirely under a scratch
# directory (default /tmp/ueba-rabbit). Idempotent: installs rabbitmq-server when missing and does
# nothing when the broker already answers. Prints UEBA_AMQP_URL=... for the integration tests.
set -euo pipefail

DIR="${UEBA_RABBIT_DIR:-/tmp/ueba-rabbit}"
PORT=5672
URL="amqp://guest:guest@127.0.0.1:${PORT}"
SERVER=/usr/lib/rabbitmq/bin/rabbitmq-server
CTL=/usr/lib/rabbitmq/bin/rabbitmqctl

if [ ! -x "$SERVER" ]; then
  echo "installing rabbitmq-server" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q rabbitmq-server >&2
fi

mkdir -p "$DIR/home" "$DIR/mnesia" "$DIR/log"
printf 'listeners.tcp.default = 127.0.0.1:%s\nloopback_users = none\n' "$PORT" >"$DIR/rabbitmq.conf"
echo '[rabbitmq_amqp1_0].' >"$DIR/enabled_plugins"

export HOME="$DIR/home"
export RABBITMQ_NODENAME=rabbit@localhost
export RABBITMQ_CONFIG_FILE="$DIR/rabbitmq"
export RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/enabled_plugins"
export RABBITMQ_MNESIA_BASE="$DIR/mnesia"
export RABBITMQ_LOG_BASE="$DIR/log"
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"

if "$CTL" -q status >/dev/null 2>&1; then
  echo "rabbitmq already running" >&2
else
  nohup "$SERVER" >"$DIR/server.out" 2>&1 &
  echo $! >"$DIR/server.pid"
  for _ in $(seq 120); do
    if "$CTL" -q await_startup >/dev/null 2>&1; then break; fi
    sleep 0.5
  done
fi

for _ in $(seq 60); do
  if (echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; then
    echo "UEBA_AMQP_URL=${URL}"
    exit 0
  fi
  sleep 0.5
done
echo "rabbitmq did not open 127.0.0.1:${PORT}; see $DIR/log and $DIR/server.out" >&2
exit 1
