"""Cost of one TRAIN epoch and of the evaluation of the generative model.

Measures, within one run, the time of a training minibatch of the full-size model (784 ->
1000 -> 100, INFERENCE N=15 plus the four local updates), of GENERATE per sample, and of one
Parzen evaluation, and expresses each as a multiple of one reference matrix product
(100 x 1000 x 784, float32). Times are CPU seconds of this process (``time.process_time``),
which on a shared machine are much closer to what an idle core would take than wall-clock
times; run it with one BLAS thread (``OMP_NUM_THREADS=1``) so that CPU time is single-core
time. The ratios are machine-independent. Extrapolates the 20-epoch + evaluation budget on
one idle core.

Usage: ``python benchmarks/generative_epoch.py [--batches 20]``; writes
``benchmarks/results/generative_epoch.json``.
"""

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from spiking_bpdl._io import write_json
from spiking_bpdl.data import load_dataset
from spiking_bpdl.metrics import parzen_log_likelihood
from spiking_bpdl.models.targetprop import TargetPropConfig, TargetPropModel
from spiking_bpdl.provenance import provenance


def _best_of(fn, repeats=5):
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args(argv)
    prov = provenance(args)
    prov["command"] = shlex.join(["python", "benchmarks/generative_epoch.py", *(sys.argv[1:] if argv is None else argv)])
    rng = np.random.default_rng(0)
    x = load_dataset("mnist", "train", source="auto").images
    a = rng.random((100, 1000), dtype=np.float32)
    w = rng.random((1000, 784), dtype=np.float32)
    t_ref = _best_of(lambda: a @ w, repeats=50)

    model = TargetPropModel(TargetPropConfig())
    model.train_batch(x[:100], rng)  # initialisation outside the timing
    per_batch = []
    for i in range(args.batches):
        t0 = time.process_time()
        model.train_batch(x[(i % 400) * 100:(i % 400 + 1) * 100], rng)
        per_batch.append(time.process_time() - t0)
    t_batch = float(np.median(per_batch))  # the median resists bursts of load from other jobs
    t_batch_min = float(np.min(per_batch))

    model.fit_prior(x[:1000])
    t_gen = _best_of(lambda: model.generate(500, rng), repeats=2) / 500
    samples = rng.random((2000, 784), dtype=np.float32)
    t_parzen = _best_of(lambda: parzen_log_likelihood(samples, x[:2000], 0.2), repeats=2)
    t_parzen_10k = t_parzen * 25  # 10k x 10k is 25 times the 2k x 2k work

    epoch = 500 * t_batch  # the median batch, not the fastest
    evaluation = 20000 * t_gen + 28 * t_parzen_10k  # GENERATE + best-prior samples; 4 sets x 7 Parzen
    result = {
        "reference_matmul_seconds": t_ref,
        "train_batch_seconds": t_batch, "train_batch_in_matmuls": t_batch / t_ref,
        "train_batch_seconds_min": t_batch_min, "train_batch_min_in_matmuls": t_batch_min / t_ref,
        "generate_seconds_per_sample": t_gen, "generate_per_sample_in_matmuls": t_gen / t_ref,
        "parzen_2k_x_2k_seconds": t_parzen,
        "epoch_seconds_estimate_unloaded": epoch, "twenty_epochs_minutes_estimate_unloaded": 20 * epoch / 60,
        "evaluation_minutes_estimate": evaluation / 60,
        "note": "CPU seconds of one process with one BLAS thread; ratios are machine-independent",
        "provenance": prov,
    }
    out = Path(__file__).parent / "results" / "generative_epoch.json"
    write_json(out, result)
    for k, v in result.items():
        print(f"{k}: {v:.4g}" if isinstance(v, float) else f"{k}: {v}")


if __name__ == "__main__":
    main()
