"""Fig. 4 diagnostics for a screened checkpoint: inference_curve on the 10k test digits plus
which update (h1 or h2) moves each term."""
import sys, json, numpy as np
from spiking_bpdl.checkpoint import load_checkpoint
from spiking_bpdl.models.targetprop import TargetPropModel
from spiking_bpdl.experiments.generative import load_splits, inference_curve
arrays, meta = load_checkpoint(sys.argv[1])
model = TargetPropModel.from_state(arrays, meta)
splits = load_splits(model.config)
model.fit_prior(splits.train[:10000])
x = splits.test
curve = inference_curve(model, x, n_steps=20)
# attribution of the changes over 20 steps to the h2 and the h1 updates
names = ("log_px_h1", "log_ph1_h2", "log_ph2")
by_h2 = np.zeros(3); by_h1 = np.zeros(3); sat = []; dist = []
for s in range(0, len(x), 1000):
    xb = x[s:s + 1000]
    h1, h2 = model.feedforward(xb); model._clip(h1, h2)
    for k in range(20):
        t0 = np.array([t.sum() for t in model.log_joint(xb, h1, h2, terms=True)])
        n1, n2 = model.infer(xb, n_steps=1, h_init=(h1, h2))
        tm = np.array([t.sum() for t in model.log_joint(xb, h1, n2, terms=True)])
        t1 = np.array([t.sum() for t in model.log_joint(xb, n1, n2, terms=True)])
        by_h2 += tm - t0; by_h1 += t1 - tm
        h1, h2 = n1, n2
    sat.append(float(((h2 <= 0) | (h2 >= 1)).mean()))
m, v = model.prior_mean, model.prior_var
h1f, h2f = model.feedforward(x); model._clip(h1f, h2f)
h1i, h2i = model.infer_batched(x, n_steps=20)
out = {"checkpoint": sys.argv[1], "epoch": meta.get("epoch"), "curve": curve,
       "change_over_20_steps_by_h2_update": dict(zip(names, (by_h2 / len(x)).tolist())),
       "change_over_20_steps_by_h1_update": dict(zip(names, (by_h1 / len(x)).tolist())),
       "h2_saturated_fraction_after_20": float(np.mean(sat)),
       "h2_saturated_fraction_feedforward": float(((h2f <= 0) | (h2f >= 1)).mean()),
       "mahalanobis2_h2_feedforward": float((((h2f - m) ** 2) / v).sum(1).mean()),
       "mahalanobis2_h2_after_20": float((((h2i - m) ** 2) / v).sum(1).mean()),
       "h2_std_feedforward": float(h2f.std(0).mean()), "h2_std_after_20": float(h2i.std(0).mean()),
       "h2_mean_abs_change": float(np.abs(h2i - h2f).mean()), "h1_mean_abs_change": float(np.abs(h1i - h1f).mean())}
c = curve
print("mean", c["mean"][0], "->", c["mean"][-1], "sem", c["sem"][-1], "frac up", c["fraction_increased"])
for n in names: print(n, c[n][0], "->", c[n][-1], round(c[n][-1] - c[n][0], 3))
print(json.dumps({k: v for k, v in out.items() if k != "curve"}, indent=1))
json.dump(out, open(sys.argv[2], "w"), indent=1)
