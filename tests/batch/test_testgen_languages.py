"""Test generation in each repository's own languages, on what a real dry run sends: attrs'
and json-schema-traverse's published sources (PyPI, npm) committed as they ship, and a
hand-made polyglot repository laid out as Python, Rust, Go, Java and TypeScript projects lay
themselves out. Every expected framework, example, fixture, path and command below was read
off the files by hand."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.batch.conftest import commit_files, git
from tests.external_data import REPO_ROOT

CORPUS = Path(
    os.environ.get("CI_REVIEWER_TESTGEN_CORPUS") or REPO_ROOT / ".ci-cache" / "testgen-corpus"
)
PREFIX = "noise: "


def dry_run(repo: Path, job: str, out: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The JSON of a real `batch submit --dry-run` subprocess, and the user message of each
    request it wrote, by source path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC", "GITHUB"))}
    args = [sys.executable, "-m", "ci_reviewer", "--workdir", str(repo), "batch", "submit"]
    args += ["--job", job, "--dry-run", "--requests-file", str(out), "--format", "json"]
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    messages = {}
    for line in out.read_text().splitlines():
        params = json.loads(line)["params"]
        content = params["messages"][0]["content"]
        # Sent shared-first for caching: the file's own part is the last block.
        text = content if isinstance(content, str) else content[-1]["text"]
        source = text.split("\n", 1)[0].removeprefix("Write tests for ").removesuffix(".")
        messages[source] = text
    return json.loads(done.stdout), messages


def committed(tmp_path: Path, project: str, config: str) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(CORPUS / project, repo)
    (repo / ".github").mkdir(exist_ok=True)
    (repo / ".github/ci-reviewer.yml").write_text(config)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "sdist")
    return repo


def example_of(message: str) -> str | None:
    if '<example path="' not in message:
        return None
    return message.split('<example path="', 1)[1].split('"', 1)[0]


def test_attrs_gets_pytest_its_nearest_test_and_its_root_conftest_fixtures(
    tmp_path: Path,
) -> None:
    config = "jobs:\n  tests:\n    kind: test-generation\n    include: ['src/attr/**']\n"
    repo = committed(tmp_path, "attrs-24.2.0", config)
    _, messages = dry_run(repo, "tests", tmp_path / "requests.jsonl")

    message = messages["src/attr/validators.py"]
    # attrs' pyproject.toml lists pytest among its test dependencies.
    assert "Language: Python. Test framework: pytest (pytest named in pyproject.toml)." in message
    assert "target_path `test_validators.py` (tests/generated/test_validators.py" in message
    assert "run from the repository root with: python -m pytest -q " in message
    # Nothing sits in src/attr/ or src/: the nearest tests are tests/test_*.py, one level
    # below the root (never typing-examples/, bench/ or docs/).
    example = example_of(message)
    assert example is not None and example.startswith("tests/test_") and example.count("/") == 1
    shown = message.split("\n</example>", 1)[0].split(">\n", 1)[1]
    assert (repo / example).read_text().startswith(shown)
    # attrs' conftest.py at the root names its fixtures with `name=`: slots and frozen.
    assert "<fixtures>\nconftest.py:\n  slots(request)\n  frozen(request)\n</fixtures>" in message
    assert all("Test framework: pytest" in m for m in messages.values())


def test_json_schema_traverse_gets_mocha_its_spec_and_never_its_fixture(tmp_path: Path) -> None:
    config = (
        "jobs:\n  tests:\n    kind: test-generation\n    include: ['index.js']\n"
        "  beside:\n    kind: test-generation\n    include: ['index.js']\n    output_dir: .\n"
    )
    repo = committed(tmp_path, "json-schema-traverse-1.0.0", config)
    _, messages = dry_run(repo, "tests", tmp_path / "a.jsonl")

    message = messages["index.js"]
    # package.json's test script runs `npm run test-spec`, which runs `mocha spec -R spec`.
    assert "Test framework: mocha (a script in package.json runs mocha)." in message
    # Its only test is spec/index.spec.js; spec/fixtures/schema.js is data, not a test.
    assert example_of(message) == "spec/index.spec.js"
    assert "target_path `index.spec.js` (tests/generated/index.spec.js" in message
    assert "the file under test is ../../index.js" in message
    assert "npx --no -- mocha tests/generated/index.spec.js" in message

    # With the whole repository allowed, the test joins spec/ as x.spec.js; the name is
    # taken by the maintainers' own test, so it gets a generated variant.
    _, messages = dry_run(repo, "beside", tmp_path / "b.jsonl")
    assert "target_path `spec/index.generated.spec.js`" in messages["index.js"]


NOTE = "Tiny helper so that the example test below is long enough to be substantial.\n"
SMOKE = (
    '"""Smoke tests run on every commit."""\n\nfrom shop.cart import total\n\n\n'
    "def test_total_of_nothing_is_zero():\n    assert total([]) == 0\n\n\n"
    "def test_total_adds_prices():\n    assert total([1, 2]) == 3\n    # " + NOTE
)
RATES = SMOKE.replace("Smoke tests run on every commit", "Rates, tested beside the module")
BROKEN = "def test_broken(:\n    # a fixture kept broken on purpose for the linter's tests\n" + (
    "    pass\n" * 15
)
TUTORIAL = '"""Step 1 of the tutorial."""\n\n\ndef test_hello():\n    assert True\n' + "#\n" * 80
CONFTEST = '''import pytest


@pytest.fixture
def cart():
    return []


@pytest.fixture(scope="session", name="catalog")
def _catalog(tmp_path_factory):
    """A catalog of three items."""
    return ["a", "b", "c"]
'''
UNIT_CONFTEST = (
    "import pytest\n\n\n@pytest.fixture(autouse=True)\ndef no_network(monkeypatch):\n"
    "    monkeypatch.delenv('HTTP_PROXY', raising=False)\n"
)
RUST_TEST = (
    "use geo_shapes::area::square;\n\n#[test]\nfn perimeter_of_a_unit_square() {\n"
    "    assert_eq!(square(1.0) * 4.0, 4.0);\n}\n" + "// " + NOTE * 3
)
GO_TEST = (
    'package inventory\n\nimport "testing"\n\nfunc TestStockStartsEmpty(t *testing.T) {\n'
    '\tif NewStock().Count() != 0 {\n\t\tt.Fatal("not empty")\n\t}\n}\n' + "// " + NOTE * 2
)
JAVA_TEST = (
    "package com.acme.billing;\n\nimport org.junit.jupiter.api.Test;\n"
    "import static org.junit.jupiter.api.Assertions.assertEquals;\n\nclass TaxTest {\n"
    "    @Test\n    void zeroRate() {\n        assertEquals(0, new Tax(0).of(100));\n    }\n}\n"
)
TS_TEST = (
    "import { cartTotal } from '../cart';\n\ndescribe('cartTotal', () => {\n"
    "  it('adds prices', () => {\n    expect(cartTotal([1, 2])).toBe(3);\n  });\n});\n"
    + "// "
    + NOTE * 2
)
POM = (
    "<project><modelVersion>4.0.0</modelVersion><groupId>com.acme</groupId>"
    "<artifactId>billing</artifactId><version>1</version><dependencies><dependency>"
    "<groupId>org.junit.jupiter</groupId><artifactId>junit-jupiter</artifactId>"
    "<version>5.10.2</version><scope>test</scope></dependency></dependencies></project>\n"
)
POLYGLOT: dict[str, str | bytes] = {
    "pyproject.toml": '[project]\nname = "shop"\n\n[project.optional-dependencies]\n'
    'test = ["pytest>=8"]\n',
    "src/shop/__init__.py": "",
    "src/shop/cart.py": "def total(prices):\n    return sum(prices)\n",
    "src/shop/pricing/discount.py": "def off(price, pct):\n    return price * (100 - pct) / 100\n",
    "src/shop/pricing/test_rates.py": RATES,
    "tools/report.py": "def report(rows):\n    return len(rows)\n",
    "tests/conftest.py": CONFTEST,
    "tests/test_smoke.py": SMOKE,
    "tests/test_tiny.py": "def test_x():\n    pass\n",
    "tests/test_broken_on_purpose.py": BROKEN,
    "tests/unit/conftest.py": UNIT_CONFTEST,
    "examples/test_tutorial.py": TUTORIAL,
    "bin/deploy": "#!/usr/bin/env python3\nprint('deploying')\n",
    "bin/cleanup": "#!/bin/sh\nrm -rf build\n",
    "lib/tool.rb": "def tool\n  42\nend\n",
    "Cargo.toml": '[workspace]\nmembers = ["crates/geo"]\n',
    "crates/geo/Cargo.toml": '[package]\nname = "geo-shapes"\nversion = "0.1.0"\n',
    "crates/geo/src/lib.rs": "pub mod area;\n",
    "crates/geo/src/area.rs": "pub fn square(side: f64) -> f64 {\n    side * side\n}\n\n"
    "#[cfg(test)]\nmod tests {\n    #[test]\n    fn one() {\n"
    "        assert_eq!(super::square(1.0), 1.0);\n    }\n}\n",
    "crates/geo/tests/perimeter.rs": RUST_TEST,
    "go.mod": "module example.com/shop\n\ngo 1.22\n",
    "inventory/stock.go": "package inventory\n\ntype Stock struct{ n int }\n\n"
    "func NewStock() *Stock { return &Stock{} }\n\nfunc (s *Stock) Count() int { return s.n }\n",
    "inventory/stock_test.go": GO_TEST,
    "inventory/reserve.go": "package inventory\n\nfunc Reserve(s *Stock) { s.n++ }\n",
    "billing/pom.xml": POM,
    "billing/src/main/java/com/acme/billing/Invoice.java": "package com.acme.billing;\n\n"
    "public class Invoice {\n    public int total() { return 0; }\n}\n",
    "billing/src/test/java/com/acme/billing/TaxTest.java": JAVA_TEST,
    "web/package.json": '{"scripts": {"test": "jest"}, "devDependencies": {"jest": "^29"}}\n',
    "web/src/cart.ts": "export const cartTotal = (p: number[]) => p.reduce((a, b) => a + b, 0);\n",
    "web/src/price.ts": "export const withTax = (p: number) => p * 1.2;\n",
    "web/src/__tests__/cart.test.ts": TS_TEST,
}
POLYGLOT_CONFIG = """\
jobs:
  tests:
    kind: test-generation
  everywhere:
    kind: test-generation
    output_dir: .
"""


@pytest.fixture
def polyglot(repo: Path) -> Path:
    commit_files(repo, {**POLYGLOT, ".github/ci-reviewer.yml": POLYGLOT_CONFIG}, "polyglot")
    return repo


def test_each_file_is_prompted_in_its_own_projects_framework_where_it_puts_tests(
    polyglot: Path, tmp_path: Path
) -> None:
    _, messages = dry_run(polyglot, "everywhere", tmp_path / "requests.jsonl")

    rust = messages["crates/geo/src/area.rs"]
    assert "Language: Rust. Test framework: cargo test (crates/geo/Cargo.toml declares" in rust
    assert "target_path `crates/geo/tests/area.rs`" in rust
    assert "`use geo_shapes::...`" in rust
    assert "cargo test --test area (in crates/geo)" in rust
    assert example_of(rust) == "crates/geo/tests/perimeter.rs"
    # lib.rs is the crate itself: its integration test is named after the crate.
    assert "target_path `crates/geo/tests/geo_shapes.rs`" in messages["crates/geo/src/lib.rs"]

    go = messages["inventory/reserve.go"]
    assert "Language: Go. Test framework: go test (go.mod (module example.com/shop))." in go
    assert "target_path `inventory/reserve_test.go`" in go and "package inventory." in go
    assert "go test ./inventory" in go
    assert example_of(go) == "inventory/stock_test.go"
    # stock_test.go is the maintainers' own: the generated one takes another name.
    assert "target_path `inventory/stock_generated_test.go`" in messages["inventory/stock.go"]

    java = messages["billing/src/main/java/com/acme/billing/Invoice.java"]
    assert "Test framework: JUnit 5 (JUnit 5 in billing/pom.xml)." in java
    assert "target_path `billing/src/test/java/com/acme/billing/InvoiceTest.java`" in java
    assert "mvn -q test -Dtest=InvoiceTest (in billing)" in java
    assert example_of(java) == "billing/src/test/java/com/acme/billing/TaxTest.java"

    ts = messages["web/src/price.ts"]
    assert "Language: TypeScript. Test framework: jest (web/package.json scripts.test" in ts
    assert "target_path `web/src/__tests__/price.test.ts`" in ts
    assert "npx --no -- jest src/__tests__/price.test.ts (in web)" in ts
    assert example_of(ts) == "web/src/__tests__/cart.test.ts"

    # An extensionless script is Python by its shebang.
    assert "Language: Python. Test framework: pytest" in messages["bin/deploy"]
    # output_dir holds tests/: the test goes there, as the project's own do.
    assert "target_path `tests/test_deploy.py`" in messages["bin/deploy"]
    for source, message in messages.items():
        assert "python tests use" not in message, source


def test_the_example_is_the_nearest_real_test_never_a_fixture_or_tutorial(
    polyglot: Path, tmp_path: Path
) -> None:
    _, messages = dry_run(polyglot, "tests", tmp_path / "requests.jsonl")

    # The same directory first.
    assert example_of(messages["src/shop/pricing/discount.py"]) == "src/shop/pricing/test_rates.py"
    # From src/shop/, the test one folder below it is nearer than anything under tests/.
    assert example_of(messages["src/shop/cart.py"]) == "src/shop/pricing/test_rates.py"
    # From tools/, the walk reaches the root: examples/test_tutorial.py (a tutorial) and
    # tests/test_broken_on_purpose.py (does not parse) are passed over, test_tiny.py is
    # too short to show anything, so tests/test_smoke.py.
    report = messages["tools/report.py"]
    assert example_of(report) == "tests/test_smoke.py"
    assert SMOKE in report
    # The fixtures that apply at tests/generated/: tests/conftest.py's, not tests/unit/'s.
    fixtures = report.split("<fixtures>\n", 1)[1].split("\n</fixtures>", 1)[0]
    assert fixtures == (
        "tests/conftest.py:\n  cart()\n"
        "  catalog(tmp_path_factory) [scope=session]: A catalog of three items."
    )


def test_files_without_a_framework_or_a_place_are_skipped_with_the_reason(
    polyglot: Path, tmp_path: Path
) -> None:
    result, messages = dry_run(polyglot, "tests", tmp_path / "requests.jsonl")
    skipped = {r: n for r, n in result["skipped"].items() if r.startswith(PREFIX)}

    assert skipped[PREFIX + "no test framework detected for Ruby files"] == 1  # lib/tool.rb
    assert skipped[PREFIX + "no test framework detected for shell files"] == 1  # bin/cleanup
    # pyproject.toml, both Cargo.toml, go.mod, pom.xml, package.json, the job's config
    assert skipped[PREFIX + "no test framework for a file of unknown language"] == 7
    # cargo does not look in tests/generated: lib.rs, area.rs, perimeter.rs
    cargo = (
        "cargo runs integration tests only from crates/geo/tests/, outside output_dir "
        "tests/generated; set output_dir: crates/geo/tests to generate them"
    )
    assert skipped[PREFIX + cargo] == 3
    maven = (
        "Maven compiles tests only from billing/src/test/java/, outside output_dir "
        "tests/generated; set output_dir: billing/src/test/java to generate them"
    )
    assert skipped[PREFIX + maven] == 1
    for source in ("lib/tool.rb", "bin/cleanup", "go.mod", "crates/geo/src/area.rs"):
        assert source not in messages
    # Go, outside its package's folder: an external test package under output_dir.
    go = messages["inventory/reserve.go"]
    assert "target_path `inventory/reserve_test.go` (tests/generated/inventory/" in go
    assert 'package inventory_test) that imports "example.com/shop/inventory"' in go
    assert "go test ./tests/generated/inventory" in go
    # TypeScript: its __tests__ folder is outside output_dir, so the test goes there.
    ts = messages["web/src/price.ts"]
    assert "target_path `price.test.ts`" in ts and "under test is ../../web/src/price.ts" in ts
