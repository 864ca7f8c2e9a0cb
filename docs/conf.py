"""Sphinx configuration for the skbackprop documentation.

Build with ``python -m sphinx -W --keep-going -b html docs docs/_build/html``
from the repository root; the gallery runs every ``examples/plot_*.py``.
"""

import os
import sys
import warnings
from pathlib import Path

# Let the docs build from a plain checkout as well as from an installed package.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")
# The gallery trains many small networks. On a small, busy machine a
# multi-threaded BLAS spends more time synchronising its threads than
# multiplying these small matrices (we measured 20x slower fits on 2 shared
# cores), so the build uses one BLAS thread unless told otherwise. This must
# happen before numpy is first imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# The array API example switches scikit-learn's dispatch on, which needs
# SciPy's array API mode; SciPy reads it when first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import skbackprop

# The activation table of neuron.rst and the cost table of costs.rst, from the
# library's own tables.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import activation_table
import cost_table


def _write_table(target: Path, text: str) -> None:
    """Write a generated table, only when its text changed (to keep rebuilds short)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")


_write_table(activation_table.TARGET, activation_table.activation_table())
_write_table(cost_table.TARGET, cost_table.cost_table())

# -- Project ----------------------------------------------------------------
project = "skbackprop"
author = "The skbackprop developers"
copyright = "2025, The skbackprop developers"
version = release = skbackprop.__version__

# -- General ----------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # MathJax served from the build's _static/mathjax instead of a CDN (see "Math")
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store"]
default_role = "literal"

# -- autodoc / autosummary / numpydoc ----------------------------------------
autosummary_generate = True
# The class template lists the public methods itself; numpydoc would add a
# second table for everything inherited from scikit-learn's BaseEstimator.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True



def _quote_trailing_underscore_names(app, what, name, obj, options, lines):
    """Render ``(n_features_in_,)`` in shape descriptions as code.

    reStructuredText reads a bare word ending in ``_`` as a link to a target of
    that name; scikit-learn's docstrings quote such names with backticks.
    """
    for i, line in enumerate(lines):
        lines[i] = line.replace("(n_features_in_,)", "(`n_features_in_`,)")


#: Labels of scikit-learn's documentation that the docstrings of inherited
#: methods (``score``, ``get_metadata_routing``) link to, and their pages.
SKLEARN_LABELS = {
    "accuracy_score": "modules/model_evaluation.html#accuracy-score",
    "r2_score": "modules/model_evaluation.html#r2-score",
    "metadata_routing": "metadata_routing.html",
}


def _link_sklearn_labels(app, env, node, contnode):
    """Resolve ``:ref:`` targets of scikit-learn's own docs to its website."""
    if node.get("reftype") == "ref" and node.get("reftarget") in SKLEARN_LABELS:
        from docutils import nodes

        uri = "https://scikit-learn.org/stable/" + SKLEARN_LABELS[node["reftarget"]]
        reference = nodes.reference("", "", internal=False, refuri=uri)
        reference.append(contnode)
        return reference
    return None


def _drop_raw_html_blocks(lines):
    """Remove every ``.. raw:: html`` directive, with its content, from reST lines."""
    kept, raw_indent = [], None
    for line in lines:
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if raw_indent is not None:
            if not stripped or indent > raw_indent:
                continue  # the directive's content, or a blank line inside it
            raw_indent = None
        if stripped.rstrip() == ".. raw:: html":
            raw_indent = indent
            continue
        kept.append(line)
    return kept


def _offline_execution_times(app, docname, source):
    """Keep sphinx-gallery's execution-times pages from loading DataTables off the web.

    sphinx-gallery (0.15 and later) writes these pages with a raw HTML block
    that fetches jQuery, DataTables and Bootstrap from CDNs to make the table
    sortable, which fails offline. The block is dropped when the page is read;
    the table stays, as a plain table.
    """
    if docname.rsplit("/", 1)[-1] == "sg_execution_times":
        source[0] = "\n".join(_drop_raw_html_blocks(source[0].split("\n")))


def setup(app):
    app.connect("autodoc-process-docstring", _quote_trailing_underscore_names)
    app.connect("missing-reference", _link_sklearn_labels)
    app.connect("source-read", _offline_execution_times)


# -- Math ---------------------------------------------------------------------
# The docs load nothing from the network (docs/check_offline.py checks the
# build): sphinx-mathjax-offline copies MathJax 3 (its fonts, TeX extensions
# and accessibility components included) into _static/mathjax and points
# mathjax_path at it, so mathjax3_config (not mathjax4_config) applies.
mathjax3_config = {"tex": {"macros": {"R": r"\mathbb{R}"}}}

# -- plot directive (figures drawn while the page builds) ----------------------
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]
plot_rcparams = {"figure.autolayout": True}

# -- sphinx-gallery -------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "doc_module": ("skbackprop",),
    "backreferences_dir": "gen_modules/backreferences",
    "reference_url": {"skbackprop": None},
    "remove_config_comments": True,
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "min_reported_time": 1,
}

# Examples print their own messages; keep warnings they raise on purpose (for
# instance a ConvergenceWarning the text discusses) out of the build log.
warnings.filterwarnings("ignore", category=UserWarning, message="Matplotlib is currently using agg")

# -- HTML -------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skbackprop {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": []}
