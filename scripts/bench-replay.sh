#!/usr/bin/env bash
# Replay benchmark: a generated export of about one million rows across all tables, replayed end
# to end with the offline narrator, reported as a ratio to a bare serde_json parse of the same
# bytes measured in the same run, plus peak RSS. Not a test: it prints figures and asserts nothing.
#
#   scripts/bench-replay.sh                # 2,600 users x 42 days ≈ 1.0 M rows
#   USERS=500 DAYS=42 scripts/bench-replay.sh
set -euo pipefail
cd "$(dirname "$0")/.."

USERS=${USERS:-2600}
DAYS=${DAYS:-42}
DIR=${DIR:-target/bench-replay/u${USERS}-d${DAYS}}
BIN=target/release/ueba-narrator

cargo build --release --quiet
if [ ! -d "$DIR/export" ]; then
  echo "generating ${USERS} users x ${DAYS} days into $DIR (storage-export layout)..."
  "$BIN" loadgen --out-dir "$DIR" --users "$USERS" --days "$DAYS"
fi

timer=()
if [ -x /usr/bin/time ]; then timer=(/usr/bin/time -v); else echo "(install GNU time for peak RSS)"; fi

# Warm the page cache so both measurements read from memory.
"$BIN" bench-parse "$DIR/export" > /dev/null
bare=$("$BIN" bench-parse "$DIR/export")
"${timer[@]}" "$BIN" replay "$DIR/export" --out "$DIR/records.jsonl" --dead-letters "$DIR/dead.jsonl" \
  --no-progress --summary-json "$DIR/summary.json" 2> "$DIR/replay.stderr"

python3 - "$bare" "$DIR/summary.json" "$DIR/replay.stderr" <<'PY'
import json, re, sys
bare = json.loads(sys.argv[1])
summary = json.load(open(sys.argv[2]))
stderr = open(sys.argv[3]).read()
rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
rows = summary["stats"]["records_read"]
total = sum(rows.values())
print(f"rows: {total:,} in {summary['files']:,} files ({bare['bytes'] / 1e6:,.0f} MB)")
print(f"bare serde_json parse: {bare['elapsed_secs']:.2f} s ({bare['records_per_sec']:,.0f} rows/s)")
print(f"replay end to end:     {summary['elapsed_secs']:.2f} s ({summary['records_per_sec']:,.0f} rows/s)")
print(f"ratio replay/bare:     {summary['records_per_sec'] / bare['records_per_sec']:.2f}")
print(f"narratives: {summary['stats']['narratives']}, triggers: {sum(summary['stats']['triggers'].values())}")
if rss:
    print(f"peak RSS: {int(rss.group(1)) / 1024:,.0f} MiB")
PY
