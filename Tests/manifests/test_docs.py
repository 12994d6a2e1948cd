"""README.md and docs/: every relative link points to a file that exists and every #anchor to a
heading of its target, as GitHub renders them; the README stays the short way in (at most 350
lines) and its map of the docs lists every docs/ page. External links are not fetched."""
import glob
import os
import re

import pytest

from manifest_files import REPO

README = os.path.join(REPO, "README.md")
DOCS = sorted(glob.glob(os.path.join(REPO, "docs", "*.md")))
E2E_README = os.path.join(REPO, "Tests", "e2e", "README.md")
PAGES = [README, *DOCS, E2E_README]
README_MAX_LINES = 350

FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+)(?:(?!\n\s*\n).)+?\1", re.S)
# [text](target) and ![alt](target); the text may hold one level of brackets and wrap lines.
LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # http:, https:, mailto:


def prose(text):
    """The text with fenced code blocks and inline code spans blanked (line numbers kept):
    a `[x](y)` or a `# comment` inside code is neither a link nor a heading."""
    lines, fenced = [], None
    for line in text.split("\n"):
        fence = FENCE.match(line)
        if fenced is None and fence:
            fenced = fence.group(1)
            lines.append("")
        elif fenced is not None:
            if fence and fence.group(1) == fenced:
                fenced = None
            lines.append("")
        else:
            lines.append(line)
    return "\n".join(lines)


def slug(heading):
    """GitHub's anchor for a heading's text: links reduced to their text, lowercase, everything
    but letters, digits, spaces, hyphens and underscores dropped, spaces turned into hyphens."""
    text = re.sub(r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\([^)]*\)", r"\1", heading)
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(path):
    """Every heading's anchor in a file; a repeated one gets -1, -2, ... as GitHub numbers them."""
    with open(path) as handle:
        text = prose(handle.read())
    seen, result = {}, set()
    for line in text.split("\n"):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        anchor = base if base not in seen else f"{base}-{seen[base]}"
        seen[base] = seen.get(base, 0) + 1
        result.add(anchor)
    return result


def links(path):
    """(line, target) for every link in a file's prose."""
    with open(path) as handle:
        text = prose(handle.read())
    text = CODE_SPAN.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return [(text.count("\n", 0, m.start()) + 1, m.group(2)) for m in LINK.finditer(text)]


def broken_links(path, root=REPO):
    """What is wrong with each relative link of a file, as `file:line: target: why`."""
    problems = []
    name = os.path.relpath(path, root)
    for line, target in links(path):
        if not target or EXTERNAL.match(target):
            continue
        file_part, _, anchor = target.partition("#")
        resolved = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
        where = f"{name}:{line}: {target}"
        if os.path.relpath(resolved, root).startswith(".."):
            problems.append(f"{where}: outside the repository")
        elif not os.path.exists(resolved):
            problems.append(f"{where}: no such file")
        elif anchor and not resolved.endswith(".md"):
            problems.append(f"{where}: an anchor into a file that is not Markdown")
        elif anchor and anchor not in anchors(resolved):
            problems.append(f"{where}: no heading with anchor #{anchor} in {os.path.relpath(resolved, root)}")
    return problems


@pytest.mark.parametrize("heading, anchor", [
    ("Rolling out: report-only first", "rolling-out-report-only-first"),
    ("At scale: many agents at one API server (`make bench-scale`)",
     "at-scale-many-agents-at-one-api-server-make-bench-scale"),
    ("`source: auto`", "source-auto"),
    ("`AutotaintAgentMissing`", "autotaintagentmissing"),
    ("CPU contention (PSI), and the throttling trap", "cpu-contention-psi-and-the-throttling-trap"),
    ("What it does to the Node", "what-it-does-to-the-node"),
    ("kube-prometheus-stack", "kube-prometheus-stack"),
    ("See [the guard](fleet-guard.md) -- twice_over", "see-the-guard----twice_over"),
])
def test_slug_follows_githubs_rules(heading, anchor):
    assert slug(heading) == anchor


def test_repeated_headings_are_numbered(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Tests\n\n## Tests\n\n```sh\n# Tests in a comment, not a heading\n```\n\n### Tests\n")
    assert anchors(page) == {"tests", "tests-1", "tests-2"}


def test_a_broken_link_is_found(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other\n\n## Part two\n")
    page = tmp_path / "docs" / "page.md"
    page.write_text("# Title\n\n[ok](#title) [gone](#nothing) [missing](nope.md)\n"
                    "[there](other.md#part-two) [not there](other.md#part-three) [out](../../x.md)\n"
                    "`[code](not-a-link.md)` [web](https://example.com/x#y)\n")
    assert broken_links(str(page), root=str(tmp_path)) == [
        "docs/page.md:3: #nothing: no heading with anchor #nothing in docs/page.md",
        "docs/page.md:3: nope.md: no such file",
        "docs/page.md:4: other.md#part-three: no heading with anchor #part-three in docs/other.md",
        "docs/page.md:4: ../../x.md: outside the repository",
    ]


@pytest.mark.parametrize("path", PAGES, ids=[os.path.relpath(p, REPO) for p in PAGES])
def test_every_relative_link_and_anchor_resolves(path):
    problems = broken_links(path)
    assert not problems, "\n".join(problems)


def test_the_readme_is_the_short_way_in():
    with open(README) as handle:
        count = len(handle.read().splitlines())
    assert count <= README_MAX_LINES, f"README.md has {count} lines; move detail to docs/"


def test_the_readme_maps_every_docs_page():
    with open(README) as handle:
        text = handle.read()
    section = re.search(r"^## Documentation\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert section, "README.md has no ## Documentation section"
    mapped = {os.path.normpath(m.group(2)) for m in LINK.finditer(section.group(1))}
    assert DOCS, "docs/ holds no page"
    for page in DOCS:
        assert os.path.relpath(page, REPO) in mapped, f"the README's docs map does not link {os.path.relpath(page, REPO)}"


@pytest.mark.parametrize("path", DOCS, ids=[os.path.relpath(p, REPO) for p in DOCS])
def test_each_docs_page_has_a_title_and_a_way_back(path):
    with open(path) as handle:
        lines = [line for line in handle.read().splitlines() if line.strip()]
    assert lines[0].startswith("# "), f"{path}: the first line is not a # title"
    assert "](../README.md)" in lines[1], f"{path}: the line after the title does not link back to the README"
