"""Statistics of a sweep: mean, standard deviation and a 95 % t-interval per point and metric.

The interval is ``mean ± t(0.975, n−1) · sd / √n`` over the seeds of a point (n ≥ 2); it
describes the seed-to-seed spread of the quantity as measured, nothing more. Ratios between two
values of one axis (``[ratios]`` in the sweep file) are formed per seed first, then summarised
the same way, so that seed-to-seed variation common to both sides cancels.
"""

import math

import numpy as np

from .._io import atomic_path, save_figure, write_json
from .store import FIXED_COLUMNS

__all__ = ["interval", "summarize", "metric_names", "write_summary", "plot_metric"]


def interval(values):
    """``{n, mean, std, ci95}`` of a sample (std and ci95 are None for n < 2).

    Parameters
    ----------
    values : sequence of float

    Returns
    -------
    dict
    """
    from scipy import stats

    x = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    n = int(x.size)
    if n == 0:
        return {"n": 0, "mean": None, "std": None, "ci95": None}
    mean = float(x.mean())
    if n < 2:
        return {"n": 1, "mean": mean, "std": None, "ci95": None}
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.975, n - 1) * std / math.sqrt(n))
    return {"n": n, "mean": mean, "std": std, "ci95": [mean - half, mean + half]}


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)


def metric_names(rows, axes, chosen=()):
    """The numeric metrics of ``rows``: all of them, and those the summary shows.

    Returns
    -------
    (all_metrics, shown)
        ``shown`` is ``chosen`` when given, else the metrics whose value varies across rows.
    """
    skip = {"point", "seed", "attempts", *axes, *FIXED_COLUMNS} - {"task_wall_s"}
    ok = [r for r in rows if r.get("status") == "ok"]
    names = sorted({k for r in ok for k, v in r.items() if k not in skip and _is_number(v)})
    if chosen:
        return names, [m for m in chosen if m in names]
    varying = [m for m in names if len({r.get(m) for r in ok}) > 1]
    return names, varying


def summarize(spec, rows):
    """Summary of a sweep's rows (the content of ``summary.json``).

    Parameters
    ----------
    spec : SweepSpec
    rows : list of dict

    Returns
    -------
    dict
        ``points`` (per grid point: values, seeds ok/failed, metric intervals and each metric's
        ``per_seed`` values keyed by the seed's text), ``ratios``,
        ``failed`` (point, seed, error), ``metrics`` (all numeric) and ``shown``.
    """
    axes = spec.axes
    names, shown = metric_names(rows, axes, spec.metrics)
    points = []
    for point in spec.points():
        pid = spec.point_id(point)
        mine = [r for r in rows if str(r.get("point")) == pid]
        ok = [r for r in mine if r.get("status") == "ok"]
        points.append({"point": point, "point_id": pid, "seeds_ok": sorted(int(r["seed"]) for r in ok),
                       "seeds_failed": sorted(int(r["seed"]) for r in mine if r.get("status") != "ok"),
                       "metrics": {m: {**interval(vals := [r.get(m) for r in ok if _is_number(r.get(m))]),
                                       "values": vals,
                                       # seed -> value, so ratios can pair seeds across sweeps
                                       "per_seed": {str(int(r["seed"])): r.get(m) for r in ok
                                                    if _is_number(r.get(m))}} for m in names}})
    ratios = {}
    for name, r in spec.ratios.items():
        others = [a for a in axes if a != r["axis"]]
        groups = {}
        for point in spec.points():
            if point[r["axis"]] != r["numerator"]:
                continue
            rest = {a: point[a] for a in others}
            den_point = {**point, r["axis"]: r["denominator"]}
            per_seed = []
            for seed in spec.seeds:
                num = _value(rows, spec.point_id(point), seed, r["metric"])
                den = _value(rows, spec.point_id(den_point), seed, r.get("denominator_metric", r["metric"]))
                if num is not None and den not in (None, 0):
                    per_seed.append(num / den)
            groups[spec.point_id(rest)] = {"point": rest, "per_seed": per_seed, **interval(per_seed)}
        ratios[name] = {**r, "groups": groups}
    failed = [{"point": str(x["point"]), "seed": int(x["seed"]), "error": x.get("error")}
              for x in rows if x.get("status") != "ok"]
    from .. import __version__
    from ..provenance import git_state

    commit, dirty = git_state()
    return {"sweep": spec.to_dict(), "provenance": {"version": __version__, "git_commit": commit, "git_dirty": dirty,
                                                   "commits_of_rows": sorted({str(x.get("git_commit")) for x in rows})},
            "rows": len(rows), "rows_ok": sum(x.get("status") == "ok" for x in rows),
            "metrics": names, "shown": shown, "points": points, "ratios": ratios, "failed": failed}


def _value(rows, pid, seed, metric):
    for row in rows:
        if str(row.get("point")) == pid and int(row["seed"]) == int(seed) and row.get("status") == "ok":
            v = row.get(metric)
            return float(v) if _is_number(v) else None
    return None


def _fmt(stat):
    if stat["mean"] is None:
        return "–"
    text = f"{stat['mean']:.4g}"
    if stat["ci95"] is not None:
        text += f" ± {stat['ci95'][1] - stat['mean']:.2g}"
    return text + f" (n={stat['n']})"


def markdown(summary):
    """``summary.md``: one row per grid point, mean ± 95 % half-width (n) per shown metric."""
    sw = summary["sweep"]
    axes = list(sw["grid"])
    shown = summary["shown"]
    lines = [f"# Sweep: spiking-bpdl {sw['command']}", "",
             f"Seeds {sw['seeds']}; {summary['rows_ok']} of {summary['rows']} runs ok. "
             "Cells: mean ± half-width of the 95 % t-interval over seeds (n seeds).", ""]
    header = [*(axes or ["point"]), "seeds ok", *shown]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for p in summary["points"]:
        cells = [str(p["point"][a]) for a in axes] or ["all"]
        cells.append(str(len(p["seeds_ok"])) + (f" ({len(p['seeds_failed'])} failed)" if p["seeds_failed"] else ""))
        cells += [_fmt(p["metrics"][m]) if m in p["metrics"] else "–" for m in shown]
        lines.append("| " + " | ".join(cells) + " |")
    for name, r in summary["ratios"].items():
        lines += ["", f"## Ratio {name}: {r['metric']} at {r['axis']}={r['numerator']} / "
                      f"{r.get('denominator_metric', r['metric'])} at {r['axis']}={r['denominator']} "
                      "(per seed, then summarised)", "",
                  "| point | ratio | per seed |", "|---|---|---|"]
        for pid, g in r["groups"].items():
            lines.append(f"| {pid} | {_fmt(g)} | {', '.join(f'{v:.4g}' for v in g['per_seed'])} |")
    if summary["failed"]:
        lines += ["", "## Failed", ""] + [f"- {f['point']} seed {f['seed']}: {f['error']}" for f in summary["failed"]]
    return "\n".join(lines) + "\n"


def plot_metric(summary, metric):
    """Figure of ``metric`` against the first grid axis: mean and 95 % interval, one line per other point."""
    import matplotlib.pyplot as plt

    axes = list(summary["sweep"]["grid"])
    x_axis = axes[0] if axes else None
    fig, ax = plt.subplots(figsize=(5.0, 3.6))
    xs_all = summary["sweep"]["grid"][x_axis] if x_axis else ["all"]
    numeric_x = all(_is_number(v) for v in xs_all)
    series = {}
    for p in summary["points"]:
        rest = {a: p["point"][a] for a in axes[1:]}
        label = ", ".join(f"{k}={v}" for k, v in rest.items()) or None
        series.setdefault(label, []).append((p["point"][x_axis] if x_axis else "all", p["metrics"].get(metric)))
    for label, items in series.items():
        xs, ys, err = [], [], []
        for x, stat in items:
            if not stat or stat["mean"] is None:
                continue
            xpos = x if numeric_x else xs_all.index(x)
            beside = xpos + 0.08 if not numeric_x else xpos  # categorical axis: the seeds beside the bar
            ax.plot([beside] * len(stat.get("values", [])), stat.get("values", []), ".", color="0.5", ms=5, zorder=1)
            xs.append(xpos)
            ys.append(stat["mean"])
            err.append(0.0 if stat["ci95"] is None else stat["ci95"][1] - stat["mean"])
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=label)
    if not numeric_x:
        ax.set_xticks(range(len(xs_all)), [str(v) for v in xs_all])
    ax.set_xlabel(x_axis or "")
    ax.set_ylabel(metric)
    ax.set_title(f"{summary['sweep']['command']}: {metric}\n(mean, 95 % t-interval over seeds; grey: each seed)",
                 fontsize=9)
    if any(label for label in series):
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def write_summary(out, spec, rows):
    """Write ``summary.json``, ``summary.md`` and ``figures/<metric>.png``; return the summary."""
    summary = summarize(spec, rows)
    write_json(out / "summary.json", summary)
    with atomic_path(out / "summary.md") as tmp:
        tmp.write_text(markdown(summary))
    for metric in summary["shown"]:
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in metric)
        save_figure(plot_metric(summary, metric), out / "figures" / f"{safe}.png")
    return summary
