"""The CodeDeploy blue/green simulator for ECS, driven through boto3 (awsJson1_1) and the control API.

Hook Lambdas here are answered by conftest's fake runtime (any name answers 200); a HookResponder
thread plays the hook's part: it watches /_berth/lambda-invocations for the hook's asynchronous
invocation and reports with PutLifecycleEventHookExecutionStatus, as berth's codedeploy-hook does.
"""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
import requests
from botocore.exceptions import ClientError

from .conftest import wait_for

HOOK = "berth-codedeploy-hook"
HOOK_ARN = f"arn:aws:lambda:us-east-1:123456789012:function:{HOOK}"
LISTENERS = {
    "prod": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/0123456789abcdef/1111111111111111",
    "test": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/0123456789abcdef/2222222222222222",
}
ORDER = [
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "AllowTestTraffic",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
]


def error_code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


def setup_bluegreen(
    standin,
    images=("repo/web:v1", "repo/web:v2"),
    desired=1,
    config="CodeDeployDefault.ECSAllAtOnce",
    auto_rollback=True,
    termination_wait=0,
):
    """A CODE_DEPLOY ECS service on revision 1 behind a blue and a green target group, and a CodeDeploy
    ECS application + deployment group for it."""
    ec2, ecs, elb, cd = (standin.client(s) for s in ("ec2", "ecs", "elbv2", "codedeploy"))
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="web-sg", Description="x", VpcId=vpc)["GroupId"]
    tgs = {
        n: elb.create_target_group(Name=n, Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")["TargetGroups"][0][
            "TargetGroupArn"
        ]
        for n in ("web-blue", "web-green")
    }
    ecs.create_cluster(clusterName="prod")
    tds = [
        ecs.register_task_definition(
            family="web",
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            containerDefinitions=[
                {"name": "web", "image": img, "essential": True, "portMappings": [{"containerPort": 80}]}
            ],
        )["taskDefinition"]["taskDefinitionArn"]
        for img in images
    ]
    ecs.create_service(
        cluster="prod",
        serviceName="web",
        taskDefinition=tds[0],
        desiredCount=desired,
        launchType="FARGATE",
        deploymentController={"type": "CODE_DEPLOY"},
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}},
        loadBalancers=[{"targetGroupArn": tgs["web-blue"], "containerName": "web", "containerPort": 80}],
    )
    cd.create_application(applicationName="web-app", computePlatform="ECS")
    cd.create_deployment_group(
        applicationName="web-app",
        deploymentGroupName="web-dg",
        deploymentConfigName=config,
        serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy",
        ecsServices=[{"clusterName": "prod", "serviceName": "web"}],
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        autoRollbackConfiguration={
            "enabled": auto_rollback,
            "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST"],
        },
        blueGreenDeploymentConfiguration={
            "terminateBlueInstancesOnDeploymentSuccess": {
                "action": "TERMINATE",
                "terminationWaitTimeInMinutes": termination_wait,
            },
            "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
        },
        loadBalancerInfo={
            "targetGroupPairInfoList": [
                {
                    "targetGroups": [{"name": "web-blue"}, {"name": "web-green"}],
                    "prodTrafficRoute": {"listenerArns": [LISTENERS["prod"]]},
                    "testTrafficRoute": {"listenerArns": [LISTENERS["test"]]},
                }
            ]
        },
    )
    return {"ecs": ecs, "cd": cd, "tds": tds, "tgs": tgs}


def appspec(td: str, hooks: dict | None = None, yaml_form: bool = False) -> str:
    if yaml_form:
        lines = [
            "version: 0.0",
            "Resources:",
            "  - TargetService:",
            "      Type: AWS::ECS::Service",
            "      Properties:",
            f'        TaskDefinition: "{td}"',
            "        LoadBalancerInfo:",
            '          ContainerName: "web"',
            "          ContainerPort: 80",
        ]
        if hooks:
            lines.append("Hooks:")
            lines += [f'  - {ev}: "{fn}"' for ev, fn in hooks.items()]
        return "\n".join(lines) + "\n"
    doc = {
        "version": 0.0,
        "Resources": [
            {
                "TargetService": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {
                        "TaskDefinition": td,
                        "LoadBalancerInfo": {"ContainerName": "web", "ContainerPort": 80},
                    },
                }
            }
        ],
    }
    if hooks:
        doc["Hooks"] = [{ev: fn} for ev, fn in hooks.items()]
    return json.dumps(doc)


def deploy(bg, td: str, hooks: dict | None = None, yaml_form: bool = False, **kw) -> str:
    return bg["cd"].create_deployment(
        applicationName="web-app",
        deploymentGroupName="web-dg",
        description="berth test",
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": appspec(td, hooks, yaml_form)}},
        **kw,
    )["deploymentId"]


def deployment(bg, dep_id: str) -> dict:
    return bg["cd"].get_deployment(deploymentId=dep_id)["deploymentInfo"]


def finished(bg, dep_id: str, timeout: float = 15.0) -> dict:
    return wait_for(
        lambda: (lambda d: d if d["status"] in ("Succeeded", "Failed", "Stopped") else None)(deployment(bg, dep_id)),
        timeout=timeout,
        interval=0.05,
        what=f"deployment {dep_id} to finish",
    )


def target(bg, dep_id: str) -> dict:
    return bg["cd"].get_deployment_target(deploymentId=dep_id, targetId="prod:web")["deploymentTarget"]["ecsTarget"]


def probe(standin, listener: str, n: int = 1) -> list[requests.Response]:
    return [requests.get(f"{standin.url}/_berth/listener/prod/web/{listener}/health", timeout=30) for _ in range(n)]


class HookResponder:
    """Plays berth's hook Lambda: answers each invocation of HOOK according to `answers`
    (lifecycle event -> "Succeeded" | "Failed" | None = never report)."""

    def __init__(self, standin, bg, answers: dict):
        self.standin, self.cd, self.answers = standin, bg["cd"], answers
        self.seen: set[str] = set()
        self.reports: list[tuple[str, str, str]] = []  # (event, execution id, status)
        self.payloads: list[dict] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)

    def _run(self):
        while not self._stop.is_set():
            try:
                for inv in self.standin.control("lambda-invocations", method="GET")["invocations"]:
                    p = inv.get("payload") or {}
                    exec_id = p.get("LifecycleEventHookExecutionId") if isinstance(p, dict) else None
                    if inv["function"] != HOOK or not exec_id or exec_id in self.seen:
                        continue
                    self.seen.add(exec_id)
                    self.payloads.append(dict(p, invocationType=inv["invocationType"], status=inv["status"]))
                    rec = self.standin.control(f"codedeploy/{p['DeploymentId']}", method="GET")
                    event = next(h["event"] for h in rec["hookInvocations"] if h["executionId"] == exec_id)
                    answer = self.answers.get(event, "Succeeded")
                    if answer is None:
                        continue
                    self.cd.put_lifecycle_event_hook_execution_status(
                        deploymentId=p["DeploymentId"], lifecycleEventHookExecutionId=exec_id, status=answer
                    )
                    self.reports.append((event, exec_id, answer))
            except Exception as e:  # noqa: BLE001 - surfaced through self.errors
                self.errors.append(repr(e))
            time.sleep(0.05)


@pytest.fixture
def fast(standin):
    standin.control("config", {"codedeploy_minute_seconds": 0.2, "hook_timeout_seconds": 10, "probe_hang_seconds": 0.3})
    return standin


def test_all_at_once_with_hooks_succeeds_and_green_serves(fast):
    standin = fast
    bg = setup_bluegreen(standin, desired=2)
    blue, green = bg["tds"]
    ecs, cd = bg["ecs"], bg["cd"]
    # Before any deployment both listeners route to the service's task definition; its task set runs.
    for listener in ("prod", "test"):
        r = probe(standin, listener)[0]
        assert r.status_code == 200 and r.json() == {
            "taskDefinition": blue,
            "image": "repo/web:v1",
            "listener": listener,
            "behaviour": "healthy",
        }
    wait_for(
        lambda: (lambda s: s if s["runningCount"] == 2 else None)(
            ecs.describe_services(cluster="prod", services=["web"])["services"][0]
        ),
        what="blue task set to run",
    )
    group = cd.get_deployment_group(applicationName="web-app", deploymentGroupName="web-dg")["deploymentGroupInfo"]
    assert group["computePlatform"] == "ECS" and group["deploymentConfigName"] == "CodeDeployDefault.ECSAllAtOnce"
    assert group["ecsServices"] == [{"clusterName": "prod", "serviceName": "web"}]

    with HookResponder(standin, bg, {}) as hooks:
        dep_id = deploy(
            bg, green, {"BeforeInstall": HOOK, "AfterAllowTestTraffic": HOOK_ARN, "AfterAllowTraffic": HOOK}
        )
        assert re.fullmatch(r"d-[A-Z0-9]{9}", dep_id)
        info = finished(bg, dep_id)
    assert not hooks.errors, hooks.errors
    assert info["status"] == "Succeeded", info
    assert info["computePlatform"] == "ECS" and info["creator"] == "user" and info["description"] == "berth test"
    assert info["deploymentStyle"] == {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}
    assert info["deploymentOverview"]["Succeeded"] == 1
    assert info["createTime"] <= info["startTime"] <= info["completeTime"]
    assert "errorInformation" not in info and "rollbackInfo" not in info
    assert info["revision"]["appSpecContent"]["content"] == appspec(
        green, {"BeforeInstall": HOOK, "AfterAllowTestTraffic": HOOK_ARN, "AfterAllowTraffic": HOOK}
    )

    # Hooks ran in lifecycle order, each invoked asynchronously with the real payload shape.
    assert [e for e, _, _ in hooks.reports] == ["BeforeInstall", "AfterAllowTestTraffic", "AfterAllowTraffic"]
    assert all(
        p["invocationType"] == "Event"
        and p["status"] == 202
        and set(p) >= {"DeploymentId", "LifecycleEventHookExecutionId"}
        for p in hooks.payloads
    )
    assert len({p["LifecycleEventHookExecutionId"] for p in hooks.payloads}) == 3

    assert cd.list_deployment_targets(deploymentId=dep_id)["targetIds"] == ["prod:web"]
    t = target(bg, dep_id)
    assert t["status"] == "Succeeded" and t["targetArn"].endswith(":service/prod/web")
    assert [e["lifecycleEventName"] for e in t["lifecycleEvents"]] == ORDER
    assert all(e["status"] == "Succeeded" and e["startTime"] <= e["endTime"] for e in t["lifecycleEvents"])
    starts = [e["startTime"] for e in t["lifecycleEvents"]]
    assert starts == sorted(starts)
    green_set = next(s for s in t["taskSetsInfo"] if s["taskSetLabel"] == "Green")
    assert (
        green_set["trafficWeight"] == 100.0
        and green_set["status"] == "PRIMARY"
        and green_set["targetGroup"] == {"name": "web-green"}
    )

    for listener in ("prod", "test"):
        r = probe(standin, listener)[0]
        assert r.status_code == 200 and r.json()["taskDefinition"] == green and r.json()["image"] == "repo/web:v2"
    svc = ecs.describe_services(cluster="prod", services=["web"])["services"][0]
    assert svc["taskDefinition"] == green
    assert [(s["status"], s["taskDefinition"]) for s in svc["taskSets"]] == [("PRIMARY", green)]
    assert standin.control("traffic/prod/web", method="GET")["prod"] == {green: 100}
    group = cd.get_deployment_group(applicationName="web-app", deploymentGroupName="web-dg")["deploymentGroupInfo"]
    assert group["lastSuccessfulDeployment"]["deploymentId"] == dep_id
    assert cd.list_deployments(
        applicationName="web-app", deploymentGroupName="web-dg", includeOnlyStatuses=["Succeeded"]
    )["deployments"] == [dep_id]

    # The next deployment's original (blue) is the new revision, on the other target group.
    dep2 = deploy(bg, blue, yaml_form=True)
    assert finished(bg, dep2)["status"] == "Succeeded"
    assert ecs.describe_services(cluster="prod", services=["web"])["services"][0]["taskDefinition"] == blue
    record = standin.control(f"codedeploy/{dep2}", method="GET")
    assert record["blueTargetGroup"] == "web-green" and record["greenTargetGroup"] == "web-blue"


def test_failed_hook_rolls_back_to_blue(fast):
    standin = fast
    bg = setup_bluegreen(standin)
    blue, green = bg["tds"]
    cd = bg["cd"]
    with HookResponder(standin, bg, {"AfterAllowTestTraffic": "Failed"}) as hooks:
        dep_id = deploy(bg, green, {"AfterAllowTestTraffic": HOOK, "BeforeAllowTraffic": HOOK})
        info = finished(bg, dep_id)
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "HOOK_EXECUTION_FAILURE"
    assert "AfterAllowTestTraffic" in info["errorInformation"]["message"]
    rb_id = info["rollbackInfo"]["rollbackDeploymentId"]
    rb = deployment(bg, rb_id)
    assert rb["status"] == "Succeeded" and rb["creator"] == "codeDeployRollback"
    assert rb["rollbackInfo"]["rollbackTriggeringDeploymentId"] == dep_id

    t = target(bg, dep_id)
    assert t["status"] == "Failed"
    events = {e["lifecycleEventName"]: e for e in t["lifecycleEvents"]}
    assert events["AfterAllowTestTraffic"]["status"] == "Failed"
    assert events["AfterAllowTestTraffic"]["diagnostics"]["errorCode"] == "ScriptFailed"
    assert events["AfterAllowTestTraffic"]["diagnostics"]["scriptName"] == HOOK
    assert [events[n]["status"] for n in ORDER[:4]] == ["Succeeded"] * 4
    assert [events[n]["status"] for n in ORDER[5:]] == ["Skipped"] * 3
    assert [e for e, _, _ in hooks.reports] == ["AfterAllowTestTraffic"]  # BeforeAllowTraffic never ran

    for listener in ("prod", "test"):
        assert probe(standin, listener)[0].json()["taskDefinition"] == blue
    svc = bg["ecs"].describe_services(cluster="prod", services=["web"])["services"][0]
    assert svc["taskDefinition"] == blue
    assert [(s["status"], s["taskDefinition"]) for s in svc["taskSets"]] == [("PRIMARY", blue)]
    record = standin.control(f"codedeploy/{dep_id}", method="GET")
    assert [(x["listener"], x["green"]) for x in record["traffic"]] == [("test", 100), ("prod", 0), ("test", 0)]

    # A second report for the finished hook, and an execution id that never existed.
    _, exec_id, _ = hooks.reports[0]
    with pytest.raises(ClientError) as e:
        cd.put_lifecycle_event_hook_execution_status(
            deploymentId=dep_id, lifecycleEventHookExecutionId=exec_id, status="Succeeded"
        )
    assert error_code(e.value) == "LifecycleEventAlreadyCompletedException"
    with pytest.raises(ClientError) as e:
        cd.put_lifecycle_event_hook_execution_status(
            deploymentId=dep_id, lifecycleEventHookExecutionId="bogus", status="Succeeded"
        )
    assert error_code(e.value) == "InvalidLifecycleEventHookExecutionIdException"
    with pytest.raises(ClientError) as e:
        cd.put_lifecycle_event_hook_execution_status(
            deploymentId=dep_id, lifecycleEventHookExecutionId=exec_id, status="Skipped"
        )
    assert error_code(e.value) == "InvalidLifecycleEventHookExecutionStatusException"
    with pytest.raises(ClientError) as e:
        cd.stop_deployment(deploymentId=dep_id, autoRollbackEnabled=True)
    assert error_code(e.value) == "DeploymentAlreadyCompletedException"


def test_hook_that_never_reports_times_out(fast):
    standin = fast
    standin.control("config", {"hook_timeout_seconds": 1.0})
    bg = setup_bluegreen(standin)
    blue, green = bg["tds"]
    with HookResponder(standin, bg, {"BeforeAllowTraffic": None}):
        dep_id = deploy(bg, green, {"BeforeAllowTraffic": HOOK})
        wait_for(
            lambda: any(
                e["lifecycleEventName"] == "BeforeAllowTraffic" and e["status"] == "InProgress"
                for e in target(bg, dep_id)["lifecycleEvents"]
            ),
            what="hook in progress",
        )
        started = time.monotonic()
        info = finished(bg, dep_id)
    assert 0.5 < time.monotonic() - started < 3.0
    assert info["status"] == "Failed" and info["errorInformation"]["code"] == "HOOK_EXECUTION_FAILURE"
    assert "timed out" in info["errorInformation"]["message"]
    ev = next(e for e in target(bg, dep_id)["lifecycleEvents"] if e["lifecycleEventName"] == "BeforeAllowTraffic")
    assert ev["status"] == "Failed" and ev["diagnostics"]["errorCode"] == "ScriptTimedOut"
    assert "timed out" in ev["diagnostics"]["message"]
    assert probe(standin, "prod")[0].json()["taskDefinition"] == blue
    assert probe(standin, "test")[0].json()["taskDefinition"] == blue


def test_canary_shifts_10_percent_then_stop_rolls_back(fast):
    standin = fast
    standin.control("config", {"codedeploy_minute_seconds": 2.0})  # the 5-minute canary wait = 10 s
    bg = setup_bluegreen(standin, config="CodeDeployDefault.ECSCanary10Percent5Minutes")
    blue, green = bg["tds"]
    cd = bg["cd"]
    dep_id = deploy(bg, green)

    def canary_on():
        tr = standin.control("traffic/prod/web", method="GET")
        return tr if tr["prod"] == {blue: 90, green: 10} else None

    tr = wait_for(canary_on, what="10% canary")
    assert tr["test"] == green
    ev = {e["lifecycleEventName"]: e["status"] for e in target(bg, dep_id)["lifecycleEvents"]}
    assert ev["AllowTraffic"] == "InProgress" and deployment(bg, dep_id)["status"] == "InProgress"
    # The prod listener answers green exactly 10 times in 100, spread evenly.
    picks = [r.json()["taskDefinition"] for r in probe(standin, "prod", 100)]
    assert picks.count(green) == 10 and picks.count(blue) == 90

    out = cd.stop_deployment(deploymentId=dep_id, autoRollbackEnabled=True)
    assert out["status"] in ("Pending", "Succeeded")
    info = finished(bg, dep_id, timeout=5)
    assert info["status"] == "Stopped"
    assert info["errorInformation"]["code"] == "MANUAL_STOP" and "stopped" in info["errorInformation"]["message"]
    assert deployment(bg, info["rollbackInfo"]["rollbackDeploymentId"])["status"] == "Succeeded"
    ev = {e["lifecycleEventName"]: e["status"] for e in target(bg, dep_id)["lifecycleEvents"]}
    assert ev["AllowTraffic"] == "Failed" and ev["AfterAllowTraffic"] == "Skipped"
    assert standin.control("traffic/prod/web", method="GET")["prod"] == {blue: 100}
    assert {r.json()["taskDefinition"] for r in probe(standin, "prod", 20)} == {blue}
    assert bg["ecs"].describe_services(cluster="prod", services=["web"])["services"][0]["taskDefinition"] == blue


@pytest.mark.parametrize(
    "config,steps",
    [
        ("CodeDeployDefault.ECSCanary10Percent5Minutes", [10, 100]),
        ("CodeDeployDefault.ECSLinear10PercentEvery1Minutes", [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]),
    ],
)
def test_traffic_history_follows_the_deployment_config(fast, config, steps):
    standin = fast
    standin.control("config", {"codedeploy_minute_seconds": 0.1})
    bg = setup_bluegreen(standin, config=config)
    dep_id = deploy(bg, bg["tds"][1])
    assert finished(bg, dep_id)["status"] == "Succeeded"
    prod = [x for x in standin.control(f"codedeploy/{dep_id}", method="GET")["traffic"] if x["listener"] == "prod"]
    assert [x["green"] for x in prod][: len(steps)] == steps
    if config.endswith("5Minutes"):
        assert prod[1]["at"] - prod[0]["at"] >= 0.45  # 5 "minutes" of 0.1 s


def test_update_service_task_definition_rejected_for_code_deploy_service(fast):
    bg = setup_bluegreen(fast)
    ecs = bg["ecs"]
    with pytest.raises(ClientError) as e:
        ecs.update_service(cluster="prod", service="web", taskDefinition=bg["tds"][1])
    assert error_code(e.value) == "InvalidParameterException"
    assert "Use AWS CodeDeploy to trigger a new deployment" in e.value.response["Error"]["Message"]
    ecs.update_service(cluster="prod", service="web", desiredCount=2)  # allowed
    s = ecs.describe_services(cluster="prod", services=["web"])["services"][0]
    assert s["taskDefinition"] == bg["tds"][0] and s["desiredCount"] == 2


def test_create_deployment_errors_and_limit(fast):
    bg = setup_bluegreen(fast)
    cd, green = bg["cd"], bg["tds"][1]
    rev = {"revisionType": "AppSpecContent", "appSpecContent": {"content": appspec(green)}}
    cases = [
        (dict(applicationName="nope", deploymentGroupName="web-dg", revision=rev), "ApplicationDoesNotExistException"),
        (
            dict(applicationName="web-app", deploymentGroupName="nope", revision=rev),
            "DeploymentGroupDoesNotExistException",
        ),
        (
            dict(
                applicationName="web-app",
                deploymentGroupName="web-dg",
                revision={
                    "revisionType": "AppSpecContent",
                    "appSpecContent": {"content": appspec(green.replace("web:2", "web:9"))},
                },
            ),
            "InvalidRevisionException",
        ),
        (
            dict(
                applicationName="web-app",
                deploymentGroupName="web-dg",
                revision={
                    "revisionType": "AppSpecContent",
                    "appSpecContent": {"content": appspec(green, {"Install": HOOK})},
                },
            ),
            "InvalidRevisionException",
        ),
        (
            dict(applicationName="web-app", deploymentGroupName="web-dg", revision=rev, deploymentConfigName="Nope"),
            "DeploymentConfigDoesNotExistException",
        ),
    ]
    for kwargs, code in cases:
        with pytest.raises(ClientError) as e:
            cd.create_deployment(**kwargs)
        assert error_code(e.value) == code, kwargs
    with HookResponder(fast, bg, {"BeforeInstall": None}):
        dep_id = deploy(bg, green, {"BeforeInstall": HOOK})
        with pytest.raises(ClientError) as e:
            deploy(bg, green)
        assert error_code(e.value) == "DeploymentLimitExceededException"
        cd.stop_deployment(deploymentId=dep_id, autoRollbackEnabled=False)
        assert finished(bg, dep_id)["status"] == "Stopped"
    with pytest.raises(ClientError) as e:
        cd.get_deployment(deploymentId="d-NOTTHERE1")
    assert error_code(e.value) == "DeploymentDoesNotExistException"


def test_listener_probe_behaviours(fast):
    standin = fast
    standin.control(
        "images",
        {
            "images": [
                {"image": "repo/web:v503", "behaviour": "probe-503"},
                {"image": "repo/web:vhang", "behaviour": "probe-hang"},
            ]
        },
    )
    bg = setup_bluegreen(standin, images=("repo/web:v503", "repo/web:vhang"))
    r = probe(standin, "prod")[0]
    assert r.status_code == 503 and r.json()["taskDefinition"] == bg["tds"][0]
    dep_id = deploy(bg, bg["tds"][1])
    assert finished(bg, dep_id)["status"] == "Succeeded"  # probe behaviours are healthy for ECS
    started = time.monotonic()
    r = probe(standin, "test")[0]
    assert r.status_code == 200 and r.headers["X-Berth-Task-Definition"] == bg["tds"][1]
    assert time.monotonic() - started >= 0.3
    assert requests.get(f"{standin.url}/_berth/listener/prod/nope/prod", timeout=10).status_code == 404


@pytest.mark.skipif(
    not __import__("os").environ.get("BERTH_RUST_CODEDEPLOY_CHECK"),
    reason="set BERTH_RUST_CODEDEPLOY_CHECK to a built rust_codedeploy_check binary",
)
def test_rust_sdk_parses_the_answers(fast):
    """Runs rust_codedeploy_check.rs (aws-sdk-codedeploy 1.124 / aws-sdk-ecs 1.157) against prepared deployments."""
    import os
    import subprocess

    standin = fast
    standin.control("config", {"hook_timeout_seconds": 1.0, "codedeploy_minute_seconds": 1.0})
    bg = setup_bluegreen(standin, desired=2)
    blue, green = bg["tds"]
    # A deployment whose hook times out (and is rolled back) ...
    failed = deploy(bg, green, {"BeforeAllowTraffic": HOOK})
    assert finished(bg, failed)["status"] == "Failed"
    standin.control("config", {"hook_timeout_seconds": 60})
    # ... and one waiting on its AfterAllowTestTraffic hook, reported by the Rust program.
    dep_id = deploy(bg, green, {"AfterAllowTestTraffic": HOOK_ARN})

    def exec_id():
        rec = standin.control(f"codedeploy/{dep_id}", method="GET")
        return next((h["executionId"] for h in rec["hookInvocations"] if h["event"] == "AfterAllowTestTraffic"), None)

    env = dict(
        os.environ,
        AWS_ENDPOINT_URL=standin.url,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        DEP_ID=dep_id,
        EXEC_ID=wait_for(exec_id, what="hook invocation"),
        FAILED_ID=failed,
        GREEN_TD=green,
        BLUE_TD=blue,
    )
    out = subprocess.run(
        [os.environ["BERTH_RUST_CODEDEPLOY_CHECK"]], env=env, capture_output=True, text=True, timeout=120
    )
    print(out.stdout, out.stderr)
    assert out.returncode == 0, out.stderr
    lines = out.stdout
    assert f'DEPLOYMENT Some("{dep_id}") Some(InProgress) Some(Ecs)' in lines
    assert "style=Some(BlueGreen)/Some(WithTrafficControl) revtype=Some(AppSpecContent) sha=Some(64)" in lines
    assert 'GROUP Some(Ecs) Some("CodeDeployDefault.ECSAllAtOnce") Some("prod"):Some("web")' in lines
    assert 'TARGETS ["prod:web"]' in lines
    assert 'TARGET Some(EcsTarget) Some("prod:web") Some(InProgress)' in lines
    assert 'EVENT Some("AfterAllowTestTraffic") Some(InProgress)' in lines
    assert 'EVENT Some("AllowTraffic") Some(Pending) start=None' in lines
    assert re.search(
        r'TASKSET Some\(Blue\) Some\("PRIMARY"\) Some\("ecs-svc/\d{19}"\) '
        r'weight=100\.0 tg=Some\("web-blue"\) running=2 desired=2',
        lines,
    )
    assert re.search(
        r'TASKSET Some\(Green\) Some\("ACTIVE"\) Some\("ecs-svc/\d{19}"\) '
        r'weight=0\.0 tg=Some\("web-green"\) running=2 desired=2',
        lines,
    )
    assert 'HOOK_IN_PROGRESS Some("AfterAllowTestTraffic")' in lines
    assert "LIMIT is_deployment_limit_exceeded_exception=true" in lines
    assert f'LISTED ["{dep_id}"]' in lines
    assert "PUT Some(true)" in lines
    assert "PUT_AGAIN is_lifecycle_event_already_completed_exception=true" in lines
    assert "FINISHED Some(Succeeded)" in lines
    assert 'SERVICE td_is_green=true tasksets=[(Some("PRIMARY"), true, 2)]' in lines
    assert "FAILED Some(Failed) code=Some(HookExecutionFailure) msg_has_timed_out=true rollback=Some(11)" in lines
    assert 'DIAG Some("BeforeAllowTraffic") Some(Failed) Some(ScriptTimedOut) Some("berth-codedeploy-hook")' in lines
    assert 'STOP Some(Pending) Some("Stopping Active Deployment")' in lines
    assert "STOPPED Some(Stopped) code=Some(ManualStop) rollback_id_len=Some(11)" in lines
    assert "STOP_AGAIN is_deployment_already_completed_exception=true" in lines
    assert "ECS_UPDATE is_invalid_parameter_exception=true" in lines
    assert lines.rstrip().endswith("DONE")


def test_alb_metrics_follow_the_prod_weights_during_a_canary(fast):
    """A canary-bad replacement gets 10 % of the prod requests during the canary, with ~30 % 5xx,
    in the green target group's metrics; the blue target group keeps serving cleanly."""
    standin = fast
    standin.control("config", {"codedeploy_minute_seconds": 1.0})
    standin.control("images", {"image": "repo/web:bad", "behaviour": "canary-bad"})
    bg = setup_bluegreen(
        standin,
        images=("repo/web:v1", "repo/web:bad"),
        desired=2,
        config="CodeDeployDefault.ECSCanary10Percent5Minutes",
    )
    dep_id = deploy(bg, bg["tds"][1])
    wait_for(lambda: standin.control("traffic/prod/web", method="GET")["prod"].get(bg["tds"][1]) == 10, what="canary")
    time.sleep(1.0)  # ~20 ticks of metrics at 10 %
    cw = standin.client("cloudwatch")

    def sums(tg_name):
        dims = [
            {"Name": "TargetGroup", "Value": bg["tgs"][tg_name].split(":")[-1]},
            {"Name": "LoadBalancer", "Value": "app/berth-local/0123456789abcdef"},
        ]

        def q(i: str, m: str) -> dict:
            return {
                "Id": i,
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": m, "Dimensions": dims},
                    "Period": 60,
                    "Stat": "Sum",
                },
            }

        now = time.time()
        out = cw.get_metric_data(
            MetricDataQueries=[q("e", "HTTPCode_Target_5XX_Count"), q("r", "RequestCount")],
            StartTime=now - 600,
            EndTime=now + 60,
        )["MetricDataResults"]
        return {r["Id"]: sum(r["Values"]) for r in out}

    green, blue = sums("web-green"), sums("web-blue")
    assert green["r"] > 0 and 0.25 <= green["e"] / green["r"] <= 0.35, green
    assert blue["e"] == 0 and blue["r"] >= 5 * green["r"], (blue, green)
    bg["cd"].stop_deployment(deploymentId=dep_id, autoRollbackEnabled=True)
    assert finished(bg, dep_id)["status"] == "Stopped"


def test_unhealthy_replacement_fails_install_and_keeps_blue(fast):
    standin = fast
    standin.control("config", {"install_timeout_seconds": 1.0})
    standin.control("images", {"image": "repo/web:crash", "behaviour": "crashloop"})
    bg = setup_bluegreen(standin, images=("repo/web:v1", "repo/web:crash"))
    dep_id = deploy(bg, bg["tds"][1])
    info = finished(bg, dep_id)
    assert info["status"] == "Failed" and info["errorInformation"]["code"] == "ECS_UPDATE_ERROR"
    assert "replacement task set" in info["errorInformation"]["message"]
    ev = {e["lifecycleEventName"]: e["status"] for e in target(bg, dep_id)["lifecycleEvents"]}
    assert ev["BeforeInstall"] == "Succeeded" and ev["Install"] == "Failed" and ev["AllowTestTraffic"] == "Skipped"
    svc = bg["ecs"].describe_services(cluster="prod", services=["web"])["services"][0]
    assert svc["taskDefinition"] == bg["tds"][0]
    assert [(s["status"], s["taskDefinition"]) for s in svc["taskSets"]] == [("PRIMARY", bg["tds"][0])]
    assert probe(standin, "prod")[0].json()["taskDefinition"] == bg["tds"][0]


def test_reset_stops_deployment_threads(fast):
    standin = fast
    bg = setup_bluegreen(standin)
    with HookResponder(standin, bg, {"BeforeInstall": None}):
        dep_id = deploy(bg, bg["tds"][1], {"BeforeInstall": HOOK})
        wait_for(lambda: standin.control(f"codedeploy/{dep_id}", method="GET")["hookInvocations"], what="hook invoked")
        assert standin.state()["codedeploy"]["liveThreads"] == 1
    standin.control("reset")
    assert standin.control("codedeploy", method="GET") == {"deployments": []}
    state = wait_for(
        lambda: (lambda st: st if st["codedeploy"]["liveThreads"] == 0 else None)(standin.state()),
        timeout=3,
        what="deployment threads to end",
    )
    assert state["codedeploy"]["errors"] == [] and state["errors"] == []
