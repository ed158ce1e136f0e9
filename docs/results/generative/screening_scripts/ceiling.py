import json, numpy as np
from spiking_bpdl.models.targetprop import load_config
from spiking_bpdl.experiments.generative import load_splits
from spiking_bpdl.metrics import parzen_log_likelihood
splits = load_splits(load_config("networks/generative_mnist.toml"))
r = {}
for sig in (0.175, 0.2):
    r[f"real5000_{sig}"] = round(float(parzen_log_likelihood(splits.train[:5000], splits.validation[:5000], sig).mean()), 1)
r["grey_real"] = round(float(((splits.train[:5000] > 0.2) & (splits.train[:5000] < 0.8)).mean()), 3)
print(json.dumps(r))
