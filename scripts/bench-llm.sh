#!/usr/bin/env bash
# LLM narrator benchmark: replay a generated tenant through the local mock server with RPM/TPM
# limits and report self-caused 429s, share of the allowed rate used while saturated, calls per
# 100 triggers with and without coalescing, prompt tokens per narrative and p50/p99 latency.
# Not a test: figures depend on the machine. Usage: scripts/bench-llm.sh [workdir]
set -euo pipefail

WORK="${1:-$(mktemp -d)}"
USERS="${USERS:-200}"
DAYS="${DAYS:-14}"
ANOMALY_SHARE="${ANOMALY_SHARE:-0.1}"
RPM="${RPM:-600}"
TPM="${TPM:-600000}"
LATENCY_MS="${LATENCY_MS:-300}"
CONCURRENCY="${CONCURRENCY:-4}"
PORT="${PORT:-18089}"
BIN="${BIN:-target/debug/ueba-narrator}"

cargo build --quiet
mkdir -p "$WORK"
echo "workdir: $WORK"

"$BIN" loadgen --out-dir "$WORK/tenant" --users "$USERS" --days "$DAYS" \
    --anomaly-share "$ANOMALY_SHARE" >/dev/null 2>&1
"$BIN" loadgen --sample --out-dir "$WORK/sample" >/dev/null 2>&1

# Coalescing: triggers vs cases on the sample tenant (offline, no calls needed).
"$BIN" replay "$WORK/sample" --no-progress -o "$WORK/sample.jsonl" \
    --dead-letters "$WORK/sample-dead.jsonl" --summary-json "$WORK/sample-summary.json" 2>/dev/null

"$BIN" mock-llm --listen "127.0.0.1:$PORT" --api-key bench-key --rpm "$RPM" --tpm "$TPM" \
    --latency-ms "$LATENCY_MS" --record "$WORK/mock-requests.jsonl" 2>"$WORK/mock.log" &
MOCK_PID=$!
trap 'kill "$MOCK_PID" 2>/dev/null || true' EXIT
sleep 1

START=$(date +%s.%N)
BENCH_LLM_KEY=bench-key "$BIN" replay "$WORK/tenant" --no-progress -o "$WORK/llm.jsonl" \
    --dead-letters "$WORK/llm-dead.jsonl" --summary-json "$WORK/llm-summary.json" \
    --narrator llm --llm-endpoint "http://127.0.0.1:$PORT" --llm-deployment gpt-4o \
    --llm-api-key-env BENCH_LLM_KEY --llm-rpm "$RPM" --llm-tpm "$TPM" \
    --llm-concurrency "$CONCURRENCY" --audit "$WORK/audit.jsonl" 2>"$WORK/replay.log"
END=$(date +%s.%N)

python3 - "$WORK" "$RPM" "$TPM" "$START" "$END" <<'PY'
import json, sys, datetime
work, rpm, tpm, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
summary = json.load(open(f"{work}/llm-summary.json"))
sample = json.load(open(f"{work}/sample-summary.json"))
llm = summary["llm"]
records = [json.loads(l) for l in open(f"{work}/llm.jsonl")]
audit = [json.loads(l) for l in open(f"{work}/audit.jsonl")]

def charged(entry):
    body = entry["request"]
    prompt = sum((len(m["content"].encode()) + 3) // 4 for m in body["messages"])
    return prompt + body["max_tokens"]

times = sorted(datetime.datetime.fromisoformat(a["time"].replace("Z", "+00:00")).timestamp() for a in audit)
span_min = max((times[-1] - times[0]) / 60.0, 1e-9)
tokens = sum(charged(a) for a in audit)
req_share = len(audit) / span_min / rpm
tok_share = tokens / span_min / tpm
lat = sorted(r["LatencyMs"] for r in records if r["Generator"] == "llm")
pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else 0
triggers = sum(sample["stats"]["triggers"].values())
cases = sample["stats"]["cases"] + sample["stats"]["revisions"]
bench_triggers = sum(summary["stats"]["triggers"].values())
print(f"narratives: {len(records)} ({summary['stats']['generators']}), llm calls: {llm['calls']}")
print(f"429s from our own overrun: {llm['throttled']}")
print(f"rate used while saturated ({span_min:.2f} min): requests {req_share:.1%} of RPM, "
      f"tokens {tok_share:.1%} of TPM (binding: {max(req_share, tok_share):.1%})")
print(f"LLM calls per 100 triggers: {100 * llm['calls'] / max(bench_triggers, 1):.1f} on the bench tenant; "
      f"sample tenant {100 * cases / max(triggers, 1):.1f} with coalescing, 100.0 without "
      f"({triggers} triggers -> {cases} cases)")
print(f"prompt tokens per narrative: {llm['prompt_tokens'] / max(llm['narratives'], 1):.0f}, "
      f"completion tokens per narrative: {llm['completion_tokens'] / max(llm['narratives'], 1):.0f}, "
      f"cost per narrative: {llm['cost'] / max(llm['narratives'], 1):.4f}")
print(f"narrative latency (HTTP): p50 {pct(0.5)} ms, p99 {pct(0.99)} ms; wall time {end - start:.1f} s")
PY
