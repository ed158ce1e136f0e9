"""Screening run (docs/generative.md): train NAME for EPOCHS epochs with CHANGES (JSON) applied to
networks/generative_mnist.toml, optionally continuing from CHECKPOINT; prints one JSON row per epoch
and saves /tmp/gscreen/NAME_eEPOCH.npz. Usage: python screen.py NAME EPOCHS CHANGES [CHECKPOINT]"""
import sys, json, time, numpy as np
from spiking_bpdl.models.targetprop import load_config, TargetPropModel
from spiking_bpdl.experiments.generative import load_splits, _epoch_rng, validation_score
from spiking_bpdl.checkpoint import save_checkpoint
name = sys.argv[1]; epochs = int(sys.argv[2]); changes = json.loads(sys.argv[3])
cfg = load_config("networks/generative_mnist.toml").replace(**changes)
splits = load_splits(cfg)
model = TargetPropModel(cfg)
first = 1
if len(sys.argv) > 4:  # continue from a saved checkpoint (its parameters and Adam state)
    from spiking_bpdl.checkpoint import load_checkpoint
    arrays, meta = load_checkpoint(sys.argv[4])
    model.load_state(arrays, meta); first = int(meta["epoch"]) + 1
n, bs = len(splits.train), cfg.batch_size
res = []
for epoch in range(first, epochs + 1):
    t0 = time.perf_counter()
    rng = _epoch_rng(cfg.seed, epoch); model.set_epoch(epoch)
    order = rng.permutation(n); L = {}
    for s in range(0, n - bs + 1, bs):
        for k, v in model.train_batch(splits.train[order[s:s + bs]], rng).items():
            L[k] = L.get(k, 0) + v / (n // bs)
    tt = time.perf_counter() - t0
    s1 = validation_score(model, splits, 1000, 0.2, cfg.seed)
    s2 = validation_score(model, splits, 2000, 0.2, cfg.seed)
    _, h2 = model.infer_batched(splits.train[:2000])
    m, v = h2.mean(0), h2.var(0) * 4
    z = m + np.sqrt(v) * np.random.default_rng(0).standard_normal(h2.shape)
    clip = float(((z < 0) | (z > 1)).mean())
    r = dict(name=name, epoch=epoch, val1000=s1, val2000=s2, h2_std=float(h2.std(0).mean()), clipped=clip,
             train_s=tt, **{k: float(v) for k, v in L.items()})
    res.append(r); print(json.dumps(r), flush=True)
    save_checkpoint(f"/tmp/gscreen/{name}_e{epoch}.npz", model.state_arrays(), {**model.state_meta(), "epoch": epoch})
