"""``spiking-bpdl reproduce``: bad input, failing parts, resumability, paper numbers, README tables.

The runs use ``--only`` with the small parts at reduced sizes (``QUICK`` patched): the window
part and a shrunken stdp-match part run real commands in subprocesses; the full --quick run
(several minutes) is not part of the suite (docs/reproduce.md gives its measured time).
"""

import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from spiking_bpdl import cli
from spiking_bpdl import reproduce as rp

from script_loader import load_script

REPO = Path(__file__).resolve().parents[1]

TINY = dict(rp.QUICK, window_trials=20, match_trials=6, match_gradient_trials=6)


def _main(argv):
    """``cli.main`` in-process, with argparse's own exits turned into a status."""
    try:
        return cli.main([str(a) for a in argv])
    except SystemExit as exc:
        return exc.code


@pytest.mark.parametrize("argv", [
    ["--out", "R"],                                        # neither --quick nor --full
    ["--quick", "--full", "--out", "R"],
    ["--quick"],                                           # no --out
    ["--quick", "--out", "R", "--only", "nope"],
    ["--quick", "--out", "R", "--force", "windows"],
    ["--quick", "--out", "R", "--only", "window", "--force", "vpf"],
    ["--quick", "--out", "R", "--sweeps-dir", "S"],        # --sweeps-dir is for --full
    ["--quick", "--out", "FILE"],
    ["--quick", "--out", "BELOW_FILE"],
    ["--quick", "--out", "R", "--data-dir", "MISSING"],
    ["--quick", "--out", "R", "--seed", "x"],
    ["--quick", "--out", "R", "--json", "R0"],             # --json is a folder
])
def test_bad_input_is_one_line_exit_2_nothing_written(argv, tmp_path, capsys):
    (tmp_path / "FILE").write_text("x")
    (tmp_path / "R0").mkdir()
    subs = {"R": tmp_path / "R", "S": tmp_path / "S", "FILE": tmp_path / "FILE", "MISSING": tmp_path / "missing",
            "R0": tmp_path / "R0", "BELOW_FILE": tmp_path / "FILE" / "sub"}
    before = sorted(p.name for p in tmp_path.iterdir())
    rc = _main(["reproduce", *[subs.get(a, a) for a in argv]])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and "error" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def _mtimes(folder):
    return {p.relative_to(folder): p.stat().st_mtime_ns for p in Path(folder).rglob("*.json")}


@pytest.fixture(scope="module")
def reused_runs(tmp_path_factory):
    """Three runs into one folder: first, again (reused), then --force stdp_match."""
    mp = pytest.MonkeyPatch()
    mp.setattr(rp, "QUICK", TINY)
    out = tmp_path_factory.mktemp("report")
    runs = []
    try:
        for extra in ([], [], ["--force", "stdp_match"]):
            rc = _main(["reproduce", "--quick", "--out", out, "--only", "window", "stdp_match", *extra])
            runs.append({"rc": rc, "mtimes": _mtimes(out / "parts"),
                         "report": json.loads((out / "report.json").read_text())})
    finally:
        mp.undo()
    return out, runs


@pytest.mark.slow
def test_first_run_reports_paper_numbers_next_to_ours(reused_runs):
    out, runs = reused_runs
    assert runs[0]["rc"] == 0
    rep = runs[0]["report"]
    assert rep["failed"] == [] and rep["parts"]["window"]["status"] == "ok"
    rows = {r["quantity"]: r for r in rep["rows"]}
    tau_plus = rows["emergent window τ+ (ms)"]
    assert tau_plus["paper"] == 16.8 and 1 < tau_plus["ours"] < 100
    assert rows["emergent window τ− (ms)"]["paper"] == 33.7
    assert tau_plus["command"].startswith("spiking-bpdl stdp-window --rule voltage-derivative --trials 20")
    assert tau_plus["wall_s"] > 0
    assert rows["analytic (theory): slope, no fitted scale"]["paper"] == 1.0
    assert rows["part C, wired layer: cosine(STDP update, −∂J/∂W)"]["ours"] is not None
    # the classifier is not in this version: shown with the Diehl & Cook anchor, not a failure
    assert rep["parts"]["classifier"]["status"] == "not run"  # not selected by --only
    md = (out / "report.md").read_text()
    line = next(ln for ln in md.splitlines() if ln.startswith("| emergent window τ+"))
    cells = [c.strip() for c in line.split("|")]
    assert cells[2] == f"{tau_plus['ours']:.4g}" and cells[3] == "16.8"
    assert "parts/window/part.json" in md
    part = json.loads((out / "parts" / "window" / "part.json").read_text())
    assert part["provenance"]["config"]["steps"][0][:3] == ["stdp-window", "--rule", "voltage-derivative"]
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "16.8" in html  # figures embedded: self-contained


@pytest.mark.slow
def test_second_run_reuses_and_force_reruns_exactly_one_part(reused_runs):
    out, runs = reused_runs
    first, second, third = runs
    assert second["rc"] == 0 and third["rc"] == 0
    assert second["mtimes"] == first["mtimes"]  # nothing ran again
    assert second["report"]["parts"]["window"]["reused"] and second["report"]["parts"]["stdp_match"]["reused"]
    changed = {p.parts[0] for p, t in third["mtimes"].items() if second["mtimes"].get(p) != t}
    assert changed == {"stdp_match"}
    assert third["report"]["parts"]["window"]["reused"] and not third["report"]["parts"]["stdp_match"]["reused"]


@pytest.mark.slow
def test_a_failing_part_is_reported_and_the_others_run(tmp_path, monkeypatch, capsys):
    # the window command rejects --trials 0: that part fails, stdp_match (after it) still runs
    monkeypatch.setattr(rp, "QUICK", dict(TINY, window_trials=0))
    # a classifier without a spiking configuration: reported as absent, not run
    monkeypatch.setattr(rp, "CLASSIFIER_DEFINITION", REPO / "networks" / "classifier_mnist_rate.toml")
    out = tmp_path / "r"
    rc = _main(["reproduce", "--quick", "--out", out, "--only", "window", "stdp_match", "classifier"])
    assert rc == 1
    rep = json.loads((out / "report.json").read_text())
    assert rep["failed"] == ["window"]
    assert rep["parts"]["stdp_match"]["status"] == "ok" and not rep["parts"]["stdp_match"]["reused"]
    assert rep["parts"]["classifier"]["status"] == "not in this version"
    assert "--trials" in rep["parts"]["window"]["error"]
    md = (out / "report.md").read_text()
    assert "**Error:**" in md and "must be > 0" in md
    classifier = next(r for r in rep["rows"] if r["part"] == "classifier")
    assert classifier["paper"] == 95.0 and classifier["ours"] is None
    assert "| MNIST test accuracy (%) | — | 95.0 |" in md
    assert "part(s) failed: window" in capsys.readouterr().err


def test_classifier_definition_when_present_runs_train(tmp_path, monkeypatch):
    bad = tmp_path / "classifier_mnist.toml"
    bad.write_text("[populations\n")  # malformed: train reports it and the part fails
    monkeypatch.setattr(rp, "CLASSIFIER_DEFINITION", bad)
    rc = _main(["reproduce", "--quick", "--out", tmp_path / "r", "--only", "classifier"])
    rep = json.loads((tmp_path / "r" / "report.json").read_text())
    assert rc == 1 and rep["failed"] == ["classifier"]
    step = rep["parts"]["classifier"]["steps"][0]
    assert step["argv"][:2] == ["train", str(bad)] and step["returncode"] == 2
    assert "classifier_mnist.toml" in rep["parts"]["classifier"]["error"]


def test_a_stack_classifier_is_absent_while_it_has_no_spiking_configuration(tmp_path, monkeypatch):
    """A stack classifier whose forward projections learn by rate rules (no spiking configuration) is
    reported as not in this version, with the reason, not run into a failure; the shipped classifier's
    rules are pair STDP, so its part runs ``train`` on the spiking backend."""
    (part,) = rp.build_parts("quick", tmp_path, names=["classifier"])
    assert not part.absent and part.steps[0].argv[0] == "train"
    argv = [str(a) for a in part.steps[0].argv]
    assert argv[1] == "classifier_mnist"  # a shipped name: works from a wheel too
    assert argv[argv.index("--backend") + 1] == "spiking"
    assert "data.source=embedded" in argv and "training.samples=1000" in argv  # quick: offline, reduced
    rate_only = Path(__file__).resolve().parents[1] / "networks" / "classifier_mnist_rate.toml"
    monkeypatch.setattr(rp, "CLASSIFIER_DEFINITION", rate_only)
    (part,) = rp.build_parts("quick", tmp_path, names=["classifier"])
    assert part.absent and "no spiking configuration" in part.absent and not part.steps


def test_classifier_rows_report_the_spiking_read_out_against_diehl_and_cook(tmp_path):
    (part,) = rp.build_parts("quick", tmp_path, names=["classifier"])
    rows = part.rows(part, {"train": {"test_accuracy": 0.9, "test_accuracy_spiking_readout": 0.85,
                                      "val_accuracy": 0.95}})
    assert rows[0]["ours"] == pytest.approx(85.0) and rows[0]["paper"] == rp.DIEHL_COOK_ACCURACY
    assert rows[1]["ours"] == pytest.approx(90.0) and rows[1]["paper"] is None


def test_generative_rows_carry_the_papers_table(tmp_path):
    (part,) = rp.build_parts("quick", tmp_path, names=["generative"])
    evaluate = {"parzen_ll": 101.5, "parzen_sem": 2.0, "sigma": 0.2, "parzen_ll_directed": 90.0,
                "parzen_sem_directed": 1.0, "inpaint_mse_start": 0.3, "inpaint_mse_end": 0.1}
    rows = {r["quantity"]: r for r in part.rows(part, {"train": {}, "evaluate": evaluate})}
    assert rows["Parzen LL, GENERATE (this model)"]["ours"] == 101.5
    assert rows["Parzen LL, GENERATE (this model)"]["paper"] == 236.0
    assert rows["Parzen LL, directed sampling only"]["paper"] == 126.0
    assert {q.split(": ")[1]: r["paper"] for q, r in rows.items() if q.startswith("comparison row")} == {
        "DBN": 138.0, "Stacked CAE": 121.0, "Deep GSN": 214.0, "GAN": 225.0}
    argv = [str(a) for a in part.steps[0].argv]
    assert argv[argv.index("--config") + 1] == "generative_small"  # a shipped name: works from a wheel too


@pytest.mark.slow
def test_full_resumes_the_committed_sweeps_without_running_a_task(tmp_path):
    sweeps = tmp_path / "sweeps"
    names = ("layer_pair_small", "layer_pair_mnist", "layer_pair_mnist_frozen")
    for name in names:
        shutil.copytree(REPO / "docs" / "results" / "sweeps" / name, sweeps / name)
    rows_before = {n: (sweeps / n / "results.csv").read_text() for n in names}
    out = tmp_path / "r"
    rc = _main(["reproduce", "--full", "--out", out, "--only", "layer_pairs", "--sweeps-dir", sweeps])
    assert rc == 0
    for n, text in rows_before.items():
        assert (sweeps / n / "results.csv").read_text() == text  # no row ran again
        assert not (sweeps / n / "tasks").exists()
    rep = json.loads((out / "report.json").read_text())
    rows = {r["quantity"]: r for r in rep["rows"]}
    small = rows["layer_pair_small, spiking: test MSE (rate pass of its weights)"]
    assert small["ours"] == pytest.approx(0.0399, abs=5e-5) and small["n_seeds"] == 3
    assert rows["layer_pair_mnist, spiking / rate (per seed)"]["ours"] == pytest.approx(1.15, abs=0.01)
    assert rows["layer_pair_mnist, spiking / rate (per seed)"]["paper"] == "≤ 1.3 (project target)"
    # the encoder ablation, paired seed for seed with the learning sweep
    ratio = rows["layer_pair_mnist, spiking: W learning / W frozen (per seed)"]
    assert ratio["n_seeds"] == 3 and ratio["paper"] == "≤ 0.9 (project target)"
    frozen = rows["layer_pair_mnist, spiking, W frozen: test MSE"]["ours"]
    assert ratio["ours"] == pytest.approx(rows["layer_pair_mnist, spiking: test MSE (rate pass of its weights)"]["ours"]
                                          / frozen, rel=0.05)
    assert small["command"].startswith("spiking-bpdl sweep ") and "--resume" in small["command"]
    # a sweep row's time is what its tasks cost when they ran, not the seconds of the resumed call
    with open(sweeps / "layer_pair_small" / "results.csv", newline="") as fh:
        task_time = sum(float(r["task_wall_s"]) for r in csv.DictReader(fh))
    assert small["wall_s"] == pytest.approx(task_time, abs=0.1)


def _readme_tables():
    return load_script(REPO / "scripts" / "readme_tables.py")


@pytest.mark.slow
def test_readme_tables_round_trip(reused_runs, tmp_path, capsys):
    out, _ = reused_runs
    rt = _readme_tables()
    report = json.loads((out / "report.json").read_text())
    readme = tmp_path / "README.md"
    # the real README without its own reproduce blocks (this report has only some parts), plus one block
    original = re.sub(r"<!-- reproduce:(\w+) -->.*?<!-- /reproduce:\1 -->\n?", "", (REPO / "README.md").read_text(),
                      flags=re.S)
    marked = original.replace("## Competitive STDP", "<!-- reproduce:window -->\nold table\n<!-- /reproduce:window -->\n\n"
                              "## Competitive STDP", 1)
    readme.write_text(marked)
    assert rt.main([str(out / "report.json"), str(readme)]) == 0
    new = readme.read_text()
    start, end = new.index("<!-- reproduce:window -->"), new.index("<!-- /reproduce:window -->")
    block = new[start:end].splitlines()[1:]
    expected = [(r["quantity"], *rp.format_row(r)) for r in report["rows"] if r["part"] == "window"]
    assert rt.parse_block(block) == expected and "old table" not in new
    assert new.replace(new[start:end], "") == marked.replace(marked[marked.index("<!-- reproduce:window -->"):
                                                                     marked.index("<!-- /reproduce:window -->")], "")
    assert rt.main([str(out / "report.json"), str(readme)]) == 0 and readme.read_text() == new  # idempotent
    assert rt.main([str(out / "report.json"), str(readme), "--check"]) == 0
    changed = dict(report, rows=[dict(r, ours=1.0) if r["part"] == "window" else r for r in report["rows"]])
    (tmp_path / "changed.json").write_text(json.dumps(changed))
    assert rt.main([str(tmp_path / "changed.json"), str(readme), "--check"]) == 1
    capsys.readouterr()
    for bad in ("<!-- reproduce:window -->\nno end\n", "<!-- reproduce:nope -->\n<!-- /reproduce:nope -->\n",
                "<!-- reproduce:vpf -->\n<!-- /reproduce:vpf -->\n"):  # vpf: no rows in this report
        readme.write_text(bad)
        assert rt.main([str(out / "report.json"), str(readme)]) == 2
        assert readme.read_text() == bad
        assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_hand_typed_numbers_are_found_outside_generated_blocks():
    """Decimals, percentages and speed-ups in prose are reported; generated blocks, code, versions and
    dimensions such as 14×14 are not."""
    rt = _readme_tables()
    text = "\n".join([
        "Python 3.11 with brian2 2.9.0; digits of 14×14 pixels; the 95 % t-interval.",  # allowed
        "spiking / rate was 1.44 before.",                                              # line 2: decimal
        "It fired 35 % of the time and ran 4.7× faster.",                               # line 3: two
        "Set `--set layer_pair.nudge=8.5` in code.",                                     # inline code
        "```bash", "echo 0.123", "```",                                                  # fenced
        "<!-- reproduce:window -->", "| 0.5 | 3 % |", "<!-- /reproduce:window -->",
        "<!-- benchmarks -->", "| 18.0× |", "<!-- /benchmarks -->",
        "after the blocks 2.5 ms",                                                       # line 14
    ])
    found = [(no, num) for no, num, _ in rt.hand_typed_numbers(text)]
    assert found == [(2, "1.44"), (3, "35 %"), (3, "4.7×"), (14, "2.5")]


def test_benchmark_table_is_written_from_the_benchmark_results(tmp_path, capsys):
    """The performance table follows the benchmarks' JSON: a changed median changes the table (and
    --check fails), a missing field is a one-line error."""
    rt = _readme_tables()
    src = REPO / "benchmarks" / "results"
    lines = rt.benchmark_table(src)
    tt = json.loads((src / "train_throughput.json").read_text())
    median = tt["rows"]["c_engine_cpp_standalone"]["speedup_vs_naive"]["median"]
    assert any(f"**{median:.1f}×**" in line for line in lines)
    bench = tmp_path / "bench"
    shutil.copytree(src, bench)
    tt["rows"]["c_engine_cpp_standalone"]["speedup_vs_naive"]["median"] = 99.0
    (bench / "train_throughput.json").write_text(json.dumps(tt))
    assert any("**99.0×**" in line and "target ≥ 20: met" in line for line in rt.benchmark_table(bench))
    report = REPO / "docs" / "results" / "report" / "report.json"
    readme = tmp_path / "README.md"
    shutil.copy(REPO / "README.md", readme)
    assert rt.main([str(report), str(readme), "--check"]) == 0
    assert rt.main([str(report), str(readme), "--check", "--benchmarks", str(bench)]) == 1
    del tt["rows"]["b_engine_cython"]
    (bench / "train_throughput.json").write_text(json.dumps(tt))
    capsys.readouterr()
    assert rt.main([str(report), str(readme), "--benchmarks", str(bench)]) == 2
    assert readme.read_text() == (REPO / "README.md").read_text()
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_classifier_benchmark_rows_follow_their_json(tmp_path):
    """The classifier benchmark's rows: its speedups in wall-clock and CPU time with their verdicts,
    the NEST peer; a missing field is a TableError naming it."""
    rt = _readme_tables()
    src = REPO / "benchmarks" / "results"
    ct = json.loads((src / "classifier_throughput.json").read_text())
    cpp = ct["rows"]["c_engine_cpp_standalone"]
    lines = rt.benchmark_table(src)
    assert any(line.startswith("| classifier-stack training") and f"**{cpp['speedup_vs_naive']['median']:.1f}×**" in line
               for line in lines)
    assert any(f"**{cpp['speedup_vs_nest']['median']:.1f}×** NEST's samples/s" in line for line in lines)
    bench = tmp_path / "bench"
    shutil.copytree(src, bench)
    cpp["speedup_vs_naive_cpu_time"]["median"] = 5.0
    cpp["speedup_vs_naive"]["median"] = 25.0
    (bench / "classifier_throughput.json").write_text(json.dumps(ct))
    assert any("**25.0×**" in line and "met in wall-clock time, **not met** in CPU time" in line
               for line in rt.benchmark_table(bench))
    del cpp["speedup_vs_nest"]
    (bench / "classifier_throughput.json").write_text(json.dumps(ct))
    with pytest.raises(rt.TableError, match="classifier_throughput.json: missing or malformed field 'speedup_vs_nest'"):
        rt.benchmark_table(bench)


def test_stacks_table_is_written_from_the_stack_results(tmp_path):
    """The layer-stack table follows docs/results/stacks: a changed test accuracy changes the table, a
    missing field is an error naming it."""
    rt = _readme_tables()
    src = REPO / "docs" / "results" / "stacks"
    lines = rt.stacks_table(src)
    tp = json.loads((src / "target_prop.json").read_text())
    assert any("target prop" in line and f"{100 * tp['test']:.2f} %" in line for line in lines)
    copy = tmp_path / "stacks"
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns("standalone_*", "*.png"))
    tp["test"] = 0.5
    (copy / "target_prop.json").write_text(json.dumps(tp))
    assert any("target prop" in line and "50.00 %" in line for line in rt.stacks_table(copy))
    del tp["picked"]
    (copy / "target_prop.json").write_text(json.dumps(tp))
    with pytest.raises(rt.TableError, match="picked"):
        rt.stacks_table(copy)
    # `spiking-bpdl train` results: the spiking rows show the network's own spikes next to the rate pass
    sp = json.loads((src / "classifier_small" / "train_spiking.json").read_text())
    own, rate = f"{100 * sp['test_accuracy_spiking_readout']:.2f} %", f"{100 * sp['test_accuracy']:.2f} %"
    assert any(line.startswith("| `classifier_small` | spiking (Brian2, pair STDP, traces from each sample's start, "
                               "feedback learnt by mirrored STDP (reciprocal)): its own output spikes")
               and f"| {own} / {rate} |" in line for line in lines)
    # the rate regulator and the per-input centring a run used are read from its configuration
    reg = json.loads((src / "classifier_mnist_regulated" / "train_spiking.json").read_text())
    assert reg["config"]["homeostasis"] == 1e-5 and reg["config"]["centring_mean"] == "neuron"
    assert any("per-input centring × 0.35, rate regulator η_h = 1e-05): its own output spikes" in line
               and f"| {100 * reg['test_accuracy_spiking_readout']:.2f} %" in line for line in lines)
    # the trace reset a spiking run used is read from its configuration
    onset = json.loads((src / "classifier_mnist_trace_reset_onset" / "train_spiking.json").read_text())
    assert onset["config"]["trace_reset"] == "onset"
    assert any(line.startswith("| `classifier_mnist` | spiking (Brian2, pair STDP, traces from the plasticity onset)")
               and f"| {100 * onset['test_accuracy_spiking_readout']:.2f} %" in line for line in lines)
    # the rate screens of the renamed deep definition are listed under its present name
    assert any(line.startswith("| `classifier_mnist_deep_rate` | rate network: deep target prop") for line in lines)
    assert any("W1 frozen" in line for line in lines) and lines[-3] == rt.DIEHL_COOK
    del sp["test_accuracy_spiking_readout"]
    (copy / "classifier_small" / "train_spiking.json").write_text(json.dumps(sp))
    (copy / "target_prop.json").write_text((src / "target_prop.json").read_text())
    with pytest.raises(rt.TableError, match="test_accuracy_spiking_readout"):
        rt.stacks_table(copy)


def test_captions_do_not_depend_on_where_the_report_was_written():
    """A report written in another checkout (absolute sweep paths there) gives the same README captions."""
    rt = _readme_tables()
    report = json.loads((REPO / "docs" / "results" / "report" / "report.json").read_text())
    here = rt.table(report, "layer_pairs")
    recorded = str(Path(report["sweeps_dir"]).parents[2])
    moved = json.loads(json.dumps(report).replace(recorded, "/elsewhere/checkout"))
    assert moved["sweeps_dir"].startswith("/elsewhere/checkout/")
    assert rt.table(moved, "layer_pairs") == here
    assert "/elsewhere" not in "\n".join(here) and recorded not in "\n".join(here)


def test_readme_tables_are_the_committed_full_report():
    """The README's result tables are exactly what scripts/readme_tables.py writes from the committed
    ``--full`` report (docs/results/report/report.json) and the benchmarks' results, and no measured
    number stands in its prose: a report regenerated without updating the README, or a number typed
    into it, fails here."""
    report = REPO / "docs" / "results" / "report" / "report.json"
    assert json.loads(report.read_text())["mode"] == "full"
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "readme_tables.py"), str(report),
                           str(REPO / "README.md"), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_an_edited_definition_changes_the_parts_configuration_hash(tmp_path):
    """A part whose command names a definition reruns when the definition's text changes, not only
    when its command line does (an edited setting is a new configuration)."""
    from spiking_bpdl.reproduce import Part, Step, config_hash

    definition = tmp_path / "net.toml"
    definition.write_text('[spiking]\ntrace_reset = "sample"\n')
    out = tmp_path / "report"

    def part(arg):
        return Part("classifier", "Classifier", "", [Step("train", ["train", arg, "--out", out / "c"],
                                                          out / "c" / "train.json")], None)
    first = config_hash(part(str(definition)), "full", out)
    assert config_hash(part(str(definition)), "full", out) == first
    definition.write_text('[spiking]\ntrace_reset = "onset"\n')
    assert config_hash(part(str(definition)), "full", out) != first
    # a shipped definition named without its suffix counts too; other arguments name nothing
    from spiking_bpdl.reproduce import _named_definitions

    assert list(_named_definitions(["train", "classifier_mnist", "--seed", "0", "--backend", "spiking"])) == [
        "classifier_mnist"]
