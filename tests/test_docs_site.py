"""The documentation site's sources: generated references, the tutorial copies, no outside citations.

The full build (``python -m sphinx -W --keep-going -n -b html docs docs/_build/html``, notebooks
executed) runs in CI after the suite; these tests check in seconds what the build relies on.
"""

import importlib
import pkgutil
import re
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
sys.path.insert(0, str(DOCS / "_ext"))

import cli_reference  # noqa: E402
import tutorials  # noqa: E402

import spiking_bpdl  # noqa: E402
from spiking_bpdl.cli import COMMAND_MODULES, build_parser  # noqa: E402

#: Modules of the package that the API reference leaves out, and why.
NOT_IN_API = {
    "cli": "the command line has its own page, generated from the parsers",
    "commands": "the subcommands, documented by the command-line reference",
    "progress": "progress bars of the commands (internal)",
    "networks": "the shipped network definitions (TOML files, no code)",
}


def _pages():
    """The hand-written pages of the site (Markdown), without build outputs and generated copies."""
    skip = ("_build", "_generated", "_autosummary", "results")
    return sorted(p for p in DOCS.rglob("*.md") if not any(part in skip for part in p.relative_to(DOCS).parts))


def _toctree_entries(page):
    """Entries of every ``{toctree}`` block of a MyST page, as written."""
    entries = []
    for block in re.findall(r"```\{toctree\}\n(.*?)```", page.read_text(), re.S):
        entries += [line.strip() for line in block.splitlines() if line.strip() and not line.startswith(":")]
    return entries


def test_every_subcommand_has_a_section_built_from_its_parser():
    sections = cli_reference.command_parsers(build_parser())
    progs = [prog for prog, _, _ in sections]
    assert progs[0] == "spiking-bpdl"
    names = [importlib.import_module(f"spiking_bpdl.commands.{m}").NAME for m in COMMAND_MODULES]
    for name in names:
        assert f"spiking-bpdl {name}" in progs, f"no section for {name}"
    # nested subcommands (generative train, vpf compare...) get their own sections
    assert "spiking-bpdl generative train" in progs and "spiking-bpdl vpf compare" in progs
    assert len(progs) == len(set(progs))
    # each section's text is what --help prints: its usage line and every option of the parser
    for prog, _, parser in sections:
        text = cli_reference.help_text(parser)
        assert text.startswith(f"usage: {prog}")
        for action in parser._actions:
            for opt in action.option_strings:
                assert opt in text, f"{prog}: {opt} missing from the rendered help"
    assert "{spiking-bpdl-cli}" in (DOCS / "cli.md").read_text()


def test_help_text_restores_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "37")
    text = cli_reference.help_text(build_parser())
    assert max(len(line) for line in text.splitlines()) <= cli_reference.HELP_WIDTH
    assert max(len(line) for line in text.splitlines()) > 37
    import os

    assert os.environ["COLUMNS"] == "37"


def test_every_page_is_in_a_toctree():
    listed = set()
    for page in _pages():
        for entry in _toctree_entries(page):
            listed.add((page.parent / entry).relative_to(DOCS).as_posix())
    pages = {p.relative_to(DOCS).with_suffix("").as_posix() for p in _pages()} - {"index"}
    assert pages <= listed, f"pages in no toctree: {sorted(pages - listed)}"
    for science in ("stdp", "layer_pairs", "generative", "vpf", "sweeps"):
        assert science in listed
    assert "tutorials/_generated/*" in listed  # the solved notebooks, through the glob


def test_api_reference_lists_every_public_module():
    text = (DOCS / "api" / "index.md").read_text()
    listed = set(re.findall(r"^\s+spiking_bpdl\.(\w+)\s*$", text, re.M))
    public = {m.name for m in pkgutil.iter_modules(spiking_bpdl.__path__) if not m.name.startswith("_")}
    assert public - set(NOT_IN_API) <= listed, f"modules missing from docs/api/index.md: {public - set(NOT_IN_API) - listed}"
    assert listed <= public, f"docs/api/index.md names modules that do not exist: {listed - public}"


def _notebook(tmp_path, cells, name="01_demo.ipynb"):
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    path = tmp_path / "notebooks" / name
    path.parent.mkdir(exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_generated_tutorials_are_solved_reduced_and_run_in_the_notebook_folder(tmp_path):
    stub = nbformat.v4.new_code_cell("def double(x):\n    raise NotImplementedError",
                                     metadata={"exercise": "double"})
    _notebook(tmp_path, [nbformat.v4.new_markdown_cell("# Demo"), stub,
                         nbformat.v4.new_code_cell("assert double(2) == 4")])
    _notebook(tmp_path, [nbformat.v4.new_markdown_cell("# No exercises")], name="02_plain.ipynb")
    (tmp_path / "notebooks" / "solutions").mkdir()
    (tmp_path / "notebooks" / "solutions" / "01_demo.py").write_text("import math\n\n\ndef double(x):\n    return 2 * x\n")
    out = tmp_path / "docs" / "tutorials" / "_generated"
    assert tutorials.generate(tmp_path / "notebooks", out) == ["01_demo", "02_plain"]

    nb = nbformat.read(out / "01_demo.ipynb", as_version=4)
    setup, solved = nb.cells[0], nb.cells[2]
    assert setup.metadata["tags"] == [tutorials.HIDDEN_TAG]
    assert "os.environ['SPIKING_BPDL_REDUCED'] = '1'" in setup.source
    run_dir = re.search(r"os\.chdir\('([^']+)'\)", setup.source).group(1)
    assert (out / run_dir).resolve() == (tmp_path / "notebooks").resolve()
    assert "NotImplementedError" not in solved.source and "return 2 * x" in solved.source
    ns = {}
    exec(solved.source + "\n" + nb.cells[3].source, ns)  # the solution passes the notebook's own check
    plain = nbformat.read(out / "02_plain.ipynb", as_version=4)
    assert [c.source for c in plain.cells[1:]] == ["# No exercises"]


def test_generated_tutorials_mirror_the_notebooks(tmp_path):
    """Unchanged copies are not rewritten (their pages stay cached); removed notebooks disappear."""
    path = _notebook(tmp_path, [nbformat.v4.new_markdown_cell("# A")])
    out = tmp_path / "gen"
    tutorials.generate(tmp_path / "notebooks", out)
    copy = out / path.name
    before = copy.stat().st_mtime_ns
    (out / "99_removed.ipynb").write_text("{}")
    tutorials.generate(tmp_path / "notebooks", out)
    assert copy.stat().st_mtime_ns == before
    assert sorted(p.name for p in out.iterdir()) == [path.name]


def test_a_notebook_without_its_solutions_file_is_copied_as_the_student_sees_it(tmp_path):
    stub = nbformat.v4.new_code_cell("def f():\n    raise NotImplementedError", metadata={"exercise": "f"})
    path = _notebook(tmp_path, [stub])
    tutorials.generate(tmp_path / "notebooks", tmp_path / "gen")
    assert nbformat.read(tmp_path / "gen" / path.name, as_version=4).cells[1].source == stub.source


def _link_targets(text):
    """Targets of Markdown links and images that are not web addresses or in-page anchors."""
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    return [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")]


def _outside_citations(page, text):
    """What ``text`` (the page at ``page``) cites outside the repository, one line per problem."""
    problems = []
    for target in _link_targets(text):
        resolved = (page.parent / target).resolve()
        if not resolved.is_relative_to(REPO):
            problems.append(f"{target} points outside the repository")
        elif not resolved.exists():
            problems.append(f"{target} does not exist")
    problems += [f"absolute path of a machine: {m}" for m in re.findall(r"(?<![\w.])/(?:work|home|Users|root|mnt)/\S*", text)]
    # a path that climbs out of the folder it is read from
    problems += [f"{p} is outside the repository" for p in re.findall(r"(?<![\w./])((?:\.\./)+[\w./-]+)", text)
                 if not (page.parent / p).resolve().is_relative_to(REPO)]
    # every upper-case document a page names (README.md and the like) exists in the repository; lower-case
    # names are outputs of commands (report.md, summary.md)
    problems += [f"{name} is not a file of the repository"
                 for name in sorted(set(re.findall(r"(?<![\w.-])([A-Z][A-Z0-9_-]*\.md)\b", text)))
                 if not any(REPO.glob(f"**/{name}"))]
    return problems


def test_outside_citations_are_found():
    page = DOCS / "page.md"
    text = ("[a](../../elsewhere/notes.md) [b](missing.png) [ok](stdp.md#rules) [web](https://x.org/a.md)\n"
            "data in /work/data/mnist, see `../../x/y.txt` and PLAN.md; README.md, `../networks` and report.md are fine")
    assert _outside_citations(page, text) == [
        "../../elsewhere/notes.md points outside the repository",
        "missing.png does not exist",
        "absolute path of a machine: /work/data/mnist,",
        "../../elsewhere/notes.md is outside the repository",
        "../../x/y.txt is outside the repository",
        "PLAN.md is not a file of the repository",
    ]


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.relative_to(DOCS).as_posix())
def test_pages_cite_only_files_inside_the_repository(page):
    assert _outside_citations(page, page.read_text()) == []


def _site(tmp_path, notebooks):
    """A minimal site with the tutorials extension and the given notebooks ({name: [code, ...]})."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "conf.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(DOCS / '_ext')!r})\n"
        "extensions = ['myst_nb', 'tutorials']\n"
        "nb_execution_mode = 'force'\n"
        "nb_execution_raise_on_error = True\n"
        "exclude_patterns = ['_build']\n")
    (docs / "index.md").write_text("# Site\n\n```{toctree}\n:glob:\n\ntutorials/_generated/*\n```\n")
    for name, cells in notebooks.items():
        _notebook(tmp_path, [nbformat.v4.new_markdown_cell(f"# {name}")]
                  + [nbformat.v4.new_code_cell(c) for c in cells], name=f"{name}.ipynb")
    return docs


def _build(docs):
    import subprocess

    import os

    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"  # as in CI: the setup cell must still get the figures inline
    env.pop("SPIKING_BPDL_REDUCED", None)
    return subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(docs),
                           str(docs / "_build" / "html")], capture_output=True, text=True, env=env, timeout=300)


PLOT = "import matplotlib.pyplot as plt\nplt.plot([0, 1]); plt.show()"


@pytest.mark.slow
@pytest.mark.notebook
def test_site_executes_notebooks_reduced_in_their_folder_and_requires_figures(tmp_path):
    where = ("import os\nfrom pathlib import Path\n"
             "assert os.environ['SPIKING_BPDL_REDUCED'] == '1'\n"
             "assert Path.cwd().name == 'notebooks' and Path('01_plots.ipynb').exists()")
    docs = _site(tmp_path, {"01_plots": [where, PLOT]})
    done = _build(docs)
    assert done.returncode == 0, done.stderr
    page = (docs / "_build" / "html" / "tutorials" / "_generated" / "01_plots.html").read_text()
    assert "<img" in page and "os.chdir" not in page  # the figure is there, the setup cell is not

    (tmp_path / "notebooks" / "02_no_figure.ipynb").write_text(
        nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Lost"),
                                                        nbformat.v4.new_code_cell("x = 1")])))
    failed = _build(docs)
    assert failed.returncode != 0
    assert "02_no_figure" in failed.stderr and "shows no figure" in failed.stderr
