"""Product code must not pull in full Foundation (~12 MiB RSS on every node,
product.md "Footprint"): no product source imports it, and no product binary links it."""
import re
import subprocess

from agent_process import REPO

FOUNDATION_IMPORT = re.compile(r"^\s*(@\w+\s+)*import\s+(struct\s+|class\s+|enum\s+|func\s+)?Foundation(\.|\s*$)", re.M)


def test_no_product_source_imports_foundation():
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "Sources").rglob("*.swift")
                 if FOUNDATION_IMPORT.search(p.read_text())]
    assert offenders == []


def test_the_pattern_tells_foundation_from_foundation_essentials():
    assert FOUNDATION_IMPORT.search("import Foundation\n")
    assert FOUNDATION_IMPORT.search("@preconcurrency import Foundation\n")
    assert not FOUNDATION_IMPORT.search("import FoundationEssentials\n")


def test_debug_binary_links_no_full_foundation():
    """A dynamically linked build lists every Swift library it needs, transitive
    packages included: libFoundation.so must not be among them."""
    binary = REPO / ".build/debug/autotaint"
    if not binary.exists():
        subprocess.run(["swift", "build", "--product", "autotaint"], cwd=REPO, check=True, capture_output=True)
    libraries = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
    assert "libFoundationEssentials.so" in libraries
    assert not re.search(r"\blibFoundation\.so\b", libraries), libraries
