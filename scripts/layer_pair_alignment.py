"""How well does one block of spiking STDP updates follow the rate rule? (diagnostic)

Trains the rate twin for 1,000 samples (so the weights are typical of early learning), then
presents one block of 100 corrupted training digits K times to the spiking network with the
same weights (independent spike trains, no weight carry-over) and compares each spiking
update (dW, dV) with the rate rule's update for the same digits: cosine of a single block,
cosine of the mean of K blocks, cosine between two repetitions, and the regression slope of
the mean spiking update on the rate update (1 = the rate twin predicts the STDP update's size).
Also the reconstruction's spike-count rate change between the phases against the rate twin's.

With ``--weights CHECKPOINT.npz`` (from ``spiking-bpdl train --out``) the probe uses those weights
instead, e.g. a trained spiking network's, where the rate rule still points somewhere but the mean
STDP update has settled: the part of the mean STDP update of V that is not along the rate update is
then regressed on candidate bias terms (V itself: the causal pairings of a synapse with the spikes it
causes; W transposed: the reconstruction -> hidden loop; the stationary Hebbian product).

    python scripts/layer_pair_alignment.py [--network networks/layer_pair_mnist.toml] [--repeats 6]
        [--weights OUT/checkpoint_spiking.npz] [--out docs/results/layer_pairs/alignment.json]
"""

import argparse
import json

import numpy as np

from spiking_bpdl._io import write_json
from spiking_bpdl.codegen import use_target
from spiking_bpdl.metrics import cosine_similarity as cosine
from spiking_bpdl.rate.lif_layer_pair import (RateTrainer, corrupt, init_weights, load_images, load_layer_pair,
                                              rate_rule_updates, with_mean_bias)
from spiking_bpdl.spiking.layer_pair import SpikingLayerPair

from _overrides import apply_sets


LR_PROBE = 0.1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", default="networks/layer_pair_mnist.toml")
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--target", default="cpp_standalone")
    parser.add_argument("--set", action="append", default=[], help="key=value override of the definition (SI units)")
    parser.add_argument("--weights", default=None, help="checkpoint .npz whose W and V are probed")
    parser.add_argument("--out", default="docs/results/layer_pairs/alignment.json")
    args = parser.parse_args()
    cfg = load_layer_pair(args.network)
    cfg = apply_sets(cfg, args.set, block=100)
    x = load_images(cfg, "train", 2100)
    cfg = with_mean_bias(cfg, x)
    W, V = init_weights(cfg, np.random.default_rng(0))
    if args.weights:
        from spiking_bpdl.checkpoint import load_checkpoint

        arrays, _ = load_checkpoint(args.weights)
        W, V = np.asarray(arrays["W"], dtype=float), np.asarray(arrays["V"], dtype=float)
    else:
        W, V, _ = RateTrainer(cfg, "rate").train_block(corrupt(x[:1000], cfg, np.random.default_rng(1)), x[:1000],
                                                       W, V)
    xb = x[2000:2100]
    xin = corrupt(xb, cfg, np.random.default_rng(2))
    dW_rate, dV_rate, info = rate_rule_updates(xin, xb, W, V, cfg)
    dWs, dVs, frees, recon = [], [], [], None
    with use_target(args.target) as directory:
        sim = SpikingLayerPair(cfg, 100, args.target, directory)
        for k in range(args.repeats):
            # a small learning-rate scale keeps the weights (and so the rates) fixed within the block;
            # the updates are linear in it, so dividing by it gives the block's update at scale 1
            res = sim.run_block(xin, xb, W, V, learn=True, seed=k, lr_scale=LR_PROBE)
            dWs.append((res.W.astype(float) - W) / LR_PROBE)
            dVs.append((res.V.astype(float) - V) / LR_PROBE)
            free_k = res.recon_free / (cfg.free_phase - cfg.plasticity_onset)
            frees.append(free_k)
            if recon is None:
                recon = ((res.recon_all - res.recon_free) / cfg.target_phase - free_k, free_k)
    d_spk, free = recon
    d_rate = info["rho_r_t"] - info["rho_r"]
    out = {"network": cfg.name, "sets": args.set, "repeats": args.repeats, "samples_per_block": 100,
           "recon_free_rate_mean_hz": {"spiking": float(free.mean()), "rate": float(info["rho_r"].mean())},
           "recon_rate_change": {"slope_spiking_on_rate": float(np.sum(d_spk * d_rate) / np.sum(d_rate**2)),
                                 "correlation": float(np.corrcoef(d_spk.ravel(), d_rate.ravel())[0, 1])},
           # The spiking network's free-phase reconstruction (rates averaged over the repeats) against the
           # rate twin's transfer function at the same weights: does the twin model the spiking network?
           "free_reconstruction_mse": {"spiking_mean_vs_clean": float(np.mean((np.mean(frees, 0) / cfg.max_rate - xb) ** 2)),
                                       "rate_vs_clean": float(np.mean((info["rho_r"] / cfg.max_rate - xb) ** 2)),
                                       "spiking_mean_vs_rate": float(np.mean((np.mean(frees, 0) - info["rho_r"]) ** 2)) / cfg.max_rate**2}}
    for name, spk, rate in (("V", dVs, dV_rate), ("W", dWs, dW_rate)):
        mean = np.mean(spk, axis=0)
        out[name] = {"cosine_single_block": float(np.mean([cosine(s, rate) for s in spk])),
                     "cosine_mean_of_repeats": cosine(mean, rate),
                     "cosine_between_repeats": float(np.mean([cosine(spk[i], spk[i + 1]) for i in range(len(spk) - 1)])),
                     "slope_mean_on_rate": float(np.sum(mean * rate) / np.sum(rate * rate)),
                     "norm_single_over_rate": float(np.mean([np.linalg.norm(s) for s in spk]) / np.linalg.norm(rate))}
        # Decomposition of one block's update: b * rate (the realized share of the rate rule's step),
        # a systematic residual (the mean's part not along the rate update, less its sampling noise)
        # and the noise across repetitions; all as squared norms relative to ||b * rate||^2.
        k = len(spk)
        slope = out[name]["slope_mean_on_rate"]
        noise = sum(float(np.sum((s - mean) ** 2)) for s in spk) / (k - 1)
        resid = float(np.sum((mean - slope * rate) ** 2)) - noise / k
        signal = slope**2 * float(np.sum(rate**2))
        out[name].update(noise_over_signal=noise / signal, bias_over_signal=resid / signal)
    # Which bias terms does the mean STDP update of V carry? Least squares of the mean update on the
    # rate update and the candidates, each reported as its share of the mean update's squared norm.
    mean_V = np.mean(dVs, axis=0)
    hebb = (0.5 * (info["rho_h"] + info["rho_h_t"])).T @ (0.5 * (info["rho_r"] + info["rho_r_t"]))
    terms = {"rate_rule": dV_rate, "V": V, "W_T": W.T, "hebbian_product": hebb}
    X = np.stack([t.ravel() for t in terms.values()], axis=1)
    coef, *_ = np.linalg.lstsq(X, mean_V.ravel(), rcond=None)
    total = float(np.sum(mean_V**2))
    out["V_bias_terms"] = {
        "coefficients": dict(zip(terms, map(float, coef))),
        "share_of_mean_update": {k: float(np.sum((c * t) ** 2)) / total for k, c, t in zip(terms, coef, terms.values())},
        "unexplained_share": float(np.sum((mean_V.ravel() - X @ coef) ** 2)) / total,
        "noise_share_of_mean": sum(float(np.sum((d - mean_V) ** 2)) for d in dVs) / (len(dVs) - 1) / len(dVs) / total,
        "weights": args.weights}
    from spiking_bpdl.provenance import script_provenance

    out["config"] = cfg.to_dict()
    out["provenance"] = script_provenance(args, "scripts/layer_pair_alignment.py")
    write_json(args.out, out)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
