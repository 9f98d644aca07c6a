"""The `berth` CLI (cli/) end to end: deploy, watch, status and history against the local stack,
through the real state machine and Lambdas. The CLI reaches the stand-in only through the AWS_*
environment, as it would reach AWS."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from .harness import REGISTRY, STATE_MACHINE_ARN, aws_changes, aws_snapshot, digest_of, ecr_push_event

OLD = digest_of("cli v1")
NEW = digest_of("cli v2")
BAD = digest_of("cli bad")

# The exit codes (cli/src/exit.rs, `Exit`).
DEPLOYED, ROLLED_BACK, REFUSED = 0, 3, 5


def image(digest: str, repo: str = "web") -> str:
    return f"{REGISTRY}/{repo}@{digest}"


def deploy(cli, digest: str, *extra: str) -> subprocess.CompletedProcess:
    return cli(
        "deploy", "--cluster", "prod", "--service", "web", "--image", image(digest), "--refresh-seconds", "0.3", *extra
    )


def lines(stderr: str) -> list[str]:
    """The progress lines, without their elapsed-time prefix."""
    return [
        re.sub(r"^\[\s*[\d.]+s\] ", "", line) for line in stderr.splitlines() if re.match(r"^\[\s*[\d.]+s\] ", line)
    ]


def test_deploy_of_a_good_image_follows_each_state_and_exits_0(berth, cli):
    svc = berth.make_service("web", image(OLD))
    done = deploy(cli, NEW)
    assert done.returncode == DEPLOYED, done.stderr
    progress = lines(done.stderr)
    assert progress[0].startswith("plan (console): prod/web <- web@sha256:"), progress
    assert "web: turn GO: " in "\n".join(progress)
    assert any(
        p.startswith("web: registered web:2 running web@" + NEW[:19]) and p.endswith("(previous web:1)")
        for p in progress
    ), progress
    assert any(p.startswith("web: rollout of web:2 started") for p in progress), progress
    assert any(re.match(r"web: rollout COMPLETED: 2/2 running", p) for p in progress), progress
    assert "web: DEPLOYED" in progress and "execution SUCCEEDED" in progress
    assert done.stdout.startswith("SUCCEEDED after "), done.stdout
    assert "prod/web DEPLOYED" in done.stdout and "exit: 0 (deployed)" in done.stdout
    assert {d for _, _, d in berth.running_images(svc)} == {NEW}


def test_a_crash_looping_image_is_rolled_back_and_exits_3_with_the_cause(berth, cli):
    svc = berth.make_service("web", image(OLD))
    berth.control("images", {"image": BAD, "behaviour": "crashloop"})
    done = deploy(cli, BAD, "--output", "json")
    assert done.returncode == ROLLED_BACK, done.stderr
    verdict = json.loads(done.stdout)
    assert verdict["status"] == "FAILED" and verdict["error"] == "DeploymentRolledBack", verdict
    assert "circuit breaker" in verdict["cause"] and "now running web:1" in verdict["cause"], verdict
    assert verdict["exit"] == "rolled-back" and verdict["exitCode"] == ROLLED_BACK
    assert verdict["services"] == [{"cluster": "prod", "service": "web", "outcome": "ROLLED_BACK"}]
    progress = lines(done.stderr)
    # reported from ECS's service deployment, ROLLBACK_SUCCESSFUL (tests/e2e/test_service_deployments.py)
    assert any(p.startswith("web: rollout FAILED (RolledBack)") and "ECS rolled back" in p for p in progress), progress
    assert any(p.startswith("web: ROLLBACK to web:1") for p in progress), progress
    berth.wait_steady(svc)
    assert {d for _, _, d in berth.running_images(svc)} == {OLD}


@pytest.mark.quick
def test_bad_input_is_refused_with_exit_5_and_changes_nothing(berth, cli, tmp_path):
    berth.make_service("web", image(OLD))
    before = aws_snapshot(berth)
    # refused by the CLI itself, before anything starts
    bad_image = cli("deploy", "--cluster", "prod", "--service", "web", "--image", "web@sha256:NOTHEX")
    assert bad_image.returncode == REFUSED, bad_image.stderr
    assert "InvalidImage" in bad_image.stderr and bad_image.stdout == ""
    canary = tmp_path / "canary.json"
    canary.write_text(
        json.dumps(
            {
                "bakeSeconds": 60,
                "metrics": [
                    {
                        "name": "5xx",
                        "threshold": 1,
                        "comparision": "LessThanThreshold",
                        "metric": {"namespace": "AWS/ApplicationELB", "metricName": "HTTPCode_Target_5XX_Count"},
                    }
                ],
            }
        )
    )
    typo = deploy(cli, NEW, "--canary", str(canary))
    assert typo.returncode == REFUSED, typo.stderr
    assert "request at canary.metrics[0].comparision: unknown field `comparision`" in typo.stderr, typo.stderr
    assert aws_changes(before, aws_snapshot(berth)) == [], "nothing started, nothing changed"
    # refused by Plan (the CLI cannot know the service is missing): the same exit code
    missing = cli("deploy", "--cluster", "prod", "--service", "nope", "--image", image(NEW), "--refresh-seconds", "0.3")
    assert missing.returncode == REFUSED, missing.stderr
    assert "error: ServiceNotFound\ncause: service nope not found in cluster prod" in missing.stdout, missing.stdout
    changes = aws_changes(before, aws_snapshot(berth))
    assert [c for c in changes if not c.startswith("execution")] == [], changes


def test_no_wait_returns_the_execution_and_watch_follows_it(berth, cli):
    svc = berth.make_service("web", image(OLD))
    started = deploy(cli, NEW, "--no-wait")
    assert started.returncode == DEPLOYED, started.stderr
    arn = started.stdout.strip()
    assert arn.startswith(STATE_MACHINE_ARN.replace(":stateMachine:", ":execution:") + ":berth-cli-web-"), arn
    watched = cli("watch", arn, "--refresh-seconds", "0.3")
    assert watched.returncode == DEPLOYED, watched.stderr
    assert "web: DEPLOYED" in lines(watched.stderr)
    assert "prod/web DEPLOYED" in watched.stdout
    # by name, once finished: the same lines and verdict at once
    again = cli("watch", arn.rsplit(":", 1)[1], "--output", "json")
    assert again.returncode == DEPLOYED
    assert json.loads(again.stdout)["executionArn"] == arn
    assert lines(again.stderr) == lines(watched.stderr)
    # by service: its current or last berth deployment
    by_service = cli("watch", "web", "--cluster", "prod", "--output", "json")
    assert by_service.returncode == DEPLOYED, by_service.stderr
    assert json.loads(by_service.stdout)["executionArn"] == arn
    nothing = cli("watch", "api", "--cluster", "prod")
    assert nothing.returncode == 1 and "no berth deployment of prod/api" in nothing.stderr, nothing.stderr
    assert {d for _, _, d in berth.running_images(svc)} == {NEW}


def test_history_lists_three_deployments_newest_first_and_status_shows_what_runs(berth, cli):
    svc = berth.make_service("web", image(OLD))
    other = berth.make_service("api", image(OLD, "api"), repository="api")
    assert deploy(cli, NEW).returncode == DEPLOYED
    berth.control("images", {"image": BAD, "behaviour": "unhealthy-lb"})
    assert deploy(cli, BAD).returncode == ROLLED_BACK
    pushed = berth.deliver_ecr_event(ecr_push_event("web", OLD, "v1"))
    assert berth.wait_execution(pushed["executionArn"])["status"] == "SUCCEEDED"
    assert cli("deploy", "--cluster", "prod", "--service", "api", "--image", image(NEW, "api")).returncode == 0

    done = cli("history", "web", "--cluster", "prod", "--output", "json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [(r["trigger"], r["outcome"]) for r in rows] == [
        ("push", "DEPLOYED"),
        ("hand", "ROLLED_BACK"),
        ("hand", "DEPLOYED"),
    ], rows
    assert "HealthChecksFailing" in rows[1]["cause"], rows[1]
    assert rows[0]["image"] == f"web:v1@{OLD}" and rows[2]["image"] == image(NEW)
    assert all(r["durationSeconds"] > 0 for r in rows)
    text = cli("history", "web", "--cluster", "prod", "--limit", "2")
    table = text.stdout.splitlines()
    assert table[0].split() == ["STARTED", "BY", "OUTCOME", "DURATION", "REVISION", "IMAGE", "CAUSE"], table
    assert len(table) == 3 and " push " in table[1] and "ROLLED_BACK" in table[2], table

    status = cli("status", "web", "--cluster", "prod")
    assert status.returncode == 0, status.stderr
    s = berth.describe(svc)
    revision = s["taskDefinition"].rsplit("/", 1)[1]
    assert status.stdout.startswith(f"prod/web runs {revision} since "), status.stdout
    assert f"{revision} container app: {image(OLD)} (2 task(s))" in status.stdout, status.stdout
    assert "last berth deployment: DEPLOYED web:v1@sha256:" in status.stdout, status.stdout
    doc = json.loads(cli("status", "web", "--cluster", "prod", "--output", "json").stdout)
    assert doc["taskDefinition"] == s["taskDefinition"]
    assert {r["digest"] for r in doc["running"]} == {OLD}
    assert doc["lastDeployment"]["executionArn"] == pushed["executionArn"]
    assert other  # api's deployment is not in web's history

    # The revisions come from the tags berth wrote on them: what each deployment registered, and
    # what ran before it (the rolled-back one too).
    assert rows[0]["revision"] == s["taskDefinition"], rows[0]
    assert rows[0]["previousRevision"] == rows[2]["revision"], rows
    assert rows[1]["previousRevision"] == rows[2]["revision"] != rows[1]["revision"], rows
    assert f" {revision} " in table[1], table

    # Every service of the cluster, or the ones named.
    both = cli("status", "--cluster", "prod")
    assert both.returncode == 0, both.stderr
    assert [line.split(" runs ")[0] for line in both.stdout.splitlines() if " runs " in line] == [
        "prod/api",
        "prod/web",
    ]
    docs = json.loads(cli("status", "web", "api", "--cluster", "prod", "--output", "json").stdout)
    assert [d["service"] for d in docs] == ["web", "api"]
    assert docs[1]["lastDeployment"]["outcome"] == "DEPLOYED"

    # A revision berth registered whose execution Step Functions no longer lists (closed
    # executions are kept 90 days) still shows, from its tags.
    ecs = berth.client("ecs")
    td = ecs.describe_task_definition(taskDefinition=s["taskDefinition"])["taskDefinition"]
    keep = ("family", "containerDefinitions", "networkMode", "requiresCompatibilities", "cpu", "memory")
    gone = ecs.register_task_definition(
        **{k: td[k] for k in keep if k in td},
        tags=[
            {"key": "berth:deployment-id", "value": "expired-run/prod/web"},
            {"key": "berth:previous-task-definition", "value": s["taskDefinition"]},
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    rows = json.loads(cli("history", "web", "--cluster", "prod", "--output", "json").stdout)
    expired = [r for r in rows if r["name"] == "expired-run"]
    assert [(r["outcome"], r["trigger"], r["revision"]) for r in expired] == [("EXPIRED", "unknown", gone)], rows
    assert "no longer listed" in expired[0]["cause"] and revision in expired[0]["cause"], expired
    assert len(rows) == 4
    # Registered last, it is the newest row, dated by the revision's registeredAt.
    assert rows[0]["name"] == "expired-run" and rows[0]["startedAt"] >= rows[1]["startedAt"], rows


def test_the_state_machine_is_found_in_the_stack_outputs(berth, cli):
    cfn = berth.client("cloudformation")
    cfn.create_stack(
        StackName="berth-local",
        TemplateBody=json.dumps(
            {
                "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {"StateMachineArn": {"Value": STATE_MACHINE_ARN}},
            }
        ),
    )
    done = cli(
        "history", "web", "--cluster", "prod", "--stack", "berth-local", env_overrides={"BERTH_STATE_MACHINE_ARN": None}
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "no berth deployments of this service\n"
    missing = cli("history", "web", "--cluster", "prod", env_overrides={"BERTH_STATE_MACHINE_ARN": None})
    assert missing.returncode == 1
    assert 'stack "berth"' in missing.stderr and "--state-machine" in missing.stderr, missing.stderr


def test_deploy_with_a_canary_analysis_shows_its_evidence_and_status_the_cause(berth, cli, tmp_path):
    # GIVEN a rolling service serving long enough for a window before the deploy, and a canary-bad image

    svc = berth.make_service("web", image(OLD))
    berth.sleep(30)  # simulated: the tasks start serving and the 10 s window before the deploy fills
    berth.control("images", {"image": BAD, "behaviour": "canary-bad"})
    tg = svc["target_group"].split(":")[-1]

    def spec(m: str) -> dict:
        return {
            "namespace": "AWS/ApplicationELB",
            "metricName": m,
            "stat": "Sum",
            "dimensions": {"TargetGroup": tg, "LoadBalancer": "app/berth-local/0123456789abcdef"},
        }

    canary = tmp_path / "canary.json"
    canary.write_text(
        json.dumps(
            {
                "bakeSeconds": 6,
                "intervalSeconds": 2,
                "windowSeconds": 10,
                "analysis": {"baseline": {"source": "beforeDeploy"}},
                "metrics": [
                    {
                        "name": "5xx rate %",
                        "expression": "100 * FILL(errors, 0) / requests",
                        "period": 1,
                        "metrics": {"errors": spec("HTTPCode_Target_5XX_Count"), "requests": spec("RequestCount")},
                        "compare": {"direction": "increase", "critical": True, "minShift": 0.5},
                    }
                ],
            }
        )
    )
    # WHEN it is planned, THEN the plan names the analysis and the compared metric
    planned = cli("plan", "--cluster", "prod", "--service", "web", "--image", image(BAD), "--canary", str(canary))
    assert planned.returncode == 0, planned.stderr
    assert "analysis against the window before the deploy at confidence 0.99" in planned.stdout, planned.stdout
    assert "5xx rate % increase vs baseline (tolerance 10%, critical)" in planned.stdout, planned.stdout
    # WHEN it is deployed, THEN the progress shows the metric's classification and the score, and
    # the verdict and `berth status` carry the evidence
    done = deploy(cli, BAD, "--canary", str(canary))
    assert done.returncode == ROLLED_BACK, done.stderr
    canary_lines = [x for x in lines(done.stderr) if x.startswith("web: canary FAIL -> ROLLBACK")]
    assert canary_lines and "analysis FAIL score " in canary_lines[-1] and "[5xx rate % HIGH p=" in canary_lines[-1], (
        canary_lines
    )
    status = cli("status", "web", "--cluster", "prod")
    assert status.returncode == 0, status.stderr
    assert "5xx rate % HIGH [critical]: canary median" in status.stdout, status.stdout


def test_release_ships_two_services_in_waves_and_refuses_a_misspelt_file(berth, cli, tmp_path):
    # GIVEN the API and its worker
    api = berth.make_service("api", image(OLD, "shop"), repository="shop")
    worker = berth.make_service("worker", image(OLD, "shop"), repository="shop")
    before = aws_snapshot(berth)
    # a misspelt release file is refused before anything starts
    typo = tmp_path / "typo.json"
    typo.write_text(
        json.dumps(
            {
                "release": {
                    "name": "shop",
                    "services": [
                        {"cluster": "prod", "service": "api", "image": image(NEW, "shop")},
                        {"cluster": "prod", "service": "worker", "imgae": image(NEW, "shop"), "wave": 2},
                    ],
                }
            }
        )
    )
    refused = cli("release", str(typo))
    assert refused.returncode == REFUSED, refused.stderr
    assert "release.services[1]" in refused.stderr and "imgae" in refused.stderr, refused.stderr
    assert aws_changes(before, aws_snapshot(berth)) == [], "nothing started, nothing changed"
    # WHEN the release is started from its file
    good = tmp_path / "release.json"
    good.write_text(
        json.dumps(
            {
                "release": {
                    "name": "shop",
                    "services": [
                        {"cluster": "prod", "service": "api", "image": image(NEW, "shop")},
                        {"cluster": "prod", "service": "worker", "image": image(NEW, "shop"), "wave": 2},
                    ],
                }
            }
        )
    )
    done = cli("release", str(good), "--refresh-seconds", "0.3")
    # THEN both ship, the worker after the API, followed live
    assert done.returncode == DEPLOYED, done.stderr
    progress = "\n".join(lines(done.stderr))
    assert "api: DEPLOYED" in progress and "worker: DEPLOYED" in progress, progress
    assert progress.index("api: DEPLOYED") < progress.index("worker: rollout of"), progress
    assert "prod/api DEPLOYED" in done.stdout and "prod/worker DEPLOYED" in done.stdout, done.stdout
    for svc in (api, worker):
        assert {d for _, _, d in berth.running_images(svc)} == {NEW}
