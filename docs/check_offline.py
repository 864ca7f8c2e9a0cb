"""Check that built HTML docs load nothing from the network.

    python docs/check_offline.py docs/_build/html

Scans every ``.html``, ``.js`` and ``.css`` file under the build folder for
references that a browser would *fetch* from another host: scripts,
stylesheets, fonts, images, preloads, CSS ``url(...)`` and ``@import``,
JavaScript ``import``/``importScripts``/``fetch``/``new Worker`` and assigned
``.src``, HTML written from JavaScript, and MathJax ``loader`` paths or
``fontURL``. Plain hyperlinks (``<a href="https://...">``, ``<link
rel="canonical">`` and the like) are fine: they are followed only when the
reader clicks them. Prints each offender as ``file:line: what -> url`` and
exits with status 1 if there is any, 0 otherwise.

JavaScript is searched for those load constructs rather than for every URL it
contains: bundled libraries hold many URLs that are never requested (XML
namespaces such as ``http://www.w3.org/2000/svg``, license and "about" links,
fallbacks for old browsers). Whether MathJax then finds everything it loads
at run time (fonts, TeX extensions, speech maps) under ``_static/mathjax`` is
a question for a browser without network, not for this scan.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

#: An absolute URL that leaves the site: http(s) or protocol-relative.
EXTERNAL = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)

#: ``rel`` values of ``<link>`` that only describe a relation; the browser
#: fetches nothing for them when the page loads.
NAVIGATIONAL_RELS = frozenset(
    "alternate author bookmark canonical external help index license me next "
    "nofollow noopener noreferrer prev search top up first last".split()
)

#: Attributes whose URL an element fetches as the page loads (``<a href>`` is
#: absent on purpose; ``<link href>`` is handled with its ``rel``).
FETCHING_ATTRS = {
    "src": None,  # script, img, iframe, audio, video, source, embed, input, track
    "poster": {"video"},
    "data": {"object"},
    "background": None,
}

_Q = r"""["'`]"""  # a JavaScript string quote
_URL_LITERAL = rf"""{_Q}((?:https?:)?//[^"'`\s]+){_Q}"""

#: CSS: ``url(...)`` and ``@import "..."``.
CSS_PATTERNS = [
    ("url()", re.compile(r"""url\(\s*["']?\s*((?:https?:)?//[^"')\s]+)""", re.IGNORECASE)),
    ("@import", re.compile(r"""@import\s+["']((?:https?:)?//[^"']+)""", re.IGNORECASE)),
]

#: JavaScript constructs that fetch a URL given as a string literal.
JS_PATTERNS = [
    ("import()", re.compile(rf"\bimport\s*\(\s*{_URL_LITERAL}")),
    ("import", re.compile(rf"\b(?:import|export)\b[^;()]*?\bfrom\s*{_URL_LITERAL}")),
    ("import", re.compile(rf"(?:^|[;\s])import\s*{_URL_LITERAL}", re.MULTILINE)),
    ("importScripts()", re.compile(rf"\bimportScripts\s*\(\s*{_URL_LITERAL}")),
    ("fetch()", re.compile(rf"\bfetch\s*\(\s*{_URL_LITERAL}")),
    ("Worker", re.compile(rf"\bnew\s+(?:Shared)?Worker\s*\(\s*{_URL_LITERAL}")),
    (".src =", re.compile(rf"\.src\s*=\s*{_URL_LITERAL}")),
    ("setAttribute(src)", re.compile(rf"""setAttribute\(\s*["']src["']\s*,\s*{_URL_LITERAL}""")),
    # HTML written by scripts: '<script src="https://...">', '<link href=...>'
    ("HTML in script", re.compile(r"""<(?:script|img|iframe)\b[^>]*?\bsrc\s*=\s*\\?["']?((?:https?:)?//[^"'\\\s>]+)""")),
    ("HTML in script", re.compile(r"""<link\b[^>]*?\bhref\s*=\s*\\?["']?((?:https?:)?//[^"'\\\s>]+)""")),
    # MathJax: loader: {paths: {mathjax: "https://..."}, source: {...}}, chtml: {fontURL: ...}
    ("MathJax loader path", re.compile(
        rf"""\b(?:paths|source)["']?\s*:\s*\{{[^{{}}]*?{_URL_LITERAL}""")),
    ("MathJax fontURL", re.compile(rf"""\bfontURL["']?\s*:\s*{_URL_LITERAL}""")),
    # CSS written by scripts
    *[(f"{what} in script", pattern) for what, pattern in CSS_PATTERNS],
]


def _line(text, offset):
    return text.count("\n", 0, offset) + 1


def scan_css(text, first_line=1):
    """``(line, what, url)`` of each external load in a style sheet."""
    for what, pattern in CSS_PATTERNS:
        for match in pattern.finditer(text):
            yield first_line + _line(text, match.start()) - 1, what, match.group(1)


def scan_js(text, first_line=1):
    """``(line, what, url)`` of each external load a script makes."""
    seen = set()
    for what, pattern in JS_PATTERNS:
        for match in pattern.finditer(text):
            key = (match.start(1), match.group(1))
            if key not in seen:  # "import" patterns overlap
                seen.add(key)
                yield first_line + _line(text, match.start(1)) - 1, what, match.group(1)


class _PageScanner(HTMLParser):
    """Collects the external loads of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []
        self._inline = None  # ("script" | "style", first line, chunks)

    def _add(self, what, url, line=None):
        if url and EXTERNAL.match(url):
            self.found.append((line or self.getpos()[0], what, url.strip()))

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        for name, tags in FETCHING_ATTRS.items():
            if name in attrs and (tags is None or tag in tags):
                self._add(f"<{tag} {name}>", attrs[name])
        for candidate in attrs.get("srcset", "").split(","):
            self._add(f"<{tag} srcset>", candidate.strip().split(" ")[0])
        if tag == "link" and "href" in attrs:
            rels = set(attrs.get("rel", "").lower().split())
            if not rels or not rels <= NAVIGATIONAL_RELS:
                rel = attrs.get("rel", "")
                self._add(f'<link rel="{rel}">', attrs["href"])
        if "style" in attrs:
            for _, what, url in scan_css(attrs["style"]):
                self._add(f"style attribute {what}", url)
        if tag in ("script", "style"):
            script_type = attrs.get("type", "").lower()
            if tag == "style" or not script_type or "javascript" in script_type or (
                script_type == "module"
            ):
                self._inline = (tag, self.getpos()[0], [])

    def handle_data(self, data):
        if self._inline is not None:
            self._inline[2].append(data)

    def handle_endtag(self, tag):
        if self._inline is not None and tag == self._inline[0]:
            kind, first_line, chunks = self._inline
            self._inline = None
            scan = scan_css if kind == "style" else scan_js
            for line, what, url in scan("".join(chunks), first_line):
                self._add(f"inline <{kind}> {what}", url, line)


def scan_html(text):
    """``(line, what, url)`` of each external load of an HTML page."""
    scanner = _PageScanner()
    scanner.feed(text)
    scanner.close()
    return scanner.found


SCANNERS = {".html": scan_html, ".htm": scan_html, ".js": scan_js, ".mjs": scan_js,
            ".css": scan_css}


def find_external_loads(build_dir):
    """``(path, line, what, url)`` of every external load under ``build_dir``."""
    build_dir = Path(build_dir)
    offenders = []
    for path in sorted(build_dir.rglob("*")):
        scan = SCANNERS.get(path.suffix.lower())
        # _sources holds the reST sources as text (shown, never loaded)
        if scan is None or not path.is_file() or "_sources" in path.relative_to(build_dir).parts:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        offenders.extend((path, line, what, url) for line, what, url in scan(text))
    return offenders


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(f"usage: python {Path(__file__).name} BUILD_DIR", file=sys.stderr)
        return 2
    build_dir = Path(argv[0])
    if not build_dir.is_dir():
        print(f"{build_dir}: not a folder", file=sys.stderr)
        return 2
    offenders = find_external_loads(build_dir)
    for path, line, what, url in offenders:
        print(f"{path.relative_to(build_dir)}:{line}: {what} -> {url}")
    files = len({path for path, *_ in offenders})
    if offenders:
        print(f"{len(offenders)} external load(s) in {files} file(s) of {build_dir}: "
              "the docs would need the network", file=sys.stderr)
        return 1
    print(f"{build_dir}: no external loads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
