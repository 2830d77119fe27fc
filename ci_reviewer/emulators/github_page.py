"""A read-only web page of what the GitHub emulator holds, for someone trying `ci-reviewer
emulate`: pull requests with their reviews, inline comments under the diff lines they are
on, and conversation (the review's summary comment), check runs with their annotations,
issues, and the branches the product pushed.

`GET /_emulator/` answers the page; the `html_url`s the emulator hands out for a pull request
or an issue (`/{owner}/{repo}/pull/N`, `/{owner}/{repo}/issues/N`) redirect to its section,
so the links the product prints open in a browser. No key is asked (a browser has none),
nothing is written, and every value is escaped: what the page shows was written by a model
and by pull-request authors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import escape
from typing import Any

from ci_reviewer.emulators.github_pulls import head_sha, pull_files
from ci_reviewer.emulators.github_routes import Context
from ci_reviewer.emulators.server import Response

PAGE_PATH = "/_emulator/"
# Hidden markers (`<!-- ci-reviewer:summary -->`): GitHub renders them as nothing.
_HIDDEN = re.compile(r"<!--.*?-->", re.DOTALL)
_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    # Untrusted text on a page: no script, no remote anything, even if escaping ever failed.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 72em; color: #1f2328; }
h1, h2, h3 { margin: 1.2em 0 .4em; } section { margin-bottom: 2em; }
.box { border: 1px solid #d0d7de; border-radius: 6px; padding: .6em 1em; margin: .6em 0; }
.text { white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: 13px; }
.meta { color: #59636e; font-size: 13px; }
table.diff { border-collapse: collapse; width: 100%; font: 12px ui-monospace, monospace; }
table.diff td { padding: 0 .5em; vertical-align: top; white-space: pre-wrap; }
td.num { color: #59636e; text-align: right; width: 3em; user-select: none; }
tr.add { background: #e6ffec; } tr.del { background: #ffebe9; } tr.hunk { background: #ddf4ff; }
tr.inline-comment td { background: #fff8c5; font-family: system-ui, sans-serif; }
.resolved { color: #8250df; font-weight: 600; } .reply { color: #59636e; }
.failure { color: #d1242f; } .success { color: #1a7f37; } .neutral { color: #59636e; }
"""


def is_page(path: str, full_name: str) -> bool:
    """Whether a GET of `path` is for the page rather than the API."""
    return path.rstrip("/") == PAGE_PATH.rstrip("/") or _html_url(path, full_name) is not None


def _html_url(path: str, full_name: str) -> re.Match[str] | None:
    return re.fullmatch(rf"/{re.escape(full_name)}/(pull|issues)/(\d+)/?", path)


def answer(ctx: Context, path: str) -> Response:
    """The page, or a redirect from a pull request's or issue's html_url to its section."""
    found = _html_url(path, ctx.links.full_name)
    if found is None:
        return Response(200, render(ctx), dict(_HEADERS))
    number = int(found.group(2))
    kind = "pull" if number in ctx.state.pulls else "issue"
    return Response(302, b"", {"Location": f"{PAGE_PATH}#{kind}-{number}"})


def render(ctx: Context) -> str:
    """The whole page, from the emulator's state as it is now."""
    state = ctx.state
    name = escape(ctx.links.full_name)
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="en"><head><meta charset="utf-8"><title>{name}: emulated GitHub</title>',
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{name}</h1>",
        '<p class="meta">What the GitHub emulator of <code>ci-reviewer emulate</code> holds '
        "now (reload to see later changes). Read-only.</p>",
        _contents(ctx),
        '<section id="pulls"><h2>Pull requests</h2>',
        *(_pull(ctx, pull) for pull in _newest_first(state.pulls)),
        "</section>" if state.pulls else "<p>None.</p></section>",
        '<section id="issues"><h2>Issues</h2>',
        *(_issue(ctx, number, issue) for number, issue in _numbered(state.issues)),
        "</section>" if state.issues else "<p>None.</p></section>",
        '<section id="check-runs"><h2>Check runs</h2>',
        *(_check_run(ctx, run) for run in reversed(state.check_runs)),
        "</section>" if state.check_runs else "<p>None.</p></section>",
        _branches(ctx),
        "</body></html>",
    ]
    return "\n".join(parts)


def _contents(ctx: Context) -> str:
    links = [
        f'<a href="#pull-{p["number"]}">#{p["number"]} {escape(p["title"])}</a>'
        for p in _newest_first(ctx.state.pulls)
    ]
    links += [
        f'<a href="#issue-{number}">#{number} {escape(str(issue["title"]))}</a>'
        for number, issue in _numbered(ctx.state.issues)
    ]
    items = "".join(f"<li>{link}</li>" for link in links)
    return f"<nav><ul>{items}</ul></nav>" if items else ""


def _newest_first(pulls: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    return [pulls[n] for n in sorted(pulls, reverse=True)]


def _numbered(issues: dict[int, dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    return [(n, issues[n]) for n in sorted(issues, reverse=True)]


def _pull(ctx: Context, pull: dict[str, Any]) -> str:
    number = pull["number"]
    head = head_sha(ctx, pull)
    state = "merged" if pull.get("merged") else pull["state"]
    checks = [r for r in ctx.state.check_runs if r["head_sha"] == head]
    parts = [
        f'<article class="pull" id="pull-{number}">',
        f"<h3>#{number} {escape(pull['title'])}</h3>",
        f'<p class="meta">{escape(state)}: {escape(pull["user"])} wants to merge '
        f"<code>{escape(pull['head'])}</code> ({head[:7]}) into "
        f"<code>{escape(pull['base'])}</code></p>",
        _text_box(pull.get("body"), "description"),
    ]
    for run in checks:
        parts.append(
            f'<p class="check">Check <a href="#check-run-{run["id"]}">{escape(run["name"])}</a>'
            f": {_status(run)}</p>"
        )
    for review in ctx.state.reviews.get(number, []):
        parts.append(
            f'<div class="box review" id="review-{review["id"]}"><p class="meta">Review by '
            f"{escape(review['user']['login'])}: <strong>{escape(review['state'])}</strong> "
            f"on {escape(str(review.get('commit_id', ''))[:7])}</p>"
            f"{_text(review.get('body'))}</div>"
        )
    for comment in ctx.state.issue_comments.get(number, []):
        parts.append(_comment(comment, "conversation"))
    comments = ctx.state.review_comments.get(number, [])
    current = [c for c in comments if c.get("commit_id") == head]
    resolved = ctx.state.resolved_threads
    parts += [_file(change, current, resolved) for change in pull_files(ctx, pull)]
    outdated = [c for c in comments if c.get("commit_id") != head]
    if outdated:
        parts.append("<h4>Inline comments on earlier commits</h4>")
        parts += [
            _outdated_thread(root, outdated, resolved)
            for root in outdated
            if root.get("in_reply_to_id") is None
        ]
    parts.append("</article>")
    return "\n".join(p for p in parts if p)


def _file(change: Any, comments: list[dict[str, Any]], resolved: dict[int, str]) -> str:
    """One file of the diff: its lines, each followed by the inline comments on it."""
    on_file = [c for c in comments if c.get("path") == change.filename]
    rows = []
    for kind, old, new, text in _patch_rows(change.patch):
        css = {"+": "add", "-": "del", "@": "hunk"}.get(kind, "ctx")
        attrs = f' data-old="{old}"' if old is not None else ""
        attrs += f' data-new="{new}"' if new is not None else ""
        rows.append(
            f'<tr class="line {css}"{attrs}><td class="num">{old or ""}</td>'
            f'<td class="num">{new or ""}</td><td>{escape(text)}</td></tr>'
        )
        rows += [_inline_row(c, resolved) for c in on_file if _lands_on(c, old, new)]
    path = escape(change.filename)
    return (
        f'<div class="box file" data-path="{path}"><p><strong>{path}</strong> '
        f'<span class="meta">{escape(change.status)}, +{change.additions} '
        f"-{change.deletions}</span></p>"
        f'<table class="diff">{"".join(rows)}</table></div>'
    )


def _patch_rows(patch: str) -> Iterator[tuple[str, int | None, int | None, str]]:
    """(kind, old line, new line, text) for each line of a patch; kind "@" is a hunk header."""
    old = new = 0
    for text in patch.split("\n") if patch else []:
        header = _HUNK.match(text)
        if header:
            old, new = int(header.group(1)), int(header.group(2))
            yield "@", None, None, text
        elif text.startswith("+"):
            yield "+", None, new, text
            new += 1
        elif text.startswith("-"):
            yield "-", old, None, text
            old += 1
        elif text.startswith("\\"):
            yield "\\", None, None, text
        else:
            yield " ", old, new, text
            old, new = old + 1, new + 1


def _lands_on(comment: dict[str, Any], old: int | None, new: int | None) -> bool:
    """GitHub shows a comment under the (last) line it is on, on its side of the diff."""
    line = comment.get("line")
    return line is not None and line == (old if comment.get("side") == "LEFT" else new)


def _outdated_thread(
    root: dict[str, Any], comments: list[dict[str, Any]], resolved: dict[int, str]
) -> str:
    """A thread on a line the head no longer has, as GitHub's conversation shows it: the end
    of the diff hunk it was written on (its last line is the commented one), then the first
    comment and the replies to it, in order."""
    rows = [
        f'<tr class="line {"add" if kind == "+" else "del" if kind == "-" else "ctx"}">'
        f'<td class="num">{old or ""}</td><td class="num">{new or ""}</td>'
        f"<td>{escape(text)}</td></tr>"
        for kind, old, new, text in list(_patch_rows(str(root.get("diff_hunk") or "")))[-4:]
        if kind != "@"
    ]
    replies = [c for c in comments if c.get("in_reply_to_id") == root["id"]]
    path = escape(str(root["path"]))
    return (
        f'<div class="box thread outdated" id="thread-{root["id"]}" data-path="{path}" '
        f'data-line="{root.get("line")}"><p><strong>{path}</strong> '
        f'<span class="meta">outdated</span>{_resolution(root, resolved)}</p>'
        f'<table class="diff">{"".join(rows)}</table>'
        + "".join(_comment(c, "inline-comment outdated") for c in (root, *replies))
        + "</div>"
    )


def _resolution(comment: dict[str, Any], resolved: dict[int, str]) -> str:
    """A thread's state, shown on its first comment (replies are under it): GitHub folds a
    resolved thread away and says who resolved it; a reply says whom it answers."""
    if comment.get("in_reply_to_id") is not None:
        root = comment["in_reply_to_id"]
        return f' <span class="reply">in reply to <a href="#comment-{root}">a comment</a></span>'
    by = resolved.get(comment["id"])
    return f' <span class="resolved">resolved by {escape(by)}</span>' if by else ""


def _inline_row(comment: dict[str, Any], resolved: dict[int, str]) -> str:
    start, line = comment.get("start_line"), comment.get("line")
    where = f"lines {start}-{line}" if start and start != line else f"line {line}"
    return (
        f'<tr class="inline-comment" id="comment-{comment["id"]}" '
        f'data-path="{escape(str(comment["path"]))}" '
        f'data-line="{line}" data-side="{escape(str(comment.get("side")))}">'
        f'<td colspan="3"><p class="meta">{escape(comment["user"]["login"])} on {where}'
        f"{_resolution(comment, resolved)}</p>"
        f"{_text(comment['body'])}</td></tr>"
    )


def _comment(comment: dict[str, Any], css: str, thread: str = "") -> str:
    where = f" on {escape(str(comment['path']))}:{comment.get('line')}" if "path" in comment else ""
    return (
        f'<div class="box {css}" id="comment-{comment["id"]}"><p class="meta">'
        f"{escape(comment['user']['login'])}{where}, {escape(str(comment['updated_at']))}"
        f"{thread}</p>"
        f"{_text(comment['body'])}</div>"
    )


def _issue(ctx: Context, number: int, issue: dict[str, Any]) -> str:
    labels = ", ".join(escape(str(label["name"])) for label in issue.get("labels") or [])
    parts = [
        f'<article class="issue" id="issue-{number}">',
        f"<h3>#{number} {escape(str(issue['title']))}</h3>",
        f'<p class="meta">{escape(str(issue["state"]))}'
        f"{f'; labels: {labels}' if labels else ''}</p>",
        _text_box(issue.get("body"), "description"),
        *(_comment(c, "conversation") for c in ctx.state.issue_comments.get(number, [])),
        "</article>",
    ]
    return "\n".join(p for p in parts if p)


def _check_run(ctx: Context, run: dict[str, Any]) -> str:
    output = run.get("output") or {}
    notes = ctx.state.annotations.get(run["id"], [])
    rows = "".join(
        f'<tr class="annotation"><td>{escape(str(n["annotation_level"]))}</td>'
        f"<td><code>{escape(str(n['path']))}:{n['start_line']}"
        f"{'' if n['end_line'] == n['start_line'] else '-' + str(n['end_line'])}</code></td>"
        f"<td><strong>{escape(str(n.get('title') or ''))}</strong> "
        f"{escape(str(n['message']))}</td></tr>"
        for n in notes
    )
    return "\n".join(
        p
        for p in (
            f'<article class="check-run box" id="check-run-{run["id"]}">',
            f"<h3>{escape(str(run['name']))}: {_status(run)}</h3>",
            f'<p class="meta">on {escape(str(run["head_sha"]))[:7]}</p>',
            f"<p><strong>{escape(str(output.get('title') or ''))}</strong></p>",
            _text(output.get("summary")),
            _text(output.get("text")),
            f'<table class="annotations">{rows}</table>' if rows else "",
            "</article>",
        )
        if p
    )


def _status(run: dict[str, Any]) -> str:
    conclusion = run.get("conclusion")
    if conclusion is None:
        return f'<span class="neutral">{escape(str(run["status"]))}</span>'
    css = conclusion if conclusion in ("success", "failure") else "neutral"
    return f'<span class="{css}">{escape(str(conclusion))}</span>'


def _branches(ctx: Context) -> str:
    refs = ctx.git.refs("refs/heads/")
    rows = "".join(
        f"<li><code>{escape(ref.removeprefix('refs/heads/'))}</code> {sha[:7]}</li>"
        for ref, sha in sorted(refs.items())
    )
    return f'<section id="branches"><h2>Branches</h2><ul>{rows}</ul></section>'


def _text(value: Any) -> str:
    shown = _HIDDEN.sub("", str(value or "")).strip()
    return f'<div class="text">{escape(shown)}</div>' if shown else ""


def _text_box(value: Any, css: str) -> str:
    shown = _text(value)
    return f'<div class="box {css}">{shown}</div>' if shown else ""
