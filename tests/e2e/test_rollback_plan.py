"""`berth rollback` and `berth plan` end to end (P7). A rollback by hand goes through the state
machine as a deployment of an existing revision as it is: serialised, checked for stability and
reported like any other, and it registers nothing. `berth plan` is a dry run: the services a
request or a push would deploy, each with its task-definition diff and checks, and no change."""

from __future__ import annotations

import json

from .harness import REGISTRY, aws_changes, aws_snapshot, digest_of
from .test_cli import image, lines

D1, D2, D3, D4 = (digest_of(f"rollback v{i}") for i in range(1, 5))
DEPLOYED, REFUSED = 0, 5


def deploy(cli, digest: str) -> None:
    done = cli("deploy", "--cluster", "prod", "--service", "web", "--image", image(digest), "--refresh-seconds", "0.3")
    assert done.returncode == DEPLOYED, done.stderr


def test_rollback_by_hand_returns_to_the_previous_revision_and_digest(berth, cli):
    svc = berth.make_service("web", image(D1))  # web:1, the user's own
    for digest in (D2, D3, D4):  # web:2, web:3, web:4, each recording the one before
        deploy(cli, digest)
    revision = {n: f"{svc['task_definition'].rsplit(':', 1)[0]}:{n}" for n in range(1, 5)}
    assert berth.describe(svc)["taskDefinition"] == revision[4]
    before = aws_snapshot(berth)

    done = cli("rollback", "web", "--cluster", "prod", "--refresh-seconds", "0.3")
    assert done.returncode == DEPLOYED, done.stderr
    assert "rollback of prod/web: web:4 -> web:3" in done.stderr
    progress = lines(done.stderr)
    assert progress[0] == f"plan (rollback): prod/web <- web@sha256:{D3[7:19]}", progress
    assert f"web: rollback by hand to web:3 running web@sha256:{D3[7:19]} (previous web:4)" in progress, progress
    assert "web: DEPLOYED" in progress and "prod/web DEPLOYED" in done.stdout
    # back on the exact revision and digest, and nothing was registered for it
    assert berth.describe(svc)["taskDefinition"] == revision[3]
    assert {(td, d) for td, _, d in berth.running_images(svc)} == {(revision[3], D3)}
    changes = aws_changes(before, aws_snapshot(berth), strict=False)
    assert not [c for c in changes if c.startswith("task definition")], changes

    # --to a revision the service ran long ago
    to_one = cli("rollback", "web", "--cluster", "prod", "--to", "web:1", "--refresh-seconds", "0.3")
    assert to_one.returncode == DEPLOYED, to_one.stderr
    assert "rollback of prod/web: web:3 -> web:1" in to_one.stderr
    assert {(td, d) for td, _, d in berth.running_images(svc)} == {(revision[1], D1)}

    rows = json.loads(cli("history", "web", "--cluster", "prod", "--limit", "3", "--output", "json").stdout)
    assert [(r["trigger"], r["outcome"], r["image"]) for r in rows] == [
        ("rollback", "DEPLOYED", "web:1"),
        ("rollback", "DEPLOYED", "web:3"),
        ("hand", "DEPLOYED", image(D4)),
    ], rows
    # the revision each one deployed: the one a rollback names, the one a deploy registered
    assert [r["revision"] for r in rows] == [revision[1], revision[3], revision[4]], rows
    table = cli("history", "web", "--cluster", "prod", "--limit", "3").stdout.splitlines()
    assert table[1].split()[1:3] == ["rollback", "DEPLOYED"] and table[3].split()[1] == "hand", table


def test_a_rollback_with_nothing_to_return_to_is_refused_and_changes_nothing(berth, cli):
    berth.make_service("web", image(D1))  # web:1 was not registered by berth: no previous revision
    before = aws_snapshot(berth)
    none = cli("rollback", "web", "--cluster", "prod")
    assert none.returncode == REFUSED, none.stderr
    assert "prod/web runs web:1, on which berth recorded no previous revision" in none.stderr, none.stderr
    missing = cli("rollback", "web", "--cluster", "prod", "--to", "web:9")
    assert missing.returncode == REFUSED and "TaskDefinitionNotFound" in missing.stderr, missing.stderr
    current = cli("rollback", "web", "--cluster", "prod", "--to", "1")
    assert current.returncode == REFUSED and "already runs web:1" in current.stderr, current.stderr
    assert aws_changes(before, aws_snapshot(berth)) == [], "nothing started, nothing changed"


def test_plan_of_a_request_and_of_a_push_shows_the_diff_and_changes_nothing(berth, cli):
    berth.make_service("web", image(D1))
    berth.make_service("worker", image(D1), repository="web")  # a second service on the repository
    before = aws_snapshot(berth)

    request = cli("plan", "--cluster", "prod", "--service", "web", "--image", image(D2), "--timeout-seconds", "600")
    assert request.returncode == DEPLOYED, request.stderr
    assert request.stdout.splitlines()[:5] == [
        "plan (console): 1 service(s) would be deployed; nothing was changed",
        "prod/web: web:1 -> a new revision of web (ECS rolling)",
        f"  container app image: web@sha256:{D1[7:19]} -> web@sha256:{D2[7:19]}",
        f"  container app digest: {D1} -> {D2}",
        "  checks: stability every 15s up to 600s; on failure rollback (900s to stabilise)",
    ], request.stdout

    push = cli("plan", "--image", f"{REGISTRY}/web:v2@{D3}", "--output", "json")
    assert push.returncode == DEPLOYED, push.stderr
    doc = json.loads(push.stdout)
    assert doc["source"] == "ecr-push" and doc["changed"] is False
    assert sorted(s["service"] for s in doc["services"]) == ["web", "worker"]
    for s in doc["services"]:
        assert s["changes"] == [{"container": "app", "field": "image", "from": image(D1), "to": image(D3)}], s
        assert s["digests"] == [{"container": "app", "from": D1, "to": D3}], s
        assert s["deploysExisting"] is None and s["checks"]["canary"] is None

    tag_only = cli("plan", "--repository", "web", "--tag", "v4")
    assert tag_only.returncode == DEPLOYED, tag_only.stderr
    assert "plan (ecr-push): 2 service(s)" in tag_only.stdout
    assert "container app digest: " + D1 + " -> <digest of the push>" in tag_only.stdout, tag_only.stdout

    bad = cli("plan", "--cluster", "prod", "--service", "nope", "--image", image(D2))
    assert bad.returncode == REFUSED and "ServiceNotFound" in bad.stderr, bad.stderr
    assert aws_changes(before, aws_snapshot(berth)) == [], "a plan registers, updates and starts nothing"
