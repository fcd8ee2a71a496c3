#!/usr/bin/env bash
# One prepared run of every lab on a CUDA machine (the `device` tool): each
# lab's default run on the CPU and on CUDA, interleaved, with the CUDA/CPU
# ratio against issue #16's targets (benchmarks/bench_labs.py), then one
# `--device auto` run that must pick CUDA. Each run's events and stderr are
# kept under $OUT. Needs python3 with torch, numpy, scikit-learn and rich, as
# the lent machines have.
set -u
export PYTHONPATH="$PWD"
OUT="${OUT:-/tmp/gpu-check}"
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
python3 benchmarks/bench_labs.py --devices cpu,cuda --out "$OUT" --skip-overhead
python3 benchmarks/bench_labs.py --device cuda --skip-default-runs --repeats 3
python3 -m labs run batch-size --device auto --json 2>/dev/null | head -1 | cut -c1-200
