#!/usr/bin/env bash
# One prepared check of the batch-size lab under torch.distributed on a CUDA
# machine (the `device` tool), kept to about a minute: the same small-but-real
# run (digits, four batch sizes, 20000 examples each) on one GPU, then as two
# processes sharing that GPU (gloo, since NCCL refuses two ranks on one GPU),
# then as two CPU processes for comparison. Prints wall times, the summaries'
# numbers and how far the loss curves are apart; events go under $OUT.
# Needs python3 with torch, numpy, scikit-learn and rich, as the lent machines have.
set -u
export PYTHONPATH="$PWD"
OUT="${OUT:-/tmp/gpu-check-ddp}"
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'gpus', torch.cuda.device_count(), 'nccl', torch.cuda.nccl.version() if torch.cuda.is_available() else None)"

PARAMS=(-p batch_sizes=16,64,256,1257 -p examples=20000)
TORCHRUN=(python3 -m torch.distributed.run --standalone --nproc-per-node 2)

run() {  # name, device, then the launcher that precedes `labs`
  local name=$1 device=$2; shift 2
  local start end code
  start=$(date +%s.%N)
  OMP_NUM_THREADS=1 timeout 150 "$@" labs run batch-size --device "$device" "${PARAMS[@]}" \
    --json >"$OUT/$name.jsonl" 2>"$OUT/$name.err"
  code=$?
  end=$(date +%s.%N)
  python3 - "$OUT/$name.jsonl" "$name" "$code" "$start" "$end" <<'PY'
import json, sys
path, name, code, start, end = sys.argv[1:]
events = [json.loads(line) for line in open(path)] if open(path).read().strip() else []
last = events[-1] if events else {}
s = last.get("summary", {})
print(f"{name:<12} exit={code} wall={float(end) - float(start):.1f} s lab={s.get('seconds')} s "
      f"device={s.get('device')} processes={s.get('world_size')} backend={s.get('backend', '-')} "
      f"b_simple={s.get('b_simple')} b_simple_ddp={s.get('b_simple_ddp', '-')} "
      f"accuracy={s.get('final_test_accuracy')}")
if last.get("type") == "failed":
    print("   failed:", last.get("message", "")[:400])
for e in events:
    if e.get("type") == "table" and e["title"].startswith("Training cost"):
        print("  ", e["title"])
        for row in e["rows"]:
            print("    B=%-5s steps=%-5s train=%ss  ms/step=%s" % (row[0], row[1], row[3], row[5]))
    if e.get("type") == "text" and "NCCL" in e.get("markdown", ""):
        print("   note:", e["markdown"].split("\n\n")[-1][:300])
PY
  tail -2 "$OUT/$name.err" | cut -c1-300
}

GPU="${GPU_CHECK_DEVICE:-cuda}"  # cpu to try this script where there is no GPU
run cuda-1 "$GPU" python3 -m
run cuda-2 "$GPU" "${TORCHRUN[@]}" -m
run cpu-2 cpu "${TORCHRUN[@]}" -m

# One GPU and two processes should follow the same loss curve as one process.
python3 - "$OUT" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
def curve(name):
    try:
        events = [json.loads(line) for line in open(out / f"{name}.jsonl")]
    except (OSError, ValueError):
        return {}
    return {(e["series"], e["x"]): e["y"] for e in events
            if e.get("type") == "metric" and e["chart"] == "test loss vs examples"}
one, two = curve("cuda-1"), curve("cuda-2")
common = one.keys() & two.keys()
if common:
    worst = max(abs(one[k] - two[k]) / abs(one[k]) for k in common)
    print(f"loss curves cuda-1 vs cuda-2: {len(common)} points, max relative difference {worst:.2e}")
else:
    print("loss curves cuda-1 vs cuda-2: nothing to compare")
PY

# Does NCCL really refuse two ranks on one GPU here? (The lab never asks it to.)
cat >"$OUT/nccl_same_gpu.py" <<'PY'
import datetime, torch, torch.distributed as dist
dist.init_process_group("nccl", timeout=datetime.timedelta(seconds=30),
                        device_id=torch.device("cuda", 0))
t = torch.ones(4, device="cuda:0")
dist.all_reduce(t)
torch.cuda.synchronize()
print("rank", dist.get_rank(), "NCCL all_reduce on a shared GPU gave", t.tolist(), flush=True)
dist.destroy_process_group()
PY
timeout 60 "${TORCHRUN[@]}" "$OUT/nccl_same_gpu.py" >"$OUT/nccl_same_gpu.out" 2>&1
echo "NCCL, two ranks on GPU 0: exit=$?"
grep -m3 -i "duplicate\|gave\|error" "$OUT/nccl_same_gpu.out" | cut -c1-300
