"""Labs: how long each default run takes, and what the lab machinery costs.

Prints, on this machine:
- each lab's default run, end to end as the learner starts it
  (`python -m labs run NAME --json`, a fresh process: import, data, training),
  on every device present (the CPU, and CUDA or MPS when torch sees one),
  the devices interleaved lab by lab, with each accelerator's time as a ratio
  to the CPU's (targets: every lab faster than on the host's CPU, < 1; the
  batch-size sweep at least 3x faster, <= 0.33);
- the batch-size lab's training loop against a bare PyTorch loop over the same
  model, data, batch sizes and steps (torch.optim.SGD, no events, no
  evaluation), as a ratio measured in the same run (target: within 10 %);
  on CUDA also the bare loop with each step replayed from a CUDA graph, and
  how far its weights end from the eager loop's: what a graph would save.

Run: python benchmarks/bench_labs.py [--device cpu] [--repeats 3] [--devices cpu,cuda]
                                     [--out DIR] [--skip-default-runs] [--skip-overhead]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def present_devices() -> list[str]:
    import torch

    found = ["cpu"]
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found


def one_run(name: str, device: str, out: Path | None) -> tuple[float, str]:
    """(wall seconds, '' or what went wrong) of one default run in a fresh process."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "labs", "run", name, "--json",
                           "--device", device], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    if out is not None:
        (out / f"{name}.{device}.jsonl").write_text(proc.stdout)
        (out / f"{name}.{device}.err").write_text(proc.stderr)
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    if proc.returncode == 0 and '"type":"result"' in last:
        return wall, ""
    return wall, f"exit {proc.returncode}: {proc.stderr.strip()[-200:]}"


def default_runs(devices: list[str], out: Path | None) -> None:
    from labs.catalog import LABS

    accelerators = [d for d in devices if d != "cpu"]
    print(f"default runs on {', '.join(devices)} (fresh process each; target <= 30 s on 2 "
          "CPU cores):")
    width = max(len(name) for name in LABS)
    for name in LABS:
        walls: dict[str, float] = {}
        cells = []
        for device in devices:  # interleaved: drift in the machine's load hits each alike
            wall, problem = one_run(name, device, out)
            walls[device] = wall
            cells.append(f"{device} {wall:6.1f} s" + (f" FAILED ({problem})" if problem else ""))
        for device in accelerators:
            if "cpu" in walls:
                # batch-size: at least 3x faster; every other lab: faster at all
                sweep = name == "batch-size"
                ratio = walls[device] / walls["cpu"]
                met = ratio <= 1 / 3 if sweep else ratio < 1
                cells.append(f"{device}/cpu {ratio:.2f} (target {'<= 0.33' if sweep else '< 1'}"
                             f": {'met' if met else 'NOT met'})")
        print(f"  {name:{width}s}  " + "  ".join(cells))


def overhead(device: str, repeats: int) -> None:
    import torch
    import torch.nn.functional as F

    from labs.catalog import get
    from labs.events import to_json
    from labs.experiments import batch_size as lab

    params = get("batch-size").defaults()
    data = lab.load_data(params, 0).to(torch.device(device))
    n = len(data.x_train)
    sizes = sorted({min(b, n) for b in params["batch_sizes"]})
    torch.set_num_threads(1)  # as the lab itself does for digits on the CPU

    def lab_loop() -> float:
        sink = open("/dev/null", "w")  # events cost what writing them costs

        def on_eval(curve: lab.Curve) -> None:
            sink.write(to_json(lab.Metric("c", "s", curve.examples[-1], curve.accuracy[-1]))
                       + "\n")

        total = 0.0
        for b in sizes:
            model = fresh_model()
            curve = lab.train_at_batch_size(model, data, b, params["examples"], params["lr"], 0,
                                            data.x_test, data.y_test, on_eval)
            total += curve.train_seconds  # optimizer steps only, as the bare loop
        return total

    def fresh_model() -> torch.nn.Module:
        torch.manual_seed(0)
        return lab.make_classifier(data.features, params["hidden"],
                                   len(data.classes)).to(device)

    def batches(b: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The lab's batches at batch size `b`: a fresh shuffle each epoch, the last
        batch of an epoch short, the whole run cut at params["examples"]."""
        order = torch.Generator().manual_seed(0)
        seen = 0
        while seen < params["examples"]:
            perm = torch.randperm(n, generator=order).to(device)
            x, y = data.x_train[perm], data.y_train[perm]
            for i in range(0, n, b):
                stop = min(i + b, n, i + params["examples"] - seen)
                yield x[i:stop], y[i:stop]
                seen += stop - i
                if seen >= params["examples"]:
                    return

    def bare_loop(manual: bool, only: int | None = None,
                  keep: bool = False) -> tuple[float, list[torch.Tensor]]:
        """(seconds, the last model's weights if `keep`) of the textbook loop; `manual`
        does the SGD update by hand as the lab does (torch.optim.SGD adds per-step
        bookkeeping of its own); `only` trains that one batch size."""
        total, kept = 0.0, []
        for b in sizes if only is None else [only]:
            model = fresh_model()
            weights = list(model.parameters())
            opt = None if manual else torch.optim.SGD(weights, lr=params["lr"])
            start = time.perf_counter()
            for xb, yb in batches(b):
                loss = F.cross_entropy(model(xb), yb)
                if opt is None:
                    grads = torch.autograd.grad(loss, weights)
                    with torch.no_grad():
                        for w, g in zip(weights, grads):
                            w.sub_(g, alpha=params["lr"])
                else:
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
            if device == "cuda":
                torch.cuda.synchronize()
            total += time.perf_counter() - start
            if keep:
                kept = [w.detach().clone() for w in weights]
        return total, kept

    def graph_loop() -> tuple[float, float]:
        """(seconds, max |weight difference| from the eager loop's final weights) of the
        same hand-written SGD loop with each full-size step replayed from a CUDA graph
        (the short last batch of an epoch runs eagerly). Not what the lab does: a
        measurement of what a graph would save, for deciding whether the lab should."""
        total, worst = 0.0, 0.0
        for b in sizes:
            eager = bare_weights(b)
            model = fresh_model()
            weights = list(model.parameters())

            def step(x: torch.Tensor, y: torch.Tensor) -> None:
                grads = torch.autograd.grad(F.cross_entropy(model(x), y), weights)
                with torch.no_grad():
                    for w, g in zip(weights, grads):
                        w.sub_(g, alpha=params["lr"])

            static_x = data.x_train[:b].clone()
            static_y = data.y_train[:b].clone()
            start_state = [w.detach().clone() for w in weights]
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):  # warm-up, as torch.cuda.graph asks
                for _ in range(3):
                    step(static_x, static_y)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                step(static_x, static_y)
            with torch.no_grad():  # capture ran nothing; undo the warm-up's steps
                for w, w0 in zip(weights, start_state):
                    w.copy_(w0)
            torch.cuda.synchronize()
            start = time.perf_counter()
            for xb, yb in batches(b):
                if len(xb) == b:
                    static_x.copy_(xb)
                    static_y.copy_(yb)
                    graph.replay()
                else:
                    step(xb, yb)
            torch.cuda.synchronize()
            total += time.perf_counter() - start
            worst = max(worst, max(float((w - e).abs().max()) for w, e in zip(weights, eager)))
        return total, worst

    def bare_weights(b: int) -> list[torch.Tensor]:
        return bare_loop(True, only=b, keep=True)[1]

    lab_times, manual_times, optim_times, graph_times = [], [], [], []
    graph_note, diff = "", 0.0
    for _ in range(repeats):  # interleaved, so drift in the machine's load hits all of them
        manual_times.append(bare_loop(manual=True)[0])
        optim_times.append(bare_loop(manual=False)[0])
        lab_times.append(lab_loop())
        if device == "cuda" and not graph_note:
            try:
                seconds, apart = graph_loop()
                graph_times.append(seconds)
                diff = max(diff, apart)
            except Exception as e:  # a measurement, not the lab: say what failed and go on
                graph_note = (f"graph loop failed after {len(graph_times)} good run(s), so no "
                              f"more were tried: {type(e).__name__}: {str(e)[:200]}")
    lab_s = statistics.median(lab_times)
    manual_s, optim_s = statistics.median(manual_times), statistics.median(optim_times)
    print(f"batch-size training loop, batch sizes {sizes}, {params['examples']} examples each, "
          f"median of {repeats}:")
    print(f"  lab loop {lab_s:.2f} s; bare loop with the same hand-written SGD step "
          f"{manual_s:.2f} s, ratio {lab_s / manual_s:.3f} (target <= 1.10); "
          f"bare loop with torch.optim.SGD {optim_s:.2f} s, ratio {lab_s / optim_s:.3f}")
    if graph_times:
        graph_s = statistics.median(graph_times)
        print(f"  the same loop replaying each step from a CUDA graph {graph_s:.2f} s, "
              f"{graph_s / manual_s:.3f} of the bare loop's time; its final weights differ "
              f"from the eager loop's by at most {diff:.2e}")
    if graph_note:
        print(f"  {graph_note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "mps"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--devices", default=None,
                        help="comma-separated devices for the default runs (default: every "
                             "device present)")
    parser.add_argument("--out", type=Path, default=None,
                        help="a folder to keep each default run's events and stderr in")
    parser.add_argument("--skip-default-runs", action="store_true")
    parser.add_argument("--skip-overhead", action="store_true")
    args = parser.parse_args()
    if not args.skip_default_runs:
        devices = args.devices.split(",") if args.devices else present_devices()
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
        default_runs(devices, args.out)
    if not args.skip_overhead:
        overhead(args.device, args.repeats)


if __name__ == "__main__":
    main()
