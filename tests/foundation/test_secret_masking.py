"""Masking the run's credentials in everything it writes: each secret variable's value becomes
`***` wherever it appears, a secret that contains another is masked whole, and values too
short to be a credential (which would mask ordinary words) are left alone."""

from __future__ import annotations

from ci_reviewer.secrets import Redactor

KEY = "anthropic-key-value-4567"
TOKEN = "github-token-value-0123"


def test_every_secret_variable_of_the_environment_is_masked_everywhere_it_appears() -> None:
    environ = {
        "ANTHROPIC_API_KEY": KEY,
        "ANTHROPIC_AUTH_TOKEN": "auth-token-value",
        "GITHUB_TOKEN": TOKEN,
        "GH_TOKEN": "gh-token-value",
        "HOME": "/var/runner",  # not a secret variable
    }
    redact = Redactor.from_environment(environ)

    text = f"key={KEY} auth=auth-token-value gh={TOKEN} cli=gh-token-value again {KEY} /var/runner"
    assert redact(text) == "key=*** auth=*** gh=*** cli=*** again *** /var/runner"


def test_an_environment_without_secrets_changes_nothing() -> None:
    redact = Redactor.from_environment({"HOME": "/var/runner"})

    assert redact.secrets == ()
    assert redact("nothing to hide") == "nothing to hide"


def test_a_secret_that_contains_another_is_masked_whole() -> None:
    # Whatever order the values come in: masking the inner one first would leave
    # "my-***-2", which still shows the outer secret's other characters.
    for values in (["secret-token", "my-secret-token-2"], ["my-secret-token-2", "secret-token"]):
        redact = Redactor.of(values)
        assert redact("a my-secret-token-2 b secret-token c") == "a *** b *** c"


def test_six_characters_is_the_shortest_value_masked() -> None:
    redact = Redactor.of(["abcdef", "abcde", "", "   "])

    assert redact("abcdef abcde") == "*** abcde"


def test_whitespace_around_a_value_is_not_part_of_the_secret() -> None:
    # A secret pasted into a repository setting often ends with a newline.
    redact = Redactor.of([f"  {KEY}\n"])

    assert redact(f"the key {KEY}.") == "the key ***."
