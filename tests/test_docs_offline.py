"""docs/check_offline.py: finds what a built page would fetch from the network.

The checker runs on small fake build folders written here, so these tests
need neither Sphinx nor a docs build; CI runs it on the real build (.ci/run,
stage docs).
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "docs" / "check_offline.py"
_spec = importlib.util.spec_from_file_location("check_offline", SCRIPT)
check_offline = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_offline)

GOOD_PAGE = """\
<!DOCTYPE html>
<html><head>
<link rel="stylesheet" href="_static/styles/theme.css">
<link rel="preload" as="font" href="_static/vendor/fonts/fa-solid-900.woff2">
<link rel="canonical" href="https://example.org/docs/design.html">
<link rel="license" href="https://opensource.org/license/bsd-3-clause">
<script src="_static/mathjax/tex-chtml.js" defer></script>
<script>window.MathJax = {"tex": {"macros": {"R": "\\\\mathbb{R}"}}}</script>
<script>const ns = "http://www.w3.org/2000/svg";</script>
<style>.logo { background: url(_static/logo.png), url("data:image/png;base64,AAAA"); }</style>
</head><body>
<p>See <a href="https://scikit-learn.org/stable/">scikit-learn</a>.</p>
<img src="_images/xor.png" srcset="_images/xor.png 1x, _images/xor@2x.png 2x">
<span class="math">\\(\\frac{\\alpha}{2m}\\)</span>
<pre>&lt;script src="https://cdn.example.org/shown-not-run.js"&gt;&lt;/script&gt;</pre>
</body></html>
"""

GOOD_SCRIPT = """\
const SVGNS = "http://www.w3.org/2000/svg";
const about = {url: "https://www.mathjax.org"};  // a link in a menu, never fetched
import("./local-module.js");
el.src = "_static/local.js";
"""

GOOD_STYLE = """\
@import "basic.css";
@font-face { font-family: Lato; src: url("../fonts/lato.woff2") format("woff2"); }
"""

# Each bad file holds one external load, and its URL.
BAD_FILES = {
    "script src": ("page.html", '<script src="https://cdn.example.org/mathjax.js"></script>',
                   "https://cdn.example.org/mathjax.js"),
    "protocol-relative": ("page.html", '<script src="//cdn.example.org/lib.js"></script>',
                          "//cdn.example.org/lib.js"),
    "stylesheet": ("page.html",
                   '<link href="https://cdn.example.org/dt.css" rel="stylesheet" />',
                   "https://cdn.example.org/dt.css"),
    "preload": ("page.html",
                '<link rel="preload" as="font" href="https://fonts.example.org/a.woff2">',
                "https://fonts.example.org/a.woff2"),
    "img": ("page.html", '<img src="https://img.example.org/logo.png">',
            "https://img.example.org/logo.png"),
    "srcset": ("page.html", '<img src="a.png" srcset="a.png 1x, https://img.example.org/b.png 2x">',
               "https://img.example.org/b.png"),
    "inline style": ("page.html",
                     "<style>@import url(https://fonts.example.org/css?family=Lato);</style>",
                     "https://fonts.example.org/css?family=Lato"),
    "style attribute": ("page.html",
                        "<div style=\"background: url('https://img.example.org/bg.png')\"></div>",
                        "https://img.example.org/bg.png"),
    "inline MathJax loader": (
        "page.html",
        '<script>window.MathJax = {loader: {paths: {mathjax: "https://cdn.example.org/mj"}}}'
        "</script>",
        "https://cdn.example.org/mj"),
    "css url": ("_static/theme.css", "@font-face { src: url(https://fonts.example.org/x.woff2) }",
                "https://fonts.example.org/x.woff2"),
    "css import": ("_static/theme.css", '@import "https://cdn.example.org/bootstrap.css";',
                   "https://cdn.example.org/bootstrap.css"),
    "dynamic import": ("_static/app.js", 'await import("https://cdn.example.org/mod.js");',
                       "https://cdn.example.org/mod.js"),
    "static import": ("_static/app.js", "import {x} from 'https://cdn.example.org/mod.mjs';",
                      "https://cdn.example.org/mod.mjs"),
    "importScripts": ("_static/worker.js", 'importScripts("https://cdn.example.org/w.js")',
                      "https://cdn.example.org/w.js"),
    "fetch": ("_static/app.js", 'fetch("https://api.example.org/versions.json")',
              "https://api.example.org/versions.json"),
    "script.src": ("_static/app.js", 's=document.createElement("script");s.src="https://cdn.example.org/x.js"',
                   "https://cdn.example.org/x.js"),
    "html from js": ("_static/app.js",
                     "document.write('<script src=\"https://cdn.example.org/jq.js\"></script>')",
                     "https://cdn.example.org/jq.js"),
    "mathjax config in js": (
        "_static/mathjax-config.js",
        'window.MathJax={loader:{load:["[tex]/ams"],paths:{mathjax:"https://cdn.example.org/mj@3"}}}',
        "https://cdn.example.org/mj@3"),
    "mathjax fontURL": ("_static/mathjax-config.js",
                        "MathJax = {chtml: {fontURL: 'https://cdn.example.org/woff-v2'}}",
                        "https://cdn.example.org/woff-v2"),
}


def _fake_build(root, extra=None):
    """A build folder with good files only, plus ``extra`` (path: text)."""
    files = {"index.html": GOOD_PAGE, "_static/app.js": GOOD_SCRIPT,
             "_static/theme.css": GOOD_STYLE,
             # the reST sources Sphinx copies are text, never loaded
             "_sources/index.rst.txt": '.. raw:: html\n\n   <script src="https://x.org/a.js">'}
    files.update(extra or {})
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _run(build_dir):
    return subprocess.run([sys.executable, str(SCRIPT), str(build_dir)],
                          capture_output=True, text=True, check=False)


def test_good_build_passes(tmp_path):
    build = _fake_build(tmp_path)
    assert check_offline.find_external_loads(build) == []
    result = _run(build)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no external loads" in result.stdout


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_each_external_load_is_found(tmp_path, case):
    name, text, url = BAD_FILES[case]
    if name.endswith(".html"):
        text = f"<!DOCTYPE html>\n<html><head>\n</head><body>\n{text}\n</body></html>\n"
    else:  # append to the good file of that name, on its own line
        good = {"_static/app.js": GOOD_SCRIPT, "_static/theme.css": GOOD_STYLE}.get(name, "")
        text = good + text + "\n"
    build = _fake_build(tmp_path, {name: text})
    found = check_offline.find_external_loads(build)
    assert [(path.relative_to(build).as_posix(), found_url) for path, _, _, found_url in found] \
        == [(name, url)]
    line = found[0][1]
    assert url in text.splitlines()[line - 1]


def test_bad_build_fails_and_lists_offenders(tmp_path):
    bad_page = GOOD_PAGE.replace(
        "</head>",
        '<script src="https://cdn.datatables.net/1.13.6/js/jquery.dataTables.min.js"></script>\n'
        "</head>")
    build = _fake_build(tmp_path, {"auto_examples/sg_execution_times.html": bad_page})
    result = _run(build)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "auto_examples/sg_execution_times.html:11: <script src> -> "
        "https://cdn.datatables.net/1.13.6/js/jquery.dataTables.min.js"]
    assert "1 external load(s) in 1 file(s)" in result.stderr


def test_usage_errors(tmp_path):
    assert check_offline.main([]) == 2
    assert check_offline.main([str(tmp_path / "missing")]) == 2
