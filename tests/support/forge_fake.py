#!/usr/bin/env python3
"""A fake of the GitHub REST API and the GitLab REST API (v4), for exactly the endpoints scoreline
uses, answering with complete bodies: GitHub's from the examples of its OpenAPI description
(github/examples.json, from npm `@octokit/openapi`), GitLab's as its REST documentation shows.

Usage: forge_fake.py CONFIG_JSON LOG_FILE PORT_FILE

CONFIG_JSON (read at start): {"user": "LOGIN" | null (GET /user answers 403, as for a workflow's
GITHUB_TOKEN), "seed_comments": N (comments by someone else already on every pull request),
"merge_after": N (a pull/merge request reads as merged from its Nth GET on),
"faults": [{"method": M, "path": REGEX, "status": S, "headers": {...}, "times": N,
"echo_auth_at": C (optional: an HTML body echoing the credential header from character C)}]}.
Every request is logged to LOG_FILE as a JSON line {method, path, auth, body, status, response}
as it is answered (github_openapi_check.py checks the GitHub answers against GitHub's OpenAPI
description).
Listens on a free loopback port and writes it to PORT_FILE when ready.
"""

import copy
import json
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from serve import serve

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = json.load(open(os.path.join(HERE, "github", "examples.json")))
CONFIG = json.load(open(sys.argv[1]))
LOG = open(sys.argv[2], "a", buffering=1)
PORT_FILE = sys.argv[3]
LOCK = threading.Lock()
STATE = {"next_id": 1000, "comments": {}, "pulls": [], "gets": {}, "deployments": []}
OTHER = "someone-else"


def next_id():
    STATE["next_id"] += 1
    return STATE["next_id"]


def gh_user(login, kind="User"):
    user = copy.deepcopy(EXAMPLES["issue-comment"]["user"])
    user.update(login=login, type=kind)
    return user


def gh_comment(base, number, cid, body, login, kind="User"):
    c = copy.deepcopy(EXAMPLES["issue-comment"])
    c.update(id=cid, body=body, user=gh_user(login, kind))
    c["url"] = f"{base}/repos/o/r/issues/comments/{cid}"
    c["html_url"] = f"https://github.com/o/r/pull/{number}#issuecomment-{cid}"
    return c


def comments_of(number):
    if number not in STATE["comments"]:
        STATE["comments"][number] = [
            {"id": next_id(), "body": f"comment {i} <!-- scoreline:deploy:throwaway -->" if i == 3 else f"comment {i}", "login": OTHER}
            for i in range(CONFIG.get("seed_comments", 0))
        ]
    return STATE["comments"][number]


def gl_user():
    """A user as GitLab's REST API embeds one (an author, a merger)."""
    return {"id": 1, "username": me(), "name": "Scoreline Bot", "state": "active", "locked": False, "avatar_url": "https://gitlab.example.com/uploads/avatar.png", "web_url": f"https://gitlab.example.com/{me()}"}


def me():
    return CONFIG.get("user")


def author_kind():
    return ("github-actions[bot]", "Bot") if me() is None else (me(), "User")


class Fake(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        if not raw:
            return raw, {}
        if "json" in (self.headers.get("Content-Type") or "") or raw.startswith("{"):
            return raw, json.loads(raw)
        return raw, {k: v[0] for k, v in parse_qs(raw).items()}

    def answer(self, status, value, headers=None):
        LOG.write(json.dumps({**self.logged, "status": status, "response": value}) + "\n")
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def echo_auth(self, status, at):
        """An HTML error page (as a proxy in front of the forge answers) that echoes the request's
        credential header, starting at character `at` of the body."""
        LOG.write(json.dumps({**self.logged, "status": status, "response": "(an HTML page)"}) + "\n")
        auth = self.headers.get("Authorization") or self.headers.get("PRIVATE-TOKEN") or ""
        head = "<html><body><h1>Unprocessable</h1><pre>"
        data = (head + "." * max(0, at - len(head) - 15) + "Authorization: " + auth + "</pre></body></html>").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        raw, body = self.body()
        url = urlparse(self.path)
        self.logged = {"method": self.command, "path": self.path, "auth": self.headers.get("Authorization") or self.headers.get("PRIVATE-TOKEN"), "body": raw}
        with LOCK:
            for fault in CONFIG.get("faults", []):
                if fault.get("times", 0) > 0 and fault["method"] == self.command and re.search(fault["path"], url.path):
                    fault["times"] -= 1
                    if "echo_auth_at" in fault:
                        return self.echo_auth(fault["status"], fault["echo_auth_at"])
                    return self.answer(fault["status"], {"message": "fault injected", "documentation_url": "https://docs.github.com/rest"}, fault.get("headers"))
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            if url.path.startswith("/api/v4/"):
                return self.gitlab(url.path[len("/api/v4"):], query, body, base)
            return self.github(url.path, query, body, base)

    do_GET = do_POST = do_PATCH = do_PUT = handle_any

    # --- GitHub -------------------------------------------------------------------------------
    def github(self, path, query, body, base):
        m, p = self.command, path
        if (m, p) == ("GET", "/user"):
            if me() is None:
                return self.answer(403, {"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest/users/users#get-the-authenticated-user", "status": "403"}, {"x-ratelimit-remaining": "4999"})
            user = copy.deepcopy(EXAMPLES["private-user"])
            user["login"] = me()
            return self.answer(200, user)
        if r := re.fullmatch(r"/repos/[^/]+/[^/]+/issues/(\d+)/comments", p):
            number = int(r[1])
            comments = comments_of(number)
            if m == "POST":
                login, kind = author_kind()
                comments.append({"id": next_id(), "body": body["body"], "login": login, "kind": kind})
                c = comments[-1]
                return self.answer(201, gh_comment(base, number, c["id"], c["body"], login, kind))
            per_page, page = int(query.get("per_page", 30)), int(query.get("page", 1))
            chunk = comments[(page - 1) * per_page: page * per_page]
            last = max(1, -(-len(comments) // per_page))
            links = []
            if page < last:
                links.append(f'<{base}{p}?per_page={per_page}&page={page + 1}>; rel="next"')
            links.append(f'<{base}{p}?per_page={per_page}&page={last}>; rel="last"')
            return self.answer(200, [gh_comment(base, number, c["id"], c["body"], c["login"], c.get("kind", "User")) for c in chunk], {"Link": ", ".join(links)})
        if (r := re.fullmatch(r"/repos/[^/]+/[^/]+/issues/comments/(\d+)", p)) and m == "PATCH":
            for number, comments in STATE["comments"].items():
                for c in comments:
                    if c["id"] == int(r[1]):
                        c["body"] = body["body"]
                        return self.answer(200, gh_comment(base, number, c["id"], c["body"], c["login"], c.get("kind", "User")))
            return self.answer(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
        if re.fullmatch(r"/repos/[^/]+/[^/]+/pulls", p):
            if m == "POST":
                pr = {"number": len(STATE["pulls"]) + 1, "head": body["head"], "base": body["base"], "title": body["title"], "body": body["body"], "merged": False}
                STATE["pulls"].append(pr)
                return self.answer(201, self.gh_pull(pr, base))
            head = query.get("head", "").split(":", 1)[-1]
            found = [pr for pr in STATE["pulls"] if pr["head"] == head and pr["base"] == query.get("base") and not pr["merged"]]
            return self.answer(200, [self.gh_pull(pr, base) for pr in found])
        if r := re.fullmatch(r"/repos/[^/]+/[^/]+/pulls/(\d+)", p):
            pr = STATE["pulls"][int(r[1]) - 1]
            if m == "PATCH":
                pr.update(title=body["title"], body=body["body"])
            else:
                STATE["gets"][pr["number"]] = STATE["gets"].get(pr["number"], 0) + 1
                if CONFIG.get("merge_after") and STATE["gets"][pr["number"]] >= CONFIG["merge_after"]:
                    pr["merged"] = True
            return self.answer(200, self.gh_pull(pr, base))
        if (m, p) == ("POST", "/graphql"):
            return self.answer(200, {"data": {"enablePullRequestAutoMerge": {"pullRequest": {"number": 1}}}})
        if re.fullmatch(r"/repos/[^/]+/[^/]+/deployments", p) and m == "POST":
            d = copy.deepcopy(EXAMPLES["deployment"])
            d.update(id=next_id(), sha=body["ref"], ref=body["ref"], environment=body["environment"])
            return self.answer(201, d)
        if (r := re.fullmatch(r"/repos/[^/]+/[^/]+/deployments/(\d+)/statuses", p)) and m == "POST":
            s = copy.deepcopy(EXAMPLES["deployment-status"])
            s.update(id=next_id(), state=body["state"])
            for k in ("environment_url", "log_url"):
                if k in body:
                    s[k] = body[k]
            return self.answer(201, s)
        return self.answer(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})

    def gh_pull(self, pr, base):
        p = copy.deepcopy(EXAMPLES["pull-request"])
        p.update(number=pr["number"], title=pr["title"], body=pr["body"], state="closed" if pr["merged"] else "open", merged=pr["merged"])
        p["html_url"] = f"https://github.com/acme/env/pull/{pr['number']}"
        p["url"] = f"{base}/repos/acme/env/pulls/{pr['number']}"
        p["node_id"] = f"PR_node{pr['number']}"
        p["head"]["ref"], p["base"]["ref"] = pr["head"], pr["base"]
        p["merged_at"] = "2011-01-26T19:01:12Z" if pr["merged"] else None
        p["merge_commit_sha"] = "e5bd3914e2e596debea16f433f57875b5b90bcd6" if pr["merged"] else None
        # GitHub's example lacks fields its schemas require of a team: `type` (team-simple), and
        # `parent` too in the list's pull-request-simple (github_openapi_check.py finds these).
        for team in p["requested_teams"]:
            team.update(type="organization", parent=None)
        return p

    # --- GitLab -------------------------------------------------------------------------------
    def gitlab(self, path, query, body, base):
        m, p = self.command, path
        if (m, p) == ("GET", "/user"):
            return self.answer(200, {**gl_user(), "created_at": "2012-05-23T08:00:58Z", "bot": True, "bio": "", "location": "", "public_email": None, "linkedin": "", "twitter": "", "discord": "", "website_url": "", "organization": "", "job_title": "", "pronouns": None, "work_information": None, "followers": 0, "following": 0, "local_time": None, "last_sign_in_at": None, "confirmed_at": "2012-05-23T09:05:22Z", "last_activity_on": "2012-05-23", "email": "project_7_bot@noreply.gitlab.example.com", "theme_id": 1, "color_scheme_id": 1, "projects_limit": 0, "current_sign_in_at": None, "identities": [], "can_create_group": False, "can_create_project": False, "two_factor_enabled": False, "external": False, "private_profile": False, "commit_email": "project_7_bot@noreply.gitlab.example.com"})
        if r := re.fullmatch(r"/projects/([^/]+)/merge_requests/(\d+)/notes", p):
            number = int(r[2])
            notes = comments_of(number)
            if m == "POST":
                notes.append({"id": next_id(), "body": body["body"], "login": me()})
                return self.answer(201, self.gl_note(notes[-1]))
            per_page, page = int(query.get("per_page", 20)), int(query.get("page", 1))
            last = max(1, -(-len(notes) // per_page))
            headers = {"X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(len(notes)), "X-Total-Pages": str(last), "X-Next-Page": str(page + 1) if page < last else ""}
            return self.answer(200, [self.gl_note(n) for n in notes[(page - 1) * per_page: page * per_page]], headers)
        if (r := re.fullmatch(r"/projects/([^/]+)/merge_requests/(\d+)/notes/(\d+)", p)) and m == "PUT":
            for n in comments_of(int(r[2])):
                if n["id"] == int(r[3]):
                    n["body"] = body["body"]
                    return self.answer(200, self.gl_note(n))
            return self.answer(404, {"message": "404 Not found"})
        if re.fullmatch(r"/projects/([^/]+)/merge_requests", p):
            if m == "POST":
                mr = {"number": len(STATE["pulls"]) + 1, "head": body["source_branch"], "base": body["target_branch"], "title": body["title"], "body": body.get("description", ""), "merged": False, "remove_source_branch": body.get("remove_source_branch") == "true"}
                STATE["pulls"].append(mr)
                return self.answer(201, self.gl_mr(mr))
            found = [mr for mr in STATE["pulls"] if mr["head"] == query.get("source_branch") and mr["base"] == query.get("target_branch") and not mr["merged"]]
            return self.answer(200, [self.gl_mr(mr) for mr in found])
        if r := re.fullmatch(r"/projects/([^/]+)/merge_requests/(\d+)(/merge)?", p):
            if int(r[2]) > len(STATE["pulls"]):
                # A merge request the CI run is for (comments), not one scoreline opened.
                return self.answer(200, self.gl_mr({"number": int(r[2]), "title": "feature", "body": "", "head": "feature", "base": "main", "merged": False}))
            mr = STATE["pulls"][int(r[2]) - 1]
            if m == "PUT" and r[3]:
                # Auto-merge (`auto_merge`, or the deprecated `merge_when_pipeline_succeeds`)
                # waits for the pipeline; without either the merge happens now.
                if str(body.get("auto_merge", body.get("merge_when_pipeline_succeeds"))).lower() == "true":
                    mr["auto_merge"] = True
                else:
                    mr["merged"] = True
            elif m == "PUT":
                mr.update(title=body.get("title", mr["title"]), body=body.get("description", mr["body"]))
            elif m == "GET":
                STATE["gets"][mr["number"]] = STATE["gets"].get(mr["number"], 0) + 1
                if CONFIG.get("merge_after") and STATE["gets"][mr["number"]] >= CONFIG["merge_after"]:
                    mr["merged"] = True
            return self.answer(200, self.gl_mr(mr))
        if re.fullmatch(r"/projects/([^/]+)/deployments", p) and m == "POST":
            d = {"id": next_id(), "iid": 1, "ref": body["ref"], "sha": body["sha"], "status": body["status"], "created_at": "2016-08-11T07:36:40.222Z", "updated_at": "2016-08-11T07:38:12.414Z", "environment": {"id": 9, "name": body["environment"], "external_url": None}}
            return self.answer(201, d)
        if (r := re.fullmatch(r"/projects/([^/]+)/deployments/(\d+)", p)) and m == "PUT":
            return self.answer(200, {"id": int(r[2]), "iid": 1, "ref": "main", "sha": "a91957a858320c0e17f3a0eca7cfacbff50ea29a", "status": body["status"], "created_at": "2016-08-11T07:36:40.222Z", "updated_at": "2016-08-11T07:38:12.414Z"})
        return self.answer(404, {"message": "404 Not found"})

    def gl_note(self, n):
        return {"id": n["id"], "type": None, "body": n["body"], "attachment": None, "author": {"id": 1, "username": n["login"], "name": n["login"], "state": "active", "avatar_url": "https://gitlab.example.com/a.png", "web_url": f"https://gitlab.example.com/{n['login']}"}, "created_at": "2013-10-02T09:22:45Z", "updated_at": "2013-10-02T10:22:45Z", "system": False, "noteable_id": 377, "noteable_type": "MergeRequest", "noteable_iid": 1, "resolvable": False, "confidential": False, "internal": False}

    def gl_mr(self, mr):
        """A merge request as `GET /projects/:id/merge_requests/:iid` documents it."""
        merged = mr["merged"]
        web_url = f"https://gitlab.example.com/group/env/-/merge_requests/{mr['number']}"
        return {
            "id": 100 + mr["number"], "iid": mr["number"], "project_id": 3,
            "title": mr["title"], "description": mr["body"],
            "state": "merged" if merged else "opened",
            "created_at": "2017-04-29T08:46:00Z", "updated_at": "2017-04-29T08:46:00Z",
            "merged_by": gl_user() if merged else None, "merge_user": gl_user() if merged or mr.get("auto_merge") else None,
            "merged_at": "2017-04-29T09:46:00Z" if merged else None, "merge_after": None, "prepared_at": "2017-04-29T08:46:00Z",
            "closed_by": None, "closed_at": None,
            "target_branch": mr["base"], "source_branch": mr["head"],
            "user_notes_count": 0, "upvotes": 0, "downvotes": 0,
            "author": gl_user(), "assignee": None, "assignees": [], "reviewers": [],
            "source_project_id": 3, "target_project_id": 3, "labels": [],
            "draft": False, "work_in_progress": False, "milestone": None,
            "merge_when_pipeline_succeeds": bool(mr.get("auto_merge")),
            "merge_status": "can_be_merged", "detailed_merge_status": "mergeable" if not merged else "not_open",
            "sha": "8888888888888888888888888888888888888888",
            "merge_commit_sha": "8b5ab4c8b1f3f0e0d7a0b7b5a4c1e8f0a1b2c3d4" if merged else None,
            "squash_commit_sha": None, "discussion_locked": None,
            "should_remove_source_branch": None, "force_remove_source_branch": mr.get("remove_source_branch", False),
            "reference": f"!{mr['number']}",
            "references": {"short": f"!{mr['number']}", "relative": f"!{mr['number']}", "full": f"group/env!{mr['number']}"},
            "web_url": web_url,
            "time_stats": {"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": None, "human_total_time_spent": None},
            "squash": False, "squash_on_merge": False,
            "task_completion_status": {"count": 0, "completed_count": 0},
            "has_conflicts": False, "blocking_discussions_resolved": True,
            "subscribed": True, "changes_count": "1", "latest_build_started_at": None, "latest_build_finished_at": None,
            "first_deployed_to_production_at": None, "pipeline": None, "head_pipeline": None,
            "diff_refs": {"base_sha": "c380d3acebd181f13629a25d2e2acca46ffe1e00", "head_sha": "8888888888888888888888888888888888888888", "start_sha": "c380d3acebd181f13629a25d2e2acca46ffe1e00"},
            "merge_error": None, "first_contribution": False, "user": {"can_merge": True},
            "approvals_before_merge": None,
        }


serve(ThreadingHTTPServer(("127.0.0.1", 0), Fake), PORT_FILE)
