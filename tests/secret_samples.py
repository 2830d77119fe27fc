"""Fake secrets in the documented shapes, built at run time: no literal token or key sits in
this repository's files, so neither a secret scanner (GitHub push protection) nor this
project's own policy, run on itself, meets one here. Every value is fake and unique, so a
test can look for it in what an emulator received."""

from __future__ import annotations

import hashlib

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def filler(seed: str, length: int, alphabet: str = BASE62) -> str:
    """`length` characters of `alphabet`, fixed by `seed` (random-looking, reproducible)."""
    out = []
    counter = 0
    while len(out) < length:
        digest = hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        out += [alphabet[byte % len(alphabet)] for byte in digest]
        counter += 1
    return "".join(out[:length])


def github_token(seed: str = "gh") -> str:
    return "gh" + "p_" + filler(seed, 36)


def github_fine_grained(seed: str = "ghf") -> str:
    return "github" + "_pat_" + filler(seed, 22) + "_" + filler(seed + "2", 59)


def npm_token(seed: str = "npm") -> str:
    return "npm" + "_" + filler(seed, 36)


def aws_key_id(seed: str = "aws") -> str:
    return "AK" + "IA" + filler(seed, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def slack_token(seed: str = "slack") -> str:
    digits = filler(seed, 23, "0123456789")
    return "xo" + "xb-" + digits[:10] + "-" + digits[10:] + "-" + filler(seed, 24)


def anthropic_key(seed: str = "ant") -> str:
    return "sk-" + "ant-api03-" + filler(seed, 93, BASE62 + "_-") + "AA"


def openai_key(seed: str = "oai") -> str:
    half = BASE62 + "_-"
    return "sk-" + "proj-" + filler(seed, 74, half) + "T3Blbk" + "FJ" + filler(seed + "2", 74, half)


def stripe_key(seed: str = "stripe") -> str:
    return "sk" + "_live_" + filler(seed, 24)


def google_key(seed: str = "google") -> str:
    return "AI" + "za" + filler(seed, 35, BASE62 + "_-")


def pypi_token(seed: str = "pypi") -> str:
    return "pypi-" + "AgEIcHlwaS5vcmc" + filler(seed, 70, BASE62 + "_-")


def private_key(seed: str = "pem", label: str = "RSA PRIVATE KEY") -> str:
    """A PEM block of the given label (its body is filler, not a key)."""
    body = "\n".join(filler(f"{seed}{n}", 64, BASE62 + "+/") for n in range(6))
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n"
