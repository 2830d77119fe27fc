"""Check runs: create, edit (annotations arrive in chunks of at most 50), list, annotations.
Every refusal is one of GitHub's recorded answers (`github_answers`)."""

from __future__ import annotations

from typing import Any

from ci_reviewer.emulators.github_answers import answer
from ci_reviewer.emulators.github_routes import (
    Context,
    Router,
    invalid_field,
    json_body,
    not_found,
    paginate,
)
from ci_reviewer.emulators.server import Request, Response

router = Router()
MAX_ANNOTATIONS_PER_REQUEST = 50
_LEVELS = {"notice", "warning", "failure"}


def _find(ctx: Context, run_id: int) -> dict[str, Any] | None:
    return next((run for run in ctx.state.check_runs if run["id"] == run_id), None)


def _apply(ctx: Context, run: dict[str, Any], data: dict[str, Any]) -> Response | None:
    """Apply a create/update body to `run`; a Response when GitHub would refuse it."""
    output = data.get("output") or {}
    annotations = output.get("annotations") or []
    if len(annotations) > MAX_ANNOTATIONS_PER_REQUEST:
        return answer("check-run-too-many-annotations", supplied=str(len(annotations)))
    for note in annotations:
        missing = [k for k in ("path", "start_line", "end_line", "message") if k not in note]
        if missing or note.get("annotation_level") not in _LEVELS:
            return invalid_field("CheckRun", missing[0] if missing else "annotation_level")
    for key in ("name", "details_url", "external_id", "started_at", "completed_at"):
        if key in data:
            run[key] = data[key]
    if data.get("conclusion"):
        run["conclusion"] = data["conclusion"]
        run["status"] = "completed"
        run["completed_at"] = run["completed_at"] or ctx.now()
    elif data.get("status"):
        run["status"] = data["status"]
    for key in ("title", "summary", "text"):
        if key in output:
            run["output"][key] = output[key]
    stored = ctx.state.annotations.setdefault(run["id"], [])
    stored.extend(_annotation(ctx, run, note) for note in annotations)
    run["output"]["annotations_count"] = len(stored)
    return None


def _annotation(ctx: Context, run: dict[str, Any], note: dict[str, Any]) -> dict[str, Any]:
    return {
        "path": note["path"],
        "blob_href": f"{ctx.links.html}/blob/{run['head_sha']}/{note['path']}",
        "start_line": note["start_line"],
        "end_line": note["end_line"],
        "start_column": note.get("start_column"),
        "end_column": note.get("end_column"),
        "annotation_level": note["annotation_level"],
        "title": note.get("title"),
        "message": note["message"],
        "raw_details": note.get("raw_details"),
    }


@router.add("POST", r"/check-runs")
def create_check_run(ctx: Context, request: Request, _: dict[str, str]) -> Response:
    data = json_body(request)
    for key in ("name", "head_sha"):
        if not data.get(key):
            return invalid_field("CheckRun", key)
    if ctx.git.object_type(str(data["head_sha"])) != "commit":
        return answer("commit-sha-missing", sha=str(data["head_sha"]))
    run_id = ctx.state.new_id()
    url = f"{ctx.links.api}/check-runs/{run_id}"
    run: dict[str, Any] = {
        "id": run_id,
        "node_id": f"CR_{run_id}",
        "head_sha": data["head_sha"],
        "external_id": "",
        "url": url,
        "html_url": f"{ctx.links.html}/runs/{run_id}",
        "details_url": None,
        "status": "queued",
        "conclusion": None,
        "started_at": ctx.now(),
        "completed_at": None,
        "name": data["name"],
        "check_suite": {"id": stable_suite_id(run_id)},
        "output": {
            "title": None,
            "summary": None,
            "text": None,
            "annotations_count": 0,
            "annotations_url": f"{url}/annotations",
        },
        "app": None,
        "pull_requests": [],
    }
    refused = _apply(ctx, run, data)
    if refused is not None:
        return refused
    ctx.state.check_runs.append(run)
    return Response(201, run)


def stable_suite_id(run_id: int) -> int:
    return 10_000 + run_id


@router.add("PATCH", r"/check-runs/(?P<id>\d+)")
def update_check_run(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    run = _find(ctx, int(params["id"]))
    if run is None:
        return not_found()
    refused = _apply(ctx, run, json_body(request))
    return refused or Response(200, run)


@router.add("GET", r"/check-runs/(?P<id>\d+)")
def read_check_run(ctx: Context, _: Request, params: dict[str, str]) -> Response:
    run = _find(ctx, int(params["id"]))
    return Response(200, run) if run else not_found()


@router.add("GET", r"/check-runs/(?P<id>\d+)/annotations")
def list_annotations(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    run = _find(ctx, int(params["id"]))
    if run is None:
        return not_found()
    return paginate(ctx, request, ctx.state.annotations.get(run["id"], []))


@router.add("GET", r"/commits/(?P<ref>[^/]+)/check-runs")
def list_for_ref(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    sha = ctx.git.resolve(params["ref"])
    if sha is None:
        return not_found()
    name = request.param("check_name")
    runs = [
        r
        for r in ctx.state.check_runs
        if r["head_sha"] == sha and (name is None or r["name"] == name)
    ]
    runs.reverse()  # newest first, as GitHub lists them
    found = runs

    def wrap(items: list[Any]) -> dict[str, Any]:
        return {"total_count": len(found), "check_runs": items}

    return paginate(ctx, request, runs, wrap)
