#!/usr/bin/env bash
# One prepared run of every lab on a CUDA machine (the `device` tool):
# default parameters, `--device auto` (it must pick CUDA), wall time each,
# and the result summaries under $OUT. Needs python3 with torch, numpy,
# scikit-learn and rich, as the lent machines have.
set -u
export PYTHONPATH="$PWD"
OUT="${OUT:-/tmp/gpu-check}"
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
for lab in $(python3 -c "from labs.catalog import LABS; print(' '.join(LABS))"); do
  start=$(date +%s.%N)
  python3 -m labs run "$lab" --device auto --json >"$OUT/$lab.jsonl" 2>"$OUT/$lab.err"
  code=$?
  end=$(date +%s.%N)
  device=$(head -1 "$OUT/$lab.jsonl" | python3 -c "import json,sys; print(json.load(sys.stdin)['device'])" 2>/dev/null)
  printf '%-18s device=%s exit=%s wall=%.1f s\n' "$lab" "$device" "$code" "$(python3 -c "print($end - $start)")"
  tail -1 "$OUT/$lab.jsonl" | cut -c1-400
  tail -3 "$OUT/$lab.err"
done
