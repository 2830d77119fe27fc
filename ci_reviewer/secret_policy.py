"""The secret policy: which files must never leave the machine, by name and by content.

One rule set for everything that sends repository content to the model: the review's
read-only tools and its diff of the pull request, and every batch job's collection
(the files themselves and the imported modules attached as context). A refused file is
never read into a request; the caller counts it with the reason this module gives, which
names the rule (a file name pattern, a token format) and never the secret itself.

By name (a lowercased file name, or a directory anywhere on the path): `.env` files,
private keys and key stores, credential files of package managers, clouds and tools.
`.env.example`, `.env.sample`, `.env.template` and `.env.dist` are NOT secret by name:
they are committed on purpose to document variables, and the scanners this policy follows
(gitleaks, detect-secrets, trufflehog, GitHub secret scanning) exempt or target no file by
such a name: they decide by content. So these templates, like every other file, are still
scanned by content, and a real token pasted into one is refused. Public keys (`*.pub`)
are not secrets either.

By content: private key blocks and tokens whose format is documented well enough that a
match is a credential, not a coincidence (each rule cites where its shape comes from).
The scan runs over the bytes the caller already read. Python's `re` tries every branch
of an alternation at every offset (~8 MB/s for these rules, measured), so the rules are
split by a character every match must contain at a known place, a "pivot" (`_`, `-` or
`A`); each search starts with its pivot as a literal, which `re` skips to at memory speed,
and a pivot absent from the file (memchr) costs nothing.

`secrets.allow` in the config lists exact paths (fixtures with fake keys) that the policy
lets through; nothing else overrides it.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass

NAME_PREFIX = "secret by name: "
CONTENT_PREFIX = "secret by content: "

# Directories of credentials (and `.git`, the repository's internals, which the sandbox
# refuses on its own account): anything under them is refused.
SECRET_DIRECTORIES = (".ssh", ".aws", ".gnupg", ".docker", ".kube", ".azure")
# Lowercased file names (fnmatch patterns). Data formats only where a code file could
# share the stem: `secrets.py` is a module (Python's own stdlib has one), `secrets.yml` is
# where secrets live.
_DATA = ("yml", "yaml", "json", "toml", "ini", "cfg", "conf", "env", "txt", "xml", "csv")
SECRET_NAMES = (
    ".env",
    ".env.*",
    "*.env",
    ".envrc",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.p8",
    "*.ppk",
    "*.jks",
    "*.keystore",
    "*.kdbx",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".npmrc",
    ".pypirc",
    ".netrc",
    "_netrc",
    ".git-credentials",
    ".htpasswd",
    ".pgpass",
    ".vault-token",
    ".s3cfg",
    ".terraformrc",
    "terraform.rc",
    "*.tfvars",
    "*.tfstate",
    "*.tfstate.*",
    "credentials",
    *(f"credentials.{ext}" for ext in _DATA),
    *(f"secrets.{ext}" for ext in _DATA),
    "*.secret",
    "*.secrets",
    "service-account*.json",
)
# Committed on purpose, holding no values (see the module docstring): scanned by content only.
TEMPLATE_NAMES = frozenset({".env.example", ".env.sample", ".env.template", ".env.dist"})
# The patterns by shape, so that a name costs a set lookup and two C string tests (every
# tracked file of a large first run is judged; one fnmatch alternation took 3 us a name).
_EXACT = frozenset(p for p in SECRET_NAMES if "*" not in p)
_SUFFIXES = tuple(p[1:] for p in SECRET_NAMES if p.startswith("*") and "*" not in p[1:])
_PREFIXED = tuple(p for p in SECRET_NAMES if not p.startswith("*") and p.count("*") == 1)
_PREFIXES = tuple(p.partition("*")[0] for p in _PREFIXED)
_INFIX = ".tfstate."  # the one pattern open at both ends, `*.tfstate.*`
_PATTERNS = tuple(p for p in SECRET_NAMES if "*" in p)


def secret_by_name(path: str) -> str | None:
    """The rule a repository-relative path (`/`-separated) breaks by its name, if any."""
    directory, _, name = path.rpartition("/")
    if "." in directory:
        for part in directory.split("/"):
            if part.lower() in SECRET_DIRECTORIES:
                return f"{NAME_PREFIX}{part.lower()}/"
    lowered = name.lower()
    if lowered in _EXACT:
        return NAME_PREFIX + lowered
    if lowered in SECRET_DIRECTORIES:
        return f"{NAME_PREFIX}{lowered}/"
    if not (lowered.endswith(_SUFFIXES) or lowered.startswith(_PREFIXES) or _INFIX in lowered):
        return None
    if lowered in TEMPLATE_NAMES or lowered.endswith(".pub"):
        return None
    rule = next((p for p in _PATTERNS if fnmatch.fnmatchcase(lowered, p)), None)
    return None if rule is None else NAME_PREFIX + rule


# -- by content -------------------------------------------------------------------------------
# Each group's name is the reason's key (`_CONTENT_REASONS`). Shapes, with their sources:
# - private key blocks: gitleaks rule `private-key` (a PEM or PGP "PRIVATE KEY" header, a
#   body of at least 64 characters, then the matching footer); a header alone, as in code
#   that parses keys, is not a key.
# - GitHub: "Behind GitHub's new authentication token formats" (github.blog, 2021-04-05):
#   gh[pousr]_ and 36 base62 characters; fine-grained PATs github_pat_ + 22 + "_" + 59
#   (gitleaks `github-fine-grained-pat`, secretlint's sample token).
# - AWS access key ids: AKIA (long-term) / ASIA (temporary) + 16 of [A-Z2-7] (gitleaks
#   `aws-access-token`, which allowlists the documentation's ...EXAMPLE keys, as here).
# - Slack: xoxb-/xoxp- + digit groups, xoxa-/xoxr-, legacy xoxs- (gitleaks `slack-*`).
# - Anthropic: sk-ant-api03- / sk-ant-admin01- + 93 + "AA" (gitleaks `anthropic-*`).
# - OpenAI: sk-proj-/sk-svcacct-/sk-admin- keys and legacy sk- keys carry "T3BlbkFJ"
#   (base64 of "OpenAI") between two random halves (gitleaks `openai-api-key`).
# - Stripe: sk_live_ / rk_live_ secret and restricted keys (Stripe docs, "API keys";
#   gitleaks `stripe-access-token`); 24 characters or more, as Stripe issues them.
# - Google API keys: AIza + 35 of [\w-] (gitleaks `gcp-api-key`).
# - npm: npm_ + 36 (npm docs, "About access tokens"; gitleaks `npm-access-token`).
# - PyPI: macaroons start pypi-AgEIcHlwaS5vcmc ("pypi.org" encoded; PyPI docs, "API
#   tokens"; gitleaks `pypi-upload-token`).
_B62 = b"[0-9A-Za-z]"
_UNDERSCORED = re.compile(
    b"_" + _B62 + b"{24}(?:"
    b"(?P<github>(?<=gh[pousr]_" + _B62 + b"{24})" + _B62 + b"{12})"
    b"|(?P<github_fine>(?<=github_pat_" + _B62 + b"{22}_" + _B62 + b"{24})" + _B62 + b"{35})"
    b"|(?P<npm>(?<=npm_" + _B62 + b"{24})" + _B62 + b"{12})"
    b"|(?P<stripe>(?<=[sr]k_live_" + _B62 + b"{24}))"
    b")"
)
_DASHED = re.compile(
    rb"-(?:"
    rb"(?P<private_key>----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----[\s\S]{64,}?"
    rb"-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----)"
    rb"|(?P<slack>(?<=xox[bp]-)[0-9]{10,13}-[0-9]{10,13}"
    rb"|(?<=xox[ar]-)(?:[0-9]-)?[0-9A-Za-z]{8,48}"
    rb"|(?<=xoxs-)[0-9]{1,20}-[0-9]{1,20}-[0-9]{1,20}-[0-9a-fA-F]{1,80})"
    rb"|(?P<anthropic>(?<=sk-)ant-(?:api03|admin01)-[\w-]{93}AA)"
    rb"|(?P<openai>(?<=sk-)(?:proj|svcacct|admin)-(?:[\w-]{74}|[\w-]{58})T3BlbkFJ"
    rb"(?:[\w-]{74}|[\w-]{58})|(?<=sk-)[0-9A-Za-z]{20}T3BlbkFJ[0-9A-Za-z]{20})"
    rb"|(?P<pypi>(?<=pypi-)AgEIcHlwaS5vcmc[\w-]{50,1000})"
    rb")"
)
_CAPITAL_A = re.compile(
    rb"A(?<![0-9A-Za-z]A)(?:"
    rb"(?P<aws>(?:KIA|SIA)(?![A-Z2-7]{9}EXAMPLE)[A-Z2-7]{16}(?![0-9A-Za-z]))"
    rb"|(?P<google>Iza[\w-]{35})"
    rb")"
)
_SEARCHES = ((b"_", _UNDERSCORED.search), (b"-", _DASHED.search), (b"A", _CAPITAL_A.search))
_CONTENT_REASONS = {
    "private_key": "private key block",
    "github": "GitHub token",
    "github_fine": "GitHub token",
    "aws": "AWS access key id",
    "slack": "Slack token",
    "anthropic": "Anthropic API key",
    "openai": "OpenAI API key",
    "stripe": "Stripe live secret key",
    "google": "Google API key",
    "npm": "npm access token",
    "pypi": "PyPI upload token",
}


def secret_by_content(data: bytes) -> str | None:
    """The kind of secret `data` holds, if any (never the secret itself)."""
    find = data.find
    for pivot, search in _SEARCHES:
        start = find(pivot)
        if start == -1:
            continue
        match = search(data, start)
        if match is not None:
            return CONTENT_PREFIX + _CONTENT_REASONS[str(match.lastgroup)]
    return None


def text_secret(text: str) -> str | None:
    """`secret_by_content` of text (a diff, a PR description)."""
    return secret_by_content(text.encode("utf-8", "surrogateescape"))


def is_secret_reason(reason: str) -> bool:
    """Whether a skip reason is this policy's (for the tallies of what was withheld)."""
    return reason.startswith((NAME_PREFIX, CONTENT_PREFIX))


@dataclass(frozen=True)
class SecretPolicy:
    """The rules with the config's explicit exceptions (`secrets.allow`: exact paths)."""

    allow: frozenset[str] = frozenset()

    @classmethod
    def of(cls, allow: Iterable[str] = ()) -> SecretPolicy:
        return cls(frozenset(allow))

    def name_reason(self, path: str) -> str | None:
        if path in self.allow:
            return None
        return secret_by_name(path)

    def content_reason(self, path: str, data: bytes) -> str | None:
        if path in self.allow:
            return None
        return secret_by_content(data)

    def reason(self, path: str, data: bytes) -> str | None:
        """Why `path` with content `data` must not be sent, if it must not."""
        if path in self.allow:
            return None
        return secret_by_name(path) or secret_by_content(data)
