"""Bad console input never touches a service (issue P5).

Malformed requests are started as real executions of the real state machine, all at once; each
must end FAILED at Plan with a berth error that says what was refused (never `States.*`), and
ECS (every task definition and its tags, every service with its deployments, task sets and
events), CodeDeploy, SSM and the state machine's other executions must be exactly as before.

Each case differs from a request Plan accepts (checked first, by invoking plan-deployment) in one
defect only, so a refusal is the refusal of that defect.
"""

from __future__ import annotations

import contextlib
import json
import time

from .harness import (
    ACCOUNT,
    REGION,
    REGISTRY,
    STATE_MACHINE,
    STATE_MACHINE_ARN,
    aws_changes,
    aws_snapshot,
    berth_error_names,
    digest_of,
    wait_until,
)

OLD = digest_of("web v1")
NEW = digest_of("web v2")
IMAGE = f"{REGISTRY}/web@{NEW}"
DIMS = {"TargetGroup": "targetgroup/web/0123456789abcdef", "LoadBalancer": "app/berth-local/0123456789abcdef"}
ALARM = "web-5xx"

# How long all executions together may take (each should end at Plan in about a second).
DEADLINE_SECONDS = 60


def spec(metric: str, stat: str = "Sum") -> dict:
    return {"namespace": "AWS/ApplicationELB", "metricName": metric, "stat": stat, "dimensions": dict(DIMS)}


def valid_request() -> dict:
    """A request Plan accepts: every field the README documents, a canary with metric math, a
    single metric and an alarm. Short bake so that an input wrongly let through ends quickly."""
    return {
        "cluster": "prod",
        "service": "web",
        "container": "app",
        "image": IMAGE,
        "forceNewDeployment": False,
        "timeoutSeconds": 120,
        "pollIntervalSeconds": 1,
        "rollbackTimeoutSeconds": 120,
        "canary": {
            "bakeSeconds": 2,
            "intervalSeconds": 1,
            "windowSeconds": 120,
            "onInconclusive": "promote",
            "metrics": [
                {
                    "name": "5xx rate %",
                    "expression": "100 * FILL(errors, 0) / requests",
                    "metrics": {"errors": spec("HTTPCode_Target_5XX_Count"), "requests": spec("RequestCount")},
                    "threshold": 5,
                    "comparison": "GreaterThanThreshold",
                    "minDataPoints": 1,
                    "datapointsToFail": 1,
                    "period": 60,
                },
                {"name": "p99 latency", "metric": spec("TargetResponseTime", "p99"), "threshold": 1.0},
            ],
            "alarms": [ALARM],
        },
    }


def with_(path: str, value=None, *, drop: bool = False, rename: str | None = None) -> dict:
    """The valid request with one change at `path` (dot-separated, list indexes as numbers):
    set `value`, drop the key, or rename the key to `rename`."""
    doc = valid_request()
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node = doc
    for p in parents:
        node = node[p]
    if rename is not None:
        node[rename] = node.pop(last)
    elif drop:
        del node[last]
    else:
        node[last] = value
    return doc


class Raw(str):
    """Execution input text sent as it is."""


def raw(doc: dict, placeholder: str, text: str) -> Raw:
    """The request as JSON text with `placeholder` (a unique string value) replaced by raw `text`,
    for inputs json.dumps cannot write (1e999)."""
    out = json.dumps(doc)
    token = json.dumps(placeholder)
    assert out.count(token) == 1, token
    return Raw(out.replace(token, text))


def deep(levels: int):
    value: object = "bottom"
    for _ in range(levels):
        value = [value]
    return value


INVALID = {"InvalidInput"}
IMAGE_ERRORS = {"InvalidImage", "InvalidInput"}

# (case name, execution input: any JSON value (sent as JSON) or Raw text (sent as is), accepted
#  error names, a word the cause must contain or None)
CASES = [
    # typos and unknown keys at every level: a check silently dropped, or for `comparision`
    # inverted, is worse than a refusal
    ("top-level typo imgae", with_("image", rename="imgae"), INVALID, "imgae"),
    (
        "top-level typo forceNewDeploymnet",
        with_("forceNewDeployment", True, rename="forceNewDeploymnet"),
        INVALID,
        "forceNewDeploymnet",
    ),
    ("unknown top-level key hooks", {**valid_request(), "hooks": {"AfterAllowTraffic": {}}}, INVALID, "hooks"),
    ("canary typo bakeSecond", with_("canary.bakeSeconds", rename="bakeSecond"), INVALID, "bakeSecond"),
    ("canary typo onInconclusve", with_("canary.onInconclusive", rename="onInconclusve"), INVALID, "onInconclusve"),
    (
        "canary unknown key alarm",
        {**valid_request(), "canary": {**valid_request()["canary"], "alarm": "other"}},
        INVALID,
        "alarm",
    ),
    ("metric typo comparision", with_("canary.metrics.1.comparision", "LessThanThreshold"), INVALID, "comparision"),
    (
        "metric typo datapointToFail",
        with_("canary.metrics.0.datapointsToFail", rename="datapointToFail"),
        INVALID,
        "datapointToFail",
    ),
    (
        "metric spec typo dimension",
        with_("canary.metrics.1.metric.dimensions", rename="dimension"),
        INVALID,
        "dimension",
    ),
    (
        "metric-math spec typo dimension",
        with_("canary.metrics.0.metrics.errors.dimensions", rename="dimension"),
        INVALID,
        "dimension",
    ),
    # everything a canary needs, checked at Plan
    (
        "bad expression syntax",
        with_("canary.metrics.0.expression", "100 * (FILL(errors, 0) / requests"),
        INVALID,
        "expression",
    ),
    (
        "expression names an unknown id",
        with_("canary.metrics.0.expression", "100 * FILL(errrors, 0) / requests"),
        INVALID,
        "errrors",
    ),
    ("stat p999x", with_("canary.metrics.1.metric.stat", "p999x"), INVALID, "p999x"),
    ("period 7", with_("canary.metrics.0.period", 7), INVALID, "period"),
    ("alarm that does not exist", with_("canary.alarms", [ALARM, "no-such-alarm"]), INVALID, "no-such-alarm"),
    ("intervalSeconds 0", with_("canary.intervalSeconds", 0), INVALID, "intervalSeconds"),
    # numbers: a documented range, no wrapping conversion
    ("timeoutSeconds 2^64-1", with_("timeoutSeconds", 2**64 - 1), INVALID, "timeoutSeconds"),
    ("rollbackTimeoutSeconds 2^64", with_("rollbackTimeoutSeconds", 2**64), INVALID, "rollbackTimeoutSeconds"),
    ("bakeSeconds 2^63", with_("canary.bakeSeconds", 2**63), INVALID, "bakeSeconds"),
    ("pollIntervalSeconds 10^9", with_("pollIntervalSeconds", 10**9), INVALID, "pollIntervalSeconds"),
    ("windowSeconds 2^64-1", with_("canary.windowSeconds", 2**64 - 1), INVALID, "windowSeconds"),
    ("timeoutSeconds negative", with_("timeoutSeconds", -5), INVALID, "timeoutSeconds"),
    ("pollIntervalSeconds float", with_("pollIntervalSeconds", 1.5), INVALID, "pollIntervalSeconds"),
    ("timeoutSeconds string", with_("timeoutSeconds", "60"), INVALID, "timeoutSeconds"),
    ("threshold 1e999", raw(with_("canary.metrics.1.threshold", "@1e999@"), "@1e999@", "1e999"), INVALID, None),
    ("timeoutSeconds 1e999", raw(with_("timeoutSeconds", "@1e999@"), "@1e999@", "1e999"), INVALID, None),
    # digests: lowercase hex only (OCI)
    (
        "uppercase sha256 digest",
        with_("image", f"{REGISTRY}/web@sha256:{NEW.split(':')[1].upper()}"),
        IMAGE_ERRORS,
        None,
    ),
    # not a request at all
    ("non-object []", [], INVALID, None),
    ("non-object string", "x", INVALID, None),
    ("non-object number", 42, INVALID, None),
    ("non-object null", None, INVALID, None),
    ("nested deeper than 128", with_("container", deep(200)), INVALID, None),
    # oversized fields, within Step Functions' 256 KiB input
    ("200 KB image", with_("image", f"{REGISTRY}/web:v2@sha256:{'a' * 200_000}"), IMAGE_ERRORS, None),
    ("200 KB container name", with_("container", "c" * 200_000), INVALID, "container"),
    ("200 KB metric name", with_("canary.metrics.1.name", "m" * 200_000), INVALID, None),
]


def make_services(berth, names: list[str], image: str) -> None:
    """One small rolling service per case (own task-definition family), so that an input wrongly let
    through deploys its own service (nothing is superseded) and each change names its case."""
    ecs = berth.client("ecs")
    _, subnet, sg = berth.network("bad-input")
    for name in names:
        td = berth.cluster_and_task_definition("prod", name, image)
        ecs.create_service(
            cluster="prod",
            serviceName=name,
            taskDefinition=td,
            desiredCount=1,
            launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}},
            deploymentConfiguration={
                "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
            },
            tags=[{"key": "berth:repository", "value": "web"}, {"key": "berth:container", "value": "app"}],
        )
    wait_until(lambda: all(berth.steady({"cluster": "prod", "service": n}) for n in names), 60, "the services to start")


def for_service(request, service: str):
    """The case's request aimed at its own service."""
    if isinstance(request, Raw):
        assert '"service": "web"' in request
        return Raw(request.replace('"service": "web"', f'"service": "{service}"', 1))
    if isinstance(request, dict) and request.get("service") == "web":
        return {**request, "service": service}
    return request


def test_malformed_console_inputs_fail_at_plan_and_change_nothing(berth):
    assert len(CASES) >= 25
    services = [f"bad-{i:02d}" for i in range(len(CASES))]
    make_services(berth, services, f"{REGISTRY}/web@{OLD}")
    berth.alarm(ALARM)
    names = berth_error_names()

    # GIVEN a request Plan accepts (so each case below is refused for its one defect)
    ok = berth.invoke(
        "plan-deployment",
        {
            "request": for_service(valid_request(), services[0]),
            "execution": {
                "id": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{STATE_MACHINE}:control",
                "name": "control",
                "startTime": "2026-11-29T00:00:00Z",
            },
        },
    )
    assert [d["service"] for d in ok["deployments"]] == [services[0]], ok
    before = aws_snapshot(berth)
    assert len(before["services"]) == len(CASES)

    # WHEN every malformed request is started at once, each aimed at its own service
    sfn = berth.client("stepfunctions")
    started = {}
    t0 = time.monotonic()
    for (case, request, _, _), service in zip(CASES, services, strict=True):
        request = for_service(request, service)
        text = request if isinstance(request, Raw) else json.dumps(request)
        started[case] = sfn.start_execution(stateMachineArn=STATE_MACHINE_ARN, name=service, input=text)["executionArn"]
    done: dict[str, dict] = {}
    while len(done) < len(CASES) and time.monotonic() - t0 < DEADLINE_SECONDS:
        for case, arn in started.items():
            if case not in done:
                d = sfn.describe_execution(executionArn=arn)
                if d["status"] != "RUNNING":
                    done[case] = d
        time.sleep(0.3)
    elapsed = time.monotonic() - t0
    for case, arn in started.items():
        if case not in done:
            done[case] = {"status": "RUNNING", "error": None, "cause": f"still RUNNING after {DEADLINE_SECONDS} s"}
            with contextlib.suppress(Exception):  # best effort; the next test resets the stand-in
                sfn.stop_execution(executionArn=arn, error="BadInputTest", cause="test deadline")

    # AND nothing changed anywhere (one more ECS tick first: a rollout started by a case would show)
    time.sleep(1)
    after = aws_snapshot(berth)
    after["executions"] = [a for a in after["executions"] if a not in started.values()]  # the cases' own
    changes = aws_changes(before, after)

    # THEN each failed at Plan with a berth error naming the defect, and left its service alone
    wrong = []
    for (case, _, accepted, mention), service in zip(CASES, services, strict=True):
        d = done[case]
        status, error, cause = d["status"], d.get("error"), d.get("cause") or ""
        states = set()
        if status != "RUNNING":
            history = berth.history(started[case])
            states = {e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e}
        problems = []
        if status != "FAILED":
            problems.append(f"status {status}")
        if error not in accepted:
            problems.append(
                f"error {error!r}, expected {sorted(accepted)}"
                + ("" if error in names else " (not a berth error name)")
            )
        if mention and mention not in cause:
            problems.append(f"cause does not name {mention!r}")
        past_plan = sorted(states - {"Plan", "InvalidRequest"})
        if past_plan:
            problems.append(f"got past Plan: {past_plan}")
        mine = [c for c in changes if f"/{service}:" in c or f"/{service} " in c or f"prod/{service}" in c]
        if mine:
            problems.append(
                "changed ECS: " + "; ".join(c.replace("arn:aws:ecs:us-east-1:123456789012:", "") for c in mine)
            )
        if problems:
            wrong.append(f"- {case}: {'; '.join(problems)}; cause: {cause[:300]!r}")
    print(f"{len(CASES)} malformed inputs ended in {elapsed:.1f}s; {len(wrong)} wrong; {len(changes)} AWS change(s)")
    report = "\n".join(wrong)
    if changes:
        report += "\nAWS changed:\n" + "\n".join(f"  {c}" for c in changes)
    assert not wrong and not changes, f"{len(wrong)} of {len(CASES)} inputs not refused cleanly:\n{report}"
