"""Headless Chromium for the tests that look at the emulator's page as a browser builds it,
and a small DOM (the standard library's HTML parser) to ask it questions.

Chromium comes from the OS packages: `scripts/install-chromium.sh` (which `.ci/run` runs
first) finds it or installs it, and when it can do neither the test fails with its hint:
a page nobody loaded in a browser is not a checked page, so this test is never skipped.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL = REPO_ROOT / "scripts" / "install-chromium.sh"
# The flags that run Chromium here: as root, with no GPU, no display, no network of its own.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


def chromium_binary() -> str:
    """The browser's path, installed from the OS packages first when it is missing."""
    done = subprocess.run(
        ["sh", str(INSTALL)], capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode != 0:
        pytest.fail(
            "The emulator's page is tested in a real browser and no Chromium could be found "
            f"or installed: {done.stderr.strip()} (then run the tests again)",
            pytrace=False,
        )
    return done.stdout.strip().splitlines()[-1]


def dump_dom(chromium: str, url: str) -> str:
    """The DOM Chromium built from `url`, serialised (what a person's browser shows)."""
    with tempfile.TemporaryDirectory(prefix="ci-reviewer-chromium-") as profile:
        done = subprocess.run(
            [chromium, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0 and done.stdout.strip(), done.stderr[-2000:]
    return done.stdout


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def elements(self) -> list[Element]:
        return [c for c in self.children if isinstance(c, Element)]

    def walk(self) -> Iterator[Element]:
        yield self
        for child in self.elements():
            yield from child.walk()

    def find_all(self, tag: str, css: str | None = None, **attrs: str) -> list[Element]:
        return [
            e
            for e in self.walk()
            if e.tag == tag
            and (css is None or css in e.classes)
            and all(e.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def by_id(self, element_id: str) -> Element:
        [found] = [e for e in self.walk() if e.attrs.get("id") == element_id]
        return found


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in _VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(serialised: str) -> Element:
    """The tree of a DOM as Chromium serialised it (well-formed: the browser closed it)."""
    builder = _Builder()
    builder.feed(serialised)
    builder.close()
    return builder.root
