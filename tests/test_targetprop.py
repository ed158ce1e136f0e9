"""The target-prop generative model (Algorithm 2) on the small configuration."""

from pathlib import Path

import numpy as np
import pytest

from spiking_bpdl.errors import CheckpointError, ConfigError
from spiking_bpdl.experiments import generative as exp
from spiking_bpdl.metrics import parzen_log_likelihood
from spiking_bpdl.models.targetprop import TargetPropConfig, TargetPropModel, config_from_dict, load_config

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "networks" / "generative_small.toml"


@pytest.fixture(scope="module")
def small_config():
    return load_config(SMALL)


@pytest.fixture(scope="module")
def splits(small_config):
    return exp.load_splits(small_config, source="embedded")


@pytest.fixture(scope="module")
def trained(small_config, splits, tmp_path_factory):
    """The small model trained for 5 epochs on the embedded subset (a few seconds)."""
    out = tmp_path_factory.mktemp("generative")
    cfg = small_config.replace(epochs=5)
    model, history = exp.train(cfg, splits, out, progress=False, log=lambda *a: None)
    return model, history, out, cfg


# -- configuration ----------------------------------------------------------------------

def test_paper_configuration_file_sets_every_key_and_matches_defaults():
    """The paper's file is the record of the paper run: it names every field (so a changed default
    cannot silently change the run) and, read back, equals the dataclass defaults."""
    import dataclasses
    import tomllib

    from spiking_bpdl.models.targetprop import _SECTIONS

    path = REPO / "networks" / "generative_mnist.toml"
    raw = tomllib.loads(path.read_text())
    in_file = {key for table in raw.values() for key in table}
    fields = {f.name for f in dataclasses.fields(TargetPropConfig)}
    assert in_file == fields
    assert {key for keys in _SECTIONS.values() for key in keys} == fields  # every field has a section
    assert load_config(path) == TargetPropConfig()


def test_every_configuration_key_is_read_into_its_field():
    """Each key, set to a valid non-default value in its section, reaches its own field and no other
    (a loader that drops, misroutes or swaps a key fails here)."""
    import dataclasses

    from spiking_bpdl.models.targetprop import _SECTIONS

    defaults = TargetPropConfig()
    other_activation = {"softplus": "sigmoid", "sigmoid": "softplus"}
    for section, keys in _SECTIONS.items():
        for key in keys:
            value = getattr(defaults, key)
            if isinstance(value, bool):
                new = not value
            elif isinstance(value, str):
                new = other_activation[value]
            elif isinstance(value, int):
                new = value + 7
            elif key == "lr_decay":
                new = value / 3  # must stay in (0, 1]
            else:
                new = value * 1.7 + 0.013
            cfg = config_from_dict({section: {key: new}})
            changed = {f.name for f in dataclasses.fields(cfg) if getattr(cfg, f.name) != getattr(defaults, f.name)}
            assert changed == {key} and getattr(cfg, key) == new, (section, key)


@pytest.mark.parametrize("data,match", [
    ({"model": {"n_h1": 0}}, "n_h1"),
    ({"model": {"n_h1": "1000"}}, "must be int"),
    ({"model": {"nh1": 10}}, "unknown key"),
    ({"trainig": {}}, "trainig.*unknown table"),
    ({"model": {"h1_activation": "tanhh"}}, "h1_activation"),
    ({"training": {"sigma_x": -0.1}}, "sigma_x"),
    ({"inference": {"clip": 1}}, "must be bool"),
    ({"training": {"lr_decay": 0.0}}, "lr_decay"),
    ({"training": {"lr_decay": 1.5}}, "lr_decay"),
    ({"training": {"lr_decay_start": -1}}, "lr_decay_start"),
    ({"training": {"lr_encoder_top": -1e-4}}, "lr_encoder_top"),
    ({"training": {"sigma_h1_top": -0.1}}, "sigma_h1_top"),
    ({"training": {"lr_decay_start": 2.5}}, "must be int"),
])
def test_malformed_configuration_raises_config_error(data, match):
    with pytest.raises(ConfigError, match=match):
        config_from_dict(data)


def test_invalid_toml_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[model\nn_h1 = 3")
    with pytest.raises(ConfigError, match="malformed TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="missing.toml not found; shipped network definitions: .*generative_small"):
        load_config(tmp_path / "missing.toml")


def test_configuration_overrides_use_the_definitions_syntax():
    """``--set section.key=value`` of ``spiking-bpdl generative``: the same resolver, syntax and
    one-line errors as the network definitions; the override is validated like the file."""
    assert load_config("generative_small", ["training.epochs=2"]).epochs == 2
    with pytest.raises(ConfigError, match="training.epochz: unknown key"):
        load_config("generative_small", ["training.epochz=2"])
    with pytest.raises(ConfigError, match="lr_decay must be in"):
        load_config("generative_small", ["training.lr_decay=2.0"])


# -- the M-step is the gradient of the local losses ----------------------------------------

def test_train_step_is_adam_on_the_local_loss_gradients(small_config, splits):
    """Each parameter moves by -lr * sign(dL_local/dparam) on Adam's first step, where L_local
    is the pair's own squared error against the inferred targets (finite differences)."""
    cfg = small_config.replace(n_h1=12, n_h2=4, n_visible=784)
    model = TargetPropModel(cfg)
    x = splits.train[:20]
    model.initialise(x)
    for pair in model.pairs:  # non-zero decoder weights so every gradient is informative
        pair.V[...] = np.random.default_rng(0).normal(size=pair.V.shape).astype(np.float32) * 0.1
    before = [{k: v.copy() for k, v in p.parameters().items()} for p in model.pairs]
    # replay the step's randomness to obtain the same corrupted inputs
    h1, h2 = model.infer(x)
    rng = np.random.default_rng(42)
    from spiking_bpdl.rate.layer_pair import bernoulli_mean_corruption, gaussian_corruption
    x_c = gaussian_corruption(x, cfg.sigma_x, rng)
    h1_c = gaussian_corruption(h1, cfg.sigma_h1, rng)
    h2_c = bernoulli_mean_corruption(h2, cfg.top_bernoulli_samples, rng)
    h1_top = gaussian_corruption(h1, cfg.sigma_h1_top, rng)
    model.train_batch(x, np.random.default_rng(42))
    lrs = model.learning_rates(1)

    def check(pair_index, name, loss):
        param = before[pair_index][name].astype(np.float64)
        idx = np.unravel_index(np.argsort(np.abs(param).ravel())[-5:], param.shape)  # a few entries
        grads = []
        for i in zip(*idx):
            keep = param[i]
            vals = []
            for eps in (1e-3, -1e-3):
                param[i] = keep + eps
                vals.append(loss(param))
            param[i] = keep
            grads.append((vals[0] - vals[1]) / 2e-3)
        step = model.pairs[pair_index].parameters()[name][idx] - before[pair_index][name][idx]
        lr = lrs[pair_index][name]
        for g, s in zip(grads, step):
            if abs(g) > 1e-4:  # a clear sign
                assert s == pytest.approx(-lr * np.sign(g), rel=1e-2)

    from spiking_bpdl.rate.layer_pair import LayerPair

    def pair_with(pair_index, name, value):
        src = model.pairs[pair_index]
        p = LayerPair(src.n_in, src.n_out, src.f_activation, src.g_activation, dtype=np.float64)
        p.set_parameters({**before[pair_index], name: value})
        return p

    check(0, "V", lambda v: pair_with(0, "V", v).decoder_loss(h1_c, x))
    check(0, "W", lambda v: pair_with(0, "W", v).encoder_loss(x_c, h1))
    check(1, "V", lambda v: pair_with(1, "V", v).decoder_loss(h2_c, h1))
    check(1, "W", lambda v: pair_with(1, "W", v).encoder_loss(h1_top, h2))


def test_learning_rate_schedule():
    """Per-layer rates (f2 may have its own) and the per-epoch decay after lr_decay_start."""
    cfg = TargetPropConfig(n_h1=8, n_h2=3, lr_encoder=1e-4, lr_encoder_top=2e-5, lr_decoder=1e-3,
                           lr_decay=0.5, lr_decay_start=2)
    model = TargetPropModel(cfg)
    assert model.learning_rates(1) == model.learning_rates(2)
    e1, e4 = model.learning_rates(1), model.learning_rates(4)
    assert (e1[0]["W"], e1[1]["W"], e1[0]["V"], e1[1]["c"]) == (1e-4, 2e-5, 1e-3, 1e-3)
    assert e4[1]["W"] == pytest.approx(2e-5 * 0.25) and e4[0]["V"] == pytest.approx(1e-3 * 0.25)
    model.set_epoch(4)
    assert [opt.lr for opt in model.optimizers] == e4
    same = TargetPropModel(TargetPropConfig(n_h1=8, n_h2=3, lr_encoder=1e-4, lr_encoder_top=0.0,
                                            lr_decay=1.0))  # 0: as f1; no decay
    assert same.learning_rates(7)[1]["W"] == 1e-4


# -- INFERENCE, GENERATE, in-painting ------------------------------------------------------

@pytest.mark.slow
def test_training_reduces_local_losses_without_collapse(trained):
    _, history, _, _ = trained
    assert history["rec_x"][-1] < history["rec_x"][0]
    # (rec_h1 is not monotone: its target h1 = f1(x) changes scale while f1 learns)
    assert history["h2_spread"][-1] > 0.02  # h2 still depends on the input


@pytest.mark.slow
def test_inference_increases_the_data_term_on_average(trained, splits):
    """INFERENCE ascends log p(x | h1) (the h1 update's main term) on held-out digits.

    The full log p(x, h) with the paper's unit variances is recorded by
    ``inference_curve``; whether it rises depends on the model (docs/generative.md), so
    here we check the part the dynamics are built to increase and the curve's bookkeeping.
    """
    model, _, _, _ = trained
    x = splits.test[:500]
    h1, h2 = model.feedforward(x)
    model._clip(h1, h2)
    before = model.log_joint(x, h1, h2, terms=True)[0]
    h1, h2 = model.infer(x, n_steps=20)
    gain = model.log_joint(x, h1, h2, terms=True)[0] - before
    sem = gain.std(ddof=1) / np.sqrt(len(gain))
    assert gain.mean() > 3 * sem  # mean rise larger than 3 standard errors
    curve = exp.inference_curve(model, x, n_steps=20)
    _, _, trace = model.infer(x, n_steps=20, record=True)
    assert len(curve["mean"]) == 21
    np.testing.assert_allclose(curve["mean"], trace.mean(axis=1), rtol=1e-6)
    total = np.array(curve["log_px_h1"]) + np.array(curve["log_ph1_h2"]) + np.array(curve["log_ph2"])
    np.testing.assert_allclose(total, trace.mean(axis=1), rtol=1e-6)
    assert curve["log_px_h1"][-1] > curve["log_px_h1"][0]


def test_inference_follows_algorithm_2_update():
    cfg = TargetPropConfig(n_h1=6, n_h2=3, n_visible=5, clip=False)
    model = TargetPropModel(cfg)
    rng = np.random.default_rng(1)
    for p in model.pairs:
        p.V[...] = rng.normal(size=p.V.shape).astype(np.float32)
    x = rng.random((4, 5), dtype=np.float32)
    (f1, f2) = model.pairs
    h1 = f1.encode(x)
    h2 = f2.encode(h1)
    for _ in range(3):
        h2 = h2 + 0.1 * (f2.encode(h1) - f2.encode(f2.decode(h2)))
        h1 = h1 + 0.1 * (f1.encode(x) - f1.encode(f1.decode(h1))) + 0.05 * (f2.decode(h2) - h1)
    g1, g2 = model.infer(x, n_steps=3, delta=0.1, alpha=0.05)
    np.testing.assert_allclose(g1, h1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g2, h2, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_generate_produces_valid_diverse_images(trained):
    model, _, _, cfg = trained
    rng = np.random.default_rng(0)
    samples, directed = model.generate(200, rng, return_directed=True)
    for s in (samples, directed):
        assert s.shape == (200, 784) and s.dtype == np.float32
        assert np.all(np.isfinite(s)) and s.min() >= 0 and s.max() <= 1
    assert samples.std(axis=0).mean() > 0.01  # not one image repeated
    assert not np.allclose(samples, directed)  # the inference rounds changed the samples
    again = model.generate(200, np.random.default_rng(0))
    np.testing.assert_array_equal(samples, again)  # reproducible from the seed
    assert model.generate(5, rng, rounds=0).shape == (5, 784)


@pytest.mark.slow
def test_inpainting_keeps_visible_pixels_and_improves_missing(trained, splits):
    model, _, _, _ = trained
    res = exp.inpainting(model, splits.test[:100], n_steps=20)
    mask = res["mask"]
    assert mask.sum() == 392
    np.testing.assert_array_equal(res["filled"][:, mask], splits.test[:100][:, mask])
    assert res["mse_end"] < res["mse_start"]  # better than the uniform noise it started from


# -- Parzen evaluation at the model level ---------------------------------------------------

@pytest.mark.slow
def test_parzen_evaluation_protocol(trained, splits):
    model, _, _, _ = trained
    result, samples = exp.evaluate(model, splits, n_samples=300, sigmas=(0.15, 0.2, 0.3), log=lambda *a: None)
    for key in ("parzen_ll", "parzen_sem", "sigma", "parzen_ll_directed", "n_samples", "n_test",
                "ceiling_real_data_ll", "paper_table"):
        assert key in result
    assert result["n_samples"] == 300 and result["n_test"] == len(splits.test)
    # sigma is the validation argmax, and the test score is the estimator's mean at that sigma
    scores = {float(k): v for k, v in result["validation_scores"].items()}
    assert result["sigma"] == max(scores, key=scores.get)
    ll = parzen_log_likelihood(samples, splits.test, result["sigma"])
    assert result["parzen_ll"] == pytest.approx(ll.mean())
    assert result["parzen_sem"] == pytest.approx(ll.std(ddof=1) / np.sqrt(len(ll)))
    # the ceiling is the same estimator with real training digits as the samples, at its own
    # validation-chosen sigma; its error bar is the standard error sd/sqrt(n) of the per-digit values
    real = splits.train[:300]
    real_scores = {s: parzen_log_likelihood(real, splits.validation, s).mean() for s in (0.15, 0.2, 0.3)}
    assert result["ceiling_real_data_sigma"] == max(real_scores, key=real_scores.get)
    ceiling = parzen_log_likelihood(real, splits.test, result["ceiling_real_data_sigma"])
    assert result["ceiling_real_data_ll"] == pytest.approx(ceiling.mean())
    assert result["ceiling_real_data_sem"] == pytest.approx(ceiling.std(ddof=1) / np.sqrt(len(ceiling)))


# -- checkpoints ---------------------------------------------------------------------------

@pytest.mark.slow
def test_resume_gives_the_same_model(small_config, splits, tmp_path):
    cfg = small_config.replace(epochs=2, select_samples=0, n_h1=40, n_h2=8)
    quiet = {"progress": False, "log": lambda *a: None}
    full, _ = exp.train(cfg, splits, tmp_path / "a", **quiet)
    exp.train(cfg.replace(epochs=1), splits, tmp_path / "b", **quiet)
    with pytest.raises(CheckpointError, match="seed"):
        exp.train(cfg.replace(seed=3), splits, tmp_path / "b", resume=True, **quiet)
    resumed, _ = exp.train(cfg, splits, tmp_path / "b", resume=True, **quiet)
    for p, q in zip(full.pairs, resumed.pairs):
        for k in p.PARAMS:
            np.testing.assert_array_equal(getattr(p, k), getattr(q, k))
    np.testing.assert_array_equal(full.prior_mean, resumed.prior_mean)
    model, meta = exp.load_model(tmp_path / "b" / exp.MODEL_NAME)
    np.testing.assert_array_equal(model.pairs[0].W, full.pairs[0].W)


def test_full_covariance_prior_density_and_samples():
    from scipy.stats import multivariate_normal

    cfg = TargetPropConfig(n_h1=6, n_h2=3, n_visible=5)
    model = TargetPropModel(cfg)
    rng = np.random.default_rng(3)
    codes = rng.random((400, 3)) @ np.array([[1, 0.5, 0], [0, 1, 0.3], [0, 0, 1]]) / 2
    mean, cov = model.fit_prior_to_codes(codes, variance_scale=2.0, full_covariance=True)
    np.testing.assert_allclose(cov, 2 * np.cov(codes, rowvar=False) + 2e-6 * np.eye(3))
    h2 = rng.random((7, 3))
    np.testing.assert_allclose(model._prior_logpdf(h2), multivariate_normal(mean, cov).logpdf(h2), rtol=1e-10)
    model.fit_prior_to_codes(codes, variance_scale=2.0)
    np.testing.assert_allclose(model._prior_logpdf(h2),
                               multivariate_normal(mean, np.diag(2 * codes.var(axis=0))).logpdf(h2), rtol=1e-10)
    s = model.sample_prior(50, rng)
    assert s.shape == (50, 3) and s.min() >= 0 and s.max() <= 1


def test_mixture_prior_density_normalised_and_sampled():
    from scipy.stats import multivariate_normal

    model = TargetPropModel(TargetPropConfig(n_h1=6, n_h2=2, n_visible=5))
    rng = np.random.default_rng(4)
    codes = np.concatenate([rng.normal(0.2, 0.05, (300, 2)), rng.normal(0.7, 0.05, (100, 2))])
    model.fit_prior_to_codes(codes, variance_scale=1.0, n_components=2)
    np.testing.assert_allclose(np.sort(model.prior_weights), [0.25, 0.75])
    h2 = rng.random((9, 2))
    expect = np.log(sum(w * multivariate_normal(m, c).pdf(h2)
                        for w, m, c in zip(model.prior_weights, model.prior_mean, model.prior_var)))
    np.testing.assert_allclose(model._prior_logpdf(h2), expect, rtol=1e-9)
    s = model.sample_prior(4000, rng)
    # fraction of draws near the second cluster ~ 0.25; binomial s.e. ~ 0.007
    assert abs(np.mean(s[:, 0] > 0.45) - 0.25) < 4 * np.sqrt(0.25 * 0.75 / 4000)
    arrays, meta = model.state_arrays(), model.state_meta()
    again = TargetPropModel.from_state(arrays, meta)
    np.testing.assert_array_equal(again.prior_weights, model.prior_weights)
