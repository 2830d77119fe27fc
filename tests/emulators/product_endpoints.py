"""Every GitHub REST endpoint the product calls, as GitHub's OpenAPI description names it,
with what the product reads from the answer and the recorded real exchanges that hold the
emulator to GitHub's own answer.

The list was read off the PyGithub calls in ci_reviewer/github/, ci_reviewer/batch/
store_github.py and ci_reviewer/cli/batch.py, and is kept honest by the suite: every request
the product sends to a GitHub emulator in any test is checked against it
(tests/emulators/product_calls.py), so a new call fails the test that makes it until it is
listed here.

`reads`: the response fields the product uses, through the attributes of the PyGithub
objects it gets back, plus the URLs PyGithub itself follows on its behalf (a pull request's
`url` is where its files and reviews are fetched from). A path reads `a.b` for a field of
an object, `[].a` for a field of every element of an array answer, `items[].a` inside a
wrapped array. `facts`: reads whose value follows from the request, as a format string over
the path parameters and `body` / `query` of the request (a format that names something the
request lacks does not apply to it). `identical`: reads that are content-addressed (a git
object's sha), so the emulator's value equals GitHub's for the same request.
"""

from __future__ import annotations

from dataclasses import dataclass

_ISSUE_COMMENT = ("[].id", "[].body", "[].html_url", "[].url")
_AUTHOR = ("[].user.login", "[].user.type", "[].author_association")
_CHECK_RUN = ("id", "html_url", "url", "output.annotations_count")


@dataclass(frozen=True)
class Endpoint:
    method: str
    template: str
    calls: str
    reads: tuple[str, ...] = ()
    facts: tuple[tuple[str, str], ...] = ()
    # Recorded exchanges replayed against the emulator (tests/emulators/test_recordings.py).
    recorded: tuple[str, ...] = ()
    # Reads whose value is content-addressed (a blob's sha): equal to the recording's.
    identical: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.template)

    @property
    def label(self) -> str:
        return f"{self.method} {self.template}"


R = "/repos/{owner}/{repo}"
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        R,
        "cli/batch.py, github/review_source.py: Github.get_repo; doctor (the token's access)",
        ("full_name", "default_branch", "url"),
        (("full_name", "{owner}/{repo}"),),
        (
            "octokit:get-repository#0",
            "pygithub:PullRequest.setUp.txt#0",
            "pygithub:Exceptions.testUnknownObject.txt#1",
        ),
    ),
    Endpoint(
        "GET",
        R + "/pulls/{pull_number}",
        "github/review_source.py load_pull: Repository.get_pull",
        (
            "number",
            "state",
            "merged",
            "title",
            "body",
            "html_url",
            "url",
            "issue_url",
            "head.sha",
            "head.ref",
            "head.repo.full_name",
            "base.sha",
        ),
        (("number", "{pull_number}"),),
        ("pygithub:PullRequest.testConvertToDraft.txt#0",),
    ),
    Endpoint(
        "GET",
        R + "/pulls/{pull_number}/files",
        "review_source.pull_source, publish_review (a refused comment): PullRequest.get_files",
        ("[].filename", "[].status", "[].patch", "[].changes", "[].previous_filename"),
        (),
        ("pygithub:PullRequest.testGetFiles.txt#0",),
    ),
    Endpoint(
        "GET",
        R + "/pulls/{pull_number}/comments",
        "publish_review.posted_fingerprints: PullRequest.get_review_comments",
        ("[].body", *_AUTHOR),
        (),
        ("pygithub:PullRequest.testGetReviewComments.txt#0",),
    ),
    Endpoint(
        "PUT",
        R + "/pulls/{pull_number}/reviews/{review_id}",
        "publish_review (the body GitHub kept of a refused review gets every finding): "
        "PullRequestReview.edit",
        ("id", "body"),
        (("id", "{review_id}"), ("body", "{body[body]}")),
        ("pygithub:PullRequestReview.testEdit.txt#0",),
    ),
    Endpoint(
        "GET",
        R + "/pulls/{pull_number}/reviews",
        "publish_review.posted_fingerprints and a review's resend check: PullRequest.get_reviews",
        ("[].id", "[].body", "[].html_url", *_AUTHOR),
        (),
        ("pygithub:PullRequestReview.testAttributes.txt#0",),
    ),
    Endpoint(
        "POST",
        R + "/pulls/{pull_number}/reviews",
        "publish_review.post_review: PullRequest.create_review; doctor (pull-requests: "
        "write, probed on pull request 0, which no repository has)",
        ("id", "html_url", "body"),
        (("body", "{body[body]}"), ("commit_id", "{body[commit_id]}")),
        ("pygithub:PullRequestReview.setUp.txt#0",),
    ),
    Endpoint(
        "GET",
        R + "/commits/{ref}",
        "flows.review_pr (the commit a review is on), checks (its check runs): "
        "Repository.get_commit; doctor (contents: read, the default branch's head)",
        ("sha", "url"),
        (("sha", "{ref}"),),
        ("pygithub:Commit.setUp.txt#2",),
    ),
    Endpoint(
        "GET",
        R + "/compare/{base}...{head}",
        "flows.review_pr (an incremental review's changed files): Repository.compare",
        ("status", "files[].filename"),
        (),
        ("pygithub:Repository.testCompare.txt#0",),
    ),
    Endpoint(
        "GET",
        R + "/tarball/{ref}",
        "evaluation/fetch.py (a dataset PR's fork point and head, as source archives; the "
        "302's Location is downloaded, as in the octokit get-archive recording): "
        "Repository.get_archive_link",
        (),
    ),
    Endpoint(
        "GET",
        R + "/issues/{issue_number}/comments",
        "summary.find_summary: PullRequest.get_issue_comments",
        (*_ISSUE_COMMENT, *_AUTHOR),
        (),
        ("pygithub:PaginatedList.testCustomPerPageReversedIterationSinglePage.txt#2",),
    ),
    Endpoint(
        "POST",
        R + "/issues/{issue_number}/comments",
        "summary.upsert_summary: PullRequest.create_issue_comment",
        ("id", "html_url", "url", "body"),
        (("body", "{body[body]}"),),
        ("pygithub:PullRequest.testCreateIssueComment.txt#0",),
    ),
    Endpoint(
        "PATCH",
        R + "/issues/comments/{comment_id}",
        "summary.upsert_summary: IssueComment.edit",
        ("id", "html_url", "body"),
        (("id", "{comment_id}"), ("body", "{body[body]}")),
        ("pygithub:IssueComment.testEdit.txt#0",),
    ),
    Endpoint(
        "GET",
        R + "/commits/{ref}/check-runs",
        "checks._existing: Commit.get_check_runs(check_name=...)",
        (
            "total_count",
            "check_runs[].id",
            "check_runs[].html_url",
            "check_runs[].url",
            "check_runs[].output.annotations_count",
        ),
        (("check_runs[].head_sha", "{ref}"), ("check_runs[].name", "{query[check_name]}")),
        ("pygithub:CheckRun.testGetCheckRunsForRefFilterByCheckName.txt#1",),
    ),
    Endpoint(
        "POST",
        R + "/check-runs",
        "checks._create: Repository.create_check_run; doctor (checks: write, probed with an "
        "empty body that GitHub refuses either way)",
        _CHECK_RUN,
        (
            ("name", "{body[name]}"),
            ("head_sha", "{body[head_sha]}"),
            ("status", "{body[status]}"),
            ("conclusion", "{body[conclusion]}"),
            ("output.title", "{body[output][title]}"),
        ),
        ("pygithub:CheckRun.testCreateCheckRunCompleted.txt#0",),
    ),
    Endpoint(
        "PATCH",
        R + "/check-runs/{check_run_id}",
        "checks._edit, checks._append: CheckRun.edit",
        _CHECK_RUN,
        (
            ("id", "{check_run_id}"),
            ("status", "{body[status]}"),
            ("conclusion", "{body[conclusion]}"),
            ("output.title", "{body[output][title]}"),
        ),
        ("pygithub:CheckRun.testUpdateCheckRunSuccess.txt#1",),
    ),
    Endpoint(
        "GET",
        R + "/check-runs/{check_run_id}",
        "checks._append (whether an edit's annotations landed): Repository.get_check_run",
        _CHECK_RUN,
        (("id", "{check_run_id}"),),
        ("pygithub:CheckRun.testCheckRunOutputAttributes.txt#0",),
    ),
    Endpoint(
        "GET",
        R + "/issues",
        "publish_issue._job_issues: Repository.get_issues(state=..., labels=[job])",
        ("[].number", "[].body", "[].html_url", "[].url"),
        (("[].state", "{query[state]}"),),
        ("pygithub:Repository.testGetIssuesWithArguments.txt#5", "octokit:paginate-issues#0"),
    ),
    Endpoint(
        "GET",
        R + "/issues/{issue_number}",
        "publish_issue._job_issues: Issue.pull_request (GitHub lists a plain issue without "
        "the key, so PyGithub completes the issue by fetching it)",
        ("number", "body", "html_url", "url", "pull_request"),
        (("number", "{issue_number}"),),
        (
            "pygithub:PaginatedList.testCustomPerPageReversedIterationSinglePage.txt#1",
            "pygithub:Issue572.testPullReqeustAsIssue.txt#1",
        ),
    ),
    Endpoint(
        "POST",
        R + "/issues",
        "publish_issue.publish: Repository.create_issue; doctor (issues: write, probed with "
        "an empty body)",
        ("number", "html_url", "url", "body"),
        (("title", "{body[title]}"), ("body", "{body[body]}")),
        ("pygithub:Issue87.testCreateIssueWithPercentInBody.txt#0",),
    ),
    Endpoint(
        "PATCH",
        R + "/issues/{issue_number}",
        "publish_issue.publish (a replayed collection): Issue.edit",
        ("number", "html_url", "body"),
        (("number", "{issue_number}"), ("title", "{body[title]}"), ("body", "{body[body]}")),
        ("pygithub:Issue.testEditWithAllParameters.txt#2",),
    ),
    Endpoint(
        "GET",
        R + "/labels/{name}",
        "publish_issue._label: Repository.get_label",
        ("name",),
        (("name", "{name}"),),
        ("octokit:labels#2",),
    ),
    Endpoint(
        "POST",
        R + "/labels",
        "publish_issue._create_label: Repository.create_label",
        ("name",),
        (("name", "{body[name]}"), ("color", "{body[color]}")),
        ("octokit:labels#1", "octokit:errors#0"),
    ),
    Endpoint(
        "GET",
        R + "/pulls",
        "publish_pr._find: Repository.get_pulls(state=..., sort=created, direction=desc); "
        "doctor (pull-requests: read)",
        ("[].number", "[].state", "[].body", "[].html_url", "[].url", "[].head.ref"),
        (("[].state", "{query[state]}"),),
        ("pygithub:Repository.testGetPullsWithArguments.txt#0",),
    ),
    Endpoint(
        "POST",
        R + "/pulls",
        "publish_pr._open: Repository.create_pull",
        ("number", "html_url", "url"),
        (("title", "{body[title]}"), ("body", "{body[body]}"), ("base.ref", "{body[base]}")),
        ("pygithub:Repository.testCreatePullWithHeadRepo.txt#0",),
    ),
    Endpoint(
        "PATCH",
        R + "/pulls/{pull_number}",
        "publish_pr.publish (an update or a replay): PullRequest.edit",
        ("number", "html_url", "head.ref"),
        (("number", "{pull_number}"), ("title", "{body[title]}"), ("body", "{body[body]}")),
        ("pygithub:PullRequest.testEditWithAllArguments.txt#0",),
    ),
    Endpoint(
        "GET",
        R + "/git/ref/{ref}",
        "publish_pr._commit_onto, store_github._ensure_branch, client.create_ref: get_git_ref",
        ("ref", "url", "object.sha"),
        (("ref", "refs/{ref}"),),
        ("pygithub:Repository.testGetGitRef.txt#0",),
    ),
    Endpoint(
        "GET",
        R + "/branches/{branch}",
        "publish_pr._commit_onto (the base branch's head): Repository.get_branch; doctor "
        "(whether the state branch exists and is protected)",
        ("name", "commit.sha", "protected"),
        (("name", "{branch}"),),
        ("pygithub:Branch.setUp.txt#4", "pygithub:PullRequest.testDeleteBranch.txt#4"),
    ),
    Endpoint(
        "GET",
        R + "/git/commits/{commit_sha}",
        "publish_pr._commit_onto (the parent and its tree): Repository.get_git_commit",
        ("sha", "tree.sha"),
        (("sha", "{commit_sha}"),),
        ("pygithub:GitCommit.setUp.txt#1",),
    ),
    Endpoint(
        "POST",
        R + "/git/blobs",
        "publish_pr._blob: Repository.create_git_blob",
        ("sha",),
        (),
        ("pygithub:Repository.testCreateGitBlob.txt#0",),
        identical=("sha",),
    ),
    Endpoint(
        "POST",
        R + "/git/trees",
        "publish_pr._commit_onto, store_github._ensure_branch: Repository.create_git_tree",
        ("sha",),
        (),
        ("pygithub:Repository.testCreateGitTree.txt#0",),
        identical=("sha",),
    ),
    Endpoint(
        "POST",
        R + "/git/commits",
        "publish_pr._commit, store_github._ensure_branch: Repository.create_git_commit",
        ("sha", "tree.sha"),
        (("message", "{body[message]}"), ("tree.sha", "{body[tree]}")),
        ("pygithub:Repository.testCreateGitCommit.txt#1",),
    ),
    Endpoint(
        "POST",
        R + "/git/refs",
        "client.create_ref: Repository.create_git_ref; doctor (contents: write, probed with "
        "an empty body)",
        ("ref", "object.sha"),
        (("ref", "{body[ref]}"), ("object.sha", "{body[sha]}")),
        ("pygithub:Repository.testCreateGitRef.txt#0",),
    ),
    Endpoint(
        "DELETE",
        R + "/git/refs/{ref}",
        "publish_pr (a pushed branch removed when no issue can hold its tests): GitRef.delete",
    ),
    Endpoint(
        "PATCH",
        R + "/git/refs/{ref}",
        "publish_pr._commit_onto (a job's open pull request gets one more commit): GitRef.edit",
        ("ref", "object.sha"),
        (("ref", "refs/{ref}"), ("object.sha", "{body[sha]}")),
        ("pygithub:GitRef.testExample.txt#6",),
    ),
    Endpoint(
        "GET",
        R + "/contents/{path}",
        "store_github.load: Repository.get_contents(path, ref=state branch); "
        "head_contents.ContentsAtCommit (the review's head without its git objects): "
        "Repository.get_contents(path, ref=head sha)",
        ("type", "sha", "encoding", "content", "path", "size", "[].name", "[].type"),
        (("path", "{path}"), ("type", "file"), ("encoding", "base64")),
        ("pygithub:Repository.testGetContents.txt#1",),
    ),
    Endpoint(
        "PUT",
        R + "/contents/{path}",
        "store_github.save: Repository.create_file / update_file",
        ("content.sha", "commit.sha"),
        (("content.path", "{path}"),),
        (
            "pygithub:Repository.testCreateFile.txt#0",
            "pygithub:Repository.testUpdateFile.txt#1",
            "octokit:create-file#0",
        ),
    ),
    Endpoint(
        "GET",
        R + "/git/blobs/{file_sha}",
        "store_github._content (a state file over 1 MB): Repository.get_git_blob",
        ("sha", "encoding", "content"),
        (("sha", "{file_sha}"), ("encoding", "base64")),
        ("pygithub:GitBlob.setUp.txt#2",),
    ),
)
DOCTOR: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        R + "/actions/permissions/workflow",
        "doctor/repo_checks.actions_pull_requests_check: whether GitHub Actions may open "
        "the pull requests of test-generation jobs",
        ("can_approve_pull_request_reviews",),
    ),
    Endpoint(
        "GET",
        R + "/branches/{branch}/protection",
        "doctor/repo_checks (the state branch's protection)",
        ("required_pull_request_reviews", "required_status_checks", "restrictions"),
        (),
        ("octokit:branch-protection#0", "pygithub:Branch.testRemoveProtection.txt#2"),
    ),
    Endpoint(
        "GET",
        R + "/rules/branches/{branch}",
        "doctor/repo_checks (the rulesets' rules on the state branch)",
        ("[].type", "[].ruleset_id", "[].ruleset_source"),
    ),
)
ENDPOINTS += DOCTOR
# GitHub's GraphQL API, one endpoint for every document: what the product asks and reads is
# held to GitHub's published schema instead (tests/emulators/graphql_schema.py).
GRAPHQL: tuple[Endpoint, ...] = (
    Endpoint(
        "POST",
        "/graphql",
        "github/review_threads.py: Requester.graphql_query (a pull request's review threads, "
        "paginated) and graphql_named_mutation (resolveReviewThread)",
        (
            "data.repository.pullRequest.reviewThreads.pageInfo.hasNextPage",
            "data.repository.pullRequest.reviewThreads.pageInfo.endCursor",
            "data.repository.pullRequest.reviewThreads.nodes[].id",
            "data.repository.pullRequest.reviewThreads.nodes[].isResolved",
            "data.repository.pullRequest.reviewThreads.nodes[].path",
            "data.repository.pullRequest.reviewThreads.nodes[].comments.pageInfo.hasNextPage",
            "data.repository.pullRequest.reviewThreads.nodes[].comments.nodes[].databaseId",
            "data.repository.pullRequest.reviewThreads.nodes[].comments.nodes[].author.login",
            "data.repository.pullRequest.reviewThreads.nodes[].comments.nodes[].url",
            "data.resolveReviewThread.thread.isResolved",
            "errors[].type",
        ),
    ),
)
ENDPOINTS += GRAPHQL
# `ci-reviewer answer`: a mention of the reviewer answered in its thread.
ANSWER: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        R + "/collaborators/{username}/permission",
        "github/answer_flow.py: Repository.get_collaborator_permission (write access?)",
        ("permission",),
        recorded=(
            "pygithub:Repository.testCollaboratorPermission.txt#0",
            "pygithub:Repository.testCollaboratorRoleName.txt#0",
            "pygithub:Repository.testCollaboratorPermissionNoPushAccess.txt#0",
        ),
    ),
    Endpoint(
        "GET",
        R + "/pulls/comments/{comment_id}",
        "github/answer_flow.py: PullRequest.get_review_comment (the thread's first comment)",
        ("body", "path", "diff_hunk", "user.login", "user.type", "author_association"),
        recorded=("pygithub:PullRequestComment.setUp.txt#2",),
    ),
    Endpoint(
        "POST",
        R + "/pulls/{pull_number}/comments/{comment_id}/replies",
        "github/answer_flow.py: PullRequest.create_review_comment_reply (the answer)",
        ("html_url",),
        recorded=(
            "pygithub:PullRequest1375.testCreateReviewCommentReply.txt#0",
            "pygithub:PullRequest1375.testCreateReviewCommentReply.txt#1",
        ),
    ),
)
ENDPOINTS += ANSWER
BY_KEY = {endpoint.key: endpoint for endpoint in ENDPOINTS}
