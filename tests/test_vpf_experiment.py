"""VPF comparison experiment and the ``spiking-bpdl vpf`` command (embedded data, small models)."""

import json
from dataclasses import replace

import numpy as np
import pytest

from spiking_bpdl import cli
from spiking_bpdl.errors import ConfigError, DataError
from spiking_bpdl.experiments import vpf_compare as vc

REQUIRED = ("dataset", "method", "recon_mse_dropout50", "recon_mse_occlusion", "ais_ll", "parzen_ll", "train_wall_s")

SMALL = vc.VPFConfig(hidden=(30,), epochs=2, learning_rates=(0.01,), n_select=100, select_sweeps=5,
                     recon_sweeps=5, ais_chains=20, ais_betas=200, parzen_samples=200, sample_sweeps=10,
                     parzen_val=100, n_test=200, source="embedded")


@pytest.fixture(scope="module")
def mnist_small():
    return vc.load_binarised("mnist", n_test=200, source="embedded")


def test_masks():
    m = vc.dropout_mask(50, np.random.default_rng(0))
    assert m.shape == (50, 784) and np.all((~m).sum(1) == 392)
    assert not np.array_equal(m[0], m[1])
    o = vc.occlusion_mask(3)
    assert o[:, :392].all() and not o[:, 392:].any()


def test_load_binarised_splits_and_rejects_wrong_shapes(mnist_small, monkeypatch):
    d = mnist_small
    assert set(np.unique(d.train)) <= {0.0, 1.0} and d.train.dtype == np.float32
    assert len(d.train) + len(d.val) == 2000 and len(d.val) == 400 and len(d.test) == 200
    from spiking_bpdl.data import Dataset

    def bad(name, split, *a, **k):
        return Dataset(name, split, np.zeros((10, 100), np.float32), np.zeros(10, int), "full")

    monkeypatch.setattr(vc, "load_dataset", bad)
    with pytest.raises(DataError, match="shape"):
        vc.load_binarised("mnist")


def test_config_validation():
    with pytest.raises(DataError):
        replace(SMALL, dataset="cifar").validate()
    with pytest.raises(ConfigError):
        replace(SMALL, method="bp").validate()
    with pytest.raises(ConfigError):
        replace(SMALL, method="cd", hidden=(30, 20)).validate()
    with pytest.raises(ConfigError):
        replace(SMALL, hidden=(30, 20, 10)).validate()


@pytest.mark.parametrize("method", vc.METHODS)
def test_run_one_rbm_returns_the_documented_keys(method, mnist_small):
    cfg = replace(SMALL, method=method)
    result, model, arrays = vc.run_one(cfg, mnist_small)
    for key in REQUIRED:
        assert key in result
    assert result["method"] == method and result["dataset"] == "mnist"
    for key in ("recon_mse_dropout50", "recon_mse_occlusion", "ais_ll", "parzen_ll", "train_wall_s"):
        assert np.isfinite(result[key]), key
    assert 0 < result["recon_mse_dropout50"] < 0.25
    # log p(v) of a 784-pixel binary image is negative; the exact bound is -784 log 2 for uniform
    assert -784 * np.log(2) - 50 < result["ais_ll"] < 0
    assert arrays["filters"].shape == (30, 784) and arrays["samples"].shape == (64, 784)
    assert result["learning_curve"][0]["epoch"] == 0.0 and len(result["learning_curve"]) == 1 + 2 * SMALL.epochs
    json.dumps(result)


def test_training_improves_validation_reconstruction(mnist_small):
    cfg = replace(SMALL, hidden=(50,), epochs=3, batch_size=20, learning_rates=(0.01,)).validate()
    fit = vc.train_model(cfg, mnist_small, 0.01)
    first, best = fit["curve"][0], fit["best"]
    # the untrained model (visible biases = data logits) is the pixel-mean fill; any learning beats it
    assert best["epoch"] > 0 and best["val_score"] < 0.9 * first["val_score"]


def test_dbm_with_laterals_runs_and_has_no_ais(mnist_small):
    for method in ("vpf", "pcd"):
        cfg = replace(SMALL, method=method, hidden=(20, 10), lateral=True, epochs=1, n_train=400)
        result, model, _ = vc.run_one(cfg, mnist_small)
        assert model.sizes == (784, 20, 10) and model.has_laterals
        assert result["ais_ll"] is None and np.isfinite(result["parzen_ll"])


def test_table_marks_the_best_value():
    rows = [{"dataset": "mnist", "method": m, "recon_mse_dropout50": v, "recon_mse_occlusion": 0.1,
             "ais_ll": -100.0, "parzen_ll": 50.0, "train_wall_s": 1.0, "selected_learning_rate": 0.01,
             "selected_epoch": 1.0} for m, v in (("vpf", 0.05), ("cd", 0.04))]
    md = vc.results_table_markdown(rows)
    assert "| mnist | CD-1 | **0.0400** |" in md and "| mnist | VPF | 0.0500 |" in md


def _main(argv, monkeypatch):
    monkeypatch.setattr(cli, "COMMAND_MODULES", ["vpf"])
    return cli.main(argv)


SMALL_ARGS = ["--hidden", "20", "--epochs", "1", "--lrs", "0.01", "--n-test", "100", "--recon-sweeps", "3",
              "--ais-chains", "10", "--ais-betas", "100", "--parzen-samples", "100", "--sample-sweeps", "5",
              "--source", "embedded", "--quiet"]


def test_cli_train_then_evaluate(tmp_path, monkeypatch):
    out = tmp_path / "run"
    assert _main(["vpf", "train", "--dataset", "fashion-mnist", "--method", "cd", "--out", str(out),
                  "--json", str(tmp_path / "t.json")] + SMALL_ARGS, monkeypatch) == 0
    trained = json.loads((tmp_path / "t.json").read_text())
    for key in REQUIRED:
        assert key in trained
    assert (out / "vpf_fashion-mnist_cd.ckpt.npz").exists()
    eval_args = [a for a in SMALL_ARGS if a not in ("--hidden", "20", "--epochs", "1", "--lrs", "0.01")]
    assert _main(["vpf", "evaluate", "--dataset", "fashion-mnist", "--method", "cd", "--out", str(out),
                  "--json", str(tmp_path / "e.json")] + eval_args, monkeypatch) == 0
    evaluated = json.loads((tmp_path / "e.json").read_text())
    # same checkpoint, same seeds: evaluation is reproducible
    for key in ("recon_mse_dropout50", "recon_mse_occlusion", "ais_ll", "parzen_ll", "train_wall_s"):
        assert evaluated[key] == pytest.approx(trained[key], rel=1e-9), key
    # a checkpoint of another method is refused with one line, exit 2
    assert _main(["vpf", "evaluate", "--dataset", "fashion-mnist", "--method", "vpf", "--out", str(out),
                  "--checkpoint", str(out / "vpf_fashion-mnist_cd.ckpt.npz")] + eval_args, monkeypatch) == 2


@pytest.mark.parametrize("bad", [
    ["train", "--dataset", "cifar", "--method", "vpf"],
    ["train", "--dataset", "mnist", "--method", "bp"],
    ["train", "--dataset", "mnist", "--method", "cd", "--hidden", "20,10"],
    ["train", "--dataset", "mnist", "--method", "vpf", "--hidden", "2x"],
    ["train", "--dataset", "mnist", "--method", "vpf", "--source", "full", "--data-dir", "/nonexistent/data"],
    ["evaluate", "--dataset", "mnist", "--method", "vpf"],
    ["compare", "--datasets", "mnist,cifar"],
])
def test_cli_bad_input_one_line_exit_2_nothing_written(bad, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    argv = ["vpf"] + bad + ["--out", str(out)]
    try:
        code = _main(argv, monkeypatch)
    except SystemExit as exc:  # argparse errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())


def test_paired_comparison_is_zero_for_identical_models(mnist_small):
    from spiking_bpdl.models.boltzmann import init_model, reconstruct

    a = init_model((784, 20), rng=1, visible_mean=mnist_small.train.mean(0), scale=0.1)
    b = init_model((784, 20), rng=2, visible_mean=mnist_small.train.mean(0), scale=0.1)
    res = vc.paired_reconstruction_comparison({"a": a, "a2": a.copy(), "b": b}, mnist_small.test[:50], n_sweeps=3)
    images = mnist_small.test[:50]
    masks = {"dropout50": vc.dropout_mask(50, np.random.default_rng(12345)), "occlusion": vc.occlusion_mask(50)}
    for corruption, mask in masks.items():
        assert res[corruption]["a - a2"] == {"mean": 0.0, "sem": 0.0}
        # recomputed here: per-image MSE over the unknown pixels of the same corruption, the
        # standard error sd/sqrt(n) of those 50 values, and the *paired* difference (per image
        # first, then mean and sd/sqrt(n)); an unpaired error bar or the wrong mask fails
        per_image = {}
        for name, model in (("a", a), ("b", b)):
            rec = reconstruct(model, images, mask, n_sweeps=3, rng=np.random.default_rng(0))
            err = np.where(mask, 0.0, (rec.astype(np.float64) - images) ** 2)
            per_image[name] = err.sum(1) / (~mask).sum(1)
            assert res[corruption][name]["mean"] == pytest.approx(per_image[name].mean(), rel=1e-12)
            assert res[corruption][name]["sem"] == pytest.approx(per_image[name].std(ddof=1) / np.sqrt(50), rel=1e-12)
        d = per_image["a"] - per_image["b"]
        assert res[corruption]["a - b"]["mean"] == pytest.approx(d.mean(), rel=1e-12)
        assert res[corruption]["a - b"]["sem"] == pytest.approx(d.std(ddof=1) / np.sqrt(50), rel=1e-12)
