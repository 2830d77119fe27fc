"""The secret policy's rules, each against a hand-written expectation: the names it refuses
and why, the token formats it finds in content (in their documented shapes), what it must
let through (templates, public keys, certificates, code that only mentions a key header),
the config's exact allow list, and how that list is validated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci_reviewer.cli import main
from ci_reviewer.config import load_config, parse_config
from ci_reviewer.errors import ConfigError
from ci_reviewer.secret_policy import SecretPolicy, secret_by_content, secret_by_name, text_secret
from tests import secret_samples as fake

NAMES = [
    ("tests/.env", ".env"),
    ("deploy/.env.production", ".env.*"),
    ("docker/app.env", "*.env"),
    (".envrc", ".envrc"),
    ("tests/certs/server.pem", "*.pem"),
    ("tests/certs/SERVER.KEY", "*.key"),
    ("keys/client.p12", "*.p12"),
    ("keys/client.pfx", "*.pfx"),
    ("android/release.jks", "*.jks"),
    ("android/debug.keystore", "*.keystore"),
    ("home/id_rsa", "id_rsa*"),
    ("home/id_ed25519", "id_ed25519*"),
    (".npmrc", ".npmrc"),
    ("pkg/.pypirc", ".pypirc"),
    (".netrc", ".netrc"),
    ("win/_netrc", "_netrc"),
    (".git-credentials", ".git-credentials"),
    ("web/.htpasswd", ".htpasswd"),
    ("gcp/credentials.json", "credentials.json"),
    ("infra/prod.tfvars", "*.tfvars"),
    ("infra/terraform.tfstate.backup", "*.tfstate.*"),
    ("config/secrets.yml", "secrets.yml"),
    ("ops/.aws/credentials", ".aws/"),
    ("ops/.docker/config.json", ".docker/"),
    (".ssh/known_hosts", ".ssh/"),
]


@pytest.mark.parametrize(("path", "rule"), NAMES)
def test_each_secret_name_is_refused_with_the_rule_it_breaks(path: str, rule: str) -> None:
    assert secret_by_name(path) == f"secret by name: {rule}"


@pytest.mark.parametrize(
    "path",
    [
        # Templates: committed to document variables; judged by their content only.
        ".env.example",
        "app/.env.sample",
        ".env.template",
        ".env.dist",
        # Public halves and certificates are not secrets.
        "home/id_rsa.pub",
        "tests/certs/ca.crt",
        # Code that shares a stem with a secret file (Python's stdlib has a secrets.py).
        "ci_reviewer/secrets.py",
        "src/credentials.py",
        "docs/environment.md",
        "src/keys.py",
    ],
)
def test_names_that_are_not_secrets_pass(path: str) -> None:
    assert secret_by_name(path) is None


CONTENTS = [
    (f"TOKEN = '{fake.github_token()}'\n", "GitHub token"),
    (f"token: {fake.github_fine_grained()}\n", "GitHub token"),
    (f"aws_access_key_id = {fake.aws_key_id()}\n", "AWS access key id"),
    (f"SLACK={fake.slack_token()}\n", "Slack token"),
    (f"ANTHROPIC_API_KEY={fake.anthropic_key()}\n", "Anthropic API key"),
    (f'"{fake.openai_key()}"', "OpenAI API key"),
    (f"stripe.api_key = '{fake.stripe_key()}'", "Stripe live secret key"),
    (f"key={fake.google_key()}&q=1", "Google API key"),
    (f"//registry.npmjs.org/:_authToken={fake.npm_token()}\n", "npm access token"),
    (f"password = {fake.pypi_token()}\n", "PyPI upload token"),
    (fake.private_key(), "private key block"),
    (fake.private_key(label="OPENSSH PRIVATE KEY"), "private key block"),
    (fake.private_key(label="ENCRYPTED PRIVATE KEY"), "private key block"),
    (fake.private_key(label="PGP PRIVATE KEY BLOCK"), "private key block"),
    # A key inside a string literal with escaped newlines is still a key.
    ('KEY = "' + fake.private_key().replace("\n", "\\n") + '"\n', "private key block"),
]


@pytest.mark.parametrize(("text", "kind"), CONTENTS)
def test_each_documented_token_format_is_found_in_content(text: str, kind: str) -> None:
    assert secret_by_content(b"# config\n" + text.encode() + b"\nprint('done')\n") == (
        f"secret by content: {kind}"
    )


@pytest.mark.parametrize(
    "text",
    [
        "ghp_short and gh" + "p_" + "x" * 20,  # too short for a token
        "AKIA" + "IOSFODNN7EXAMPLE",  # AWS's documented example key (gitleaks allows it too)
        'if line.startswith("-----BEGIN ' + 'RSA PRIVATE KEY-----"):\n    parse(line)\n',
        fake.private_key(label="CERTIFICATE"),  # a certificate is public
        "sk-" + "ant-short",
        "def function_123456789012345678901234567890(value):\n",
        "npm_install_dependencies_for_the_whole_workspace_please",
    ],
)
def test_lookalikes_are_not_secrets(text: str) -> None:
    assert secret_by_content(text.encode()) is None


def test_the_allow_list_lets_exactly_its_paths_through() -> None:
    policy = SecretPolicy.of(["tests/fixtures/fake_key.pem"])
    key = fake.private_key().encode()

    assert policy.reason("tests/fixtures/fake_key.pem", key) is None
    assert policy.reason("tests/fixtures/other_key.pem", key) == "secret by name: *.pem"
    assert policy.reason("tests/fixtures/fake_key.pem.bak", key) == (
        "secret by content: private key block"
    )
    assert SecretPolicy().reason("tests/fixtures/fake_key.pem", key) == "secret by name: *.pem"


def test_the_config_takes_an_allow_list_at_the_top_level() -> None:
    config = parse_config("secrets:\n  allow:\n    - tests/fixtures/fake_key.pem\n", "c.yml")
    assert config.secret_policy == SecretPolicy.of(["tests/fixtures/fake_key.pem"])
    assert parse_config("", "c.yml").model_dump()["secrets"] == {"allow": []}


@pytest.mark.parametrize(
    ("entry", "where", "says"),
    [
        ('"tests/*.pem"', "c.yml:4:7", "is a pattern; list each allowed file by its exact path"),
        ("../outside.pem", "c.yml:4:7", "relative to the repository root"),
        ("/etc/ssl/key.pem", "c.yml:4:7", "relative to the repository root"),
        (".git/config", "c.yml:4:7", "inside .git"),
    ],
)
def test_a_bad_allow_entry_names_its_own_line(entry: str, where: str, says: str) -> None:
    text = f"secrets:\n  allow:\n    - tests/fixtures/fake_key.pem\n    - {entry}\n"
    with pytest.raises(ConfigError) as raised:
        parse_config(text, "c.yml")
    assert str(raised.value).startswith(f"{where}: secrets.allow.1: ")
    assert says in str(raised.value)


def test_an_unknown_key_under_secrets_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config("secrets:\n  alow: [a.pem]\n", "c.yml")
    assert str(raised.value).startswith("c.yml:2:3: unknown key 'alow' in secrets")
    assert "did you mean 'allow'?" in str(raised.value)


def test_config_check_shows_the_allow_list_in_the_effective_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.yml"
    config.write_text("secrets:\n  allow: [tests/fixtures/fake_key.pem]\n")
    with pytest.raises(SystemExit) as done:
        main(
            [
                "--workdir",
                str(tmp_path),
                "--config",
                str(config),
                "config",
                "check",
                "--format",
                "json",
            ]
        )
    assert done.value.code == 0
    assert json.loads(capsys.readouterr().out)["secrets"] == {
        "allow": ["tests/fixtures/fake_key.pem"]
    }


def test_the_config_init_writes_documents_the_allow_list_ready_to_uncomment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["init", "--workdir", str(tmp_path)])
    written = (tmp_path / ".github/ci-reviewer.yml").read_text()
    assert load_config(tmp_path / ".github/ci-reviewer.yml").secrets.allow == []
    uncommented = written.replace("# secrets:", "secrets:").replace("#   ", "  ")
    assert parse_config(uncommented, "c.yml").secrets.allow == ["tests/fixtures/fake_key.pem"]


def test_a_name_that_only_starts_like_a_secret_file_passes() -> None:
    # `service-account*.json` is the rule: the same start with another extension is not.
    assert secret_by_name("keys/service-account-notes.md") is None
    assert secret_by_name("keys/service-account-ci.json") == "secret by name: service-account*.json"


def test_a_key_block_at_the_second_byte_is_found() -> None:
    assert secret_by_content(b"\n" + fake.private_key().encode()) == (
        "secret by content: private key block"
    )


def test_text_with_undecodable_bytes_is_still_scanned() -> None:
    # A diff read with surrogateescape keeps a lone byte as a surrogate; the scan must not fail.
    text = f"token = '{fake.github_token()}'\n\udcff"

    assert text_secret(text) == "secret by content: GitHub token"
