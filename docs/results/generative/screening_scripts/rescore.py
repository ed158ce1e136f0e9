"""Re-score saved checkpoints: paper prior on 10k training codes, 5000 GENERATE + directed
samples, first 5000 validation digits, sigma 0.2, two sampling seeds."""
import sys, json, numpy as np
from spiking_bpdl.checkpoint import load_checkpoint
from spiking_bpdl.models.targetprop import TargetPropModel
from spiking_bpdl.experiments.generative import load_splits
from spiking_bpdl.metrics import parzen_log_likelihood
for path in sys.argv[1:]:
    arrays, meta = load_checkpoint(path)
    model = TargetPropModel.from_state(arrays, meta)
    splits = load_splits(model.config)
    model.fit_prior(splits.train[:10000])
    val = splits.validation[:5000]
    r = {"ckpt": path.split("/")[-1]}
    for seed in (1, 2):
        out = model.generate(5000, np.random.default_rng([seed, 5]), return_directed=True)
        gen, directed = out if isinstance(out, tuple) else (out, None)
        for nm, s in (("gen", gen), ("dir", directed)):
            for sig in (0.175, 0.2):
                ll = parzen_log_likelihood(s, val, sig)
                r[f"{nm}_s{seed}_{sig}"] = round(float(ll.mean()), 1)
        r[f"grey_gen_s{seed}"] = round(float(((gen > 0.2) & (gen < 0.8)).mean()), 3)
    print(json.dumps(r), flush=True)
