"""The statistical canary analysis end to end: console request -> real state machine -> real
Lambdas -> the stand-in's ECS and CloudWatch. A rolling service, so the baseline is the same
target group's window before the deploy (`beforeDeploy`); the canary's samples start where the
rollout did. Each scenario asserts the execution's outcome and the evidence it carries.
"""

from __future__ import annotations

from .harness import REGISTRY, digest_of
from .test_scenarios import behave, history_outputs

OLD = digest_of("web v1")
NEW = digest_of("web v2")
LB = "app/berth-local/0123456789abcdef"
NOISE = {"seed": 5, "requests_per_minute": 60000}


def image(digest: str) -> str:
    return f"{REGISTRY}/web@{digest}"


def spec(svc: dict, metric: str, stat: str) -> dict:
    return {
        "namespace": "AWS/ApplicationELB",
        "metricName": metric,
        "stat": stat,
        "dimensions": {"TargetGroup": svc["target_group"].split(":")[-1], "LoadBalancer": LB},
    }


def rate(svc: dict, **compare) -> dict:
    return {
        "name": "5xx rate %",
        "expression": "100 * FILL(errors, 0) / requests",
        "period": 1,
        "metrics": {
            "errors": spec(svc, "HTTPCode_Target_5XX_Count", "Sum"),
            "requests": spec(svc, "RequestCount", "Sum"),
        },
        "compare": {"direction": "increase", "critical": True, "minShift": 0.5, **compare},
    }


def p99(svc: dict, **compare) -> dict:
    return {
        "name": "p99 latency s",
        "metric": spec(svc, "TargetResponseTime", "p99"),
        "period": 1,
        "compare": {"direction": "increase", "tolerance": 0.2, **compare},
    }


def request(digest: str, metrics: list[dict], bake: int = 6) -> dict:
    return {
        "cluster": "prod",
        "service": "web",
        "image": image(digest),
        "canary": {
            "bakeSeconds": bake,
            "intervalSeconds": 2,
            "windowSeconds": 10,
            "analysis": {"baseline": {"source": "beforeDeploy"}},
            "metrics": metrics,
        },
    }


def service_with_history(berth, noise: bool = False) -> dict:
    """web on OLD, serving long enough that the window before the deploy is full."""
    if noise:
        berth.control("config", {"metric_noise": NOISE})
    svc = berth.make_service("web", image(OLD))
    berth.sleep(30)  # simulated: the tasks start serving and the 10 s window before the deploy fills
    return svc


def last_canary(berth, arn: str) -> dict:
    return history_outputs(berth, arn, "EvaluateCanary")[-1]["canaryResult"]


def test_a_canary_bad_image_is_rolled_back_with_the_statistical_evidence_in_the_cause(berth):
    svc = service_with_history(berth, noise=True)
    behave(berth, NEW, "canary-bad")
    # p99 is dry-run here so that the verdict is the critical 5xx metric's alone: on a loaded machine
    # the canary window's first seconds may still be the old revision's (a rolling deploy), and p99
    # could then reach significance an evaluation before 5xx does. The bake lasts longer than the
    # window, so those first seconds leave it before the bake could end.
    arn = berth.start_execution(request(NEW, [rate(svc), p99(svc, dryRun=True)], bake=16))
    done = berth.wait_execution(arn)
    assert done["status"] == "FAILED" and done["error"] == "DeploymentRolledBack", done
    cause = done["cause"]
    # the cause names the failed metric and by how much: medians, shift, U and p
    assert "canary FAIL: analysis FAIL: critical metric(s) failed: 5xx rate % HIGH" in cause, cause
    assert "5xx rate % HIGH [critical]: canary median " in cause and " vs baseline " in cause, cause
    assert "U=" in cause and "p=" in cause and "shift +" in cause, cause
    result = last_canary(berth, arn)
    assert result["decision"] == "ROLLBACK" and result["analysis"]["outcome"] == "FAIL", result
    evidence = {c["name"]: c["analysis"] for c in result["checks"]}
    e = evidence["5xx rate %"]
    assert e["classification"] == "HIGH" and e["pValue"] < 0.01 and e["canaryN"] >= 3 and e["baselineN"] >= 3, e
    assert e["canaryMedian"] > e["baselineMedian"] + 0.5, e
    s = berth.wait_steady(svc)
    assert s["taskDefinition"] == svc["task_definition"]
    assert {d for _, _, d in berth.running_images(svc)} == {OLD}


def test_a_healthy_image_is_promoted(berth):
    svc = service_with_history(berth, noise=True)
    arn = berth.start_execution(request(NEW, [rate(svc), p99(svc)]))
    done = berth.wait_execution(arn)
    result = last_canary(berth, arn)
    assert done["status"] == "SUCCEEDED", (done, result["detail"])
    assert result["decision"] == "PROMOTE" and result["analysis"]["outcome"] == "PASS", result
    assert result["analysis"]["score"] == 100.0
    assert all(c["analysis"]["classification"] == "PASS" for c in result["checks"]), result
    assert {d for _, _, d in berth.running_images(svc)} == {NEW}


def test_an_empty_metric_is_inconclusive_and_rolls_back_at_the_end_of_the_bake(berth):
    svc = service_with_history(berth)
    # a metric the ALB never wrote: no data on either side, half of the metrics
    empty = {
        "name": "ELB 5xx",
        "metric": spec(svc, "HTTPCode_ELB_5XX_Count", "Sum"),
        "period": 1,
        "compare": {"direction": "increase"},
    }
    arn = berth.start_execution(request(NEW, [p99(svc), empty]))
    done = berth.wait_execution(arn)
    assert done["status"] == "FAILED" and done["error"] == "DeploymentRolledBack", done
    assert "canary INCONCLUSIVE: analysis INCONCLUSIVE: 1 of 2 metric(s) have no data" in done["cause"], done["cause"]
    assert "ELB 5xx NODATA: 0 canary and 0 baseline sample(s)" in done["cause"], done["cause"]
    results = [o["canaryResult"] for o in history_outputs(berth, arn, "EvaluateCanary")]
    # never a pass: it kept baking while inconclusive, then onInconclusive (rollback) decided
    assert [r["decision"] for r in results[:-1]] == ["CONTINUE"] * (len(results) - 1), results
    assert results[-1]["decision"] == "ROLLBACK" and results[-1]["verdict"] == "INCONCLUSIVE"
    assert {d for _, _, d in berth.running_images(berth.wait_steady(svc) and svc)} == {OLD}


def test_a_failing_dry_run_metric_is_reported_and_changes_nothing(berth):
    svc = service_with_history(berth)
    behave(berth, NEW, "canary-slow")  # p99 +30 %, no errors
    arn = berth.start_execution(request(NEW, [rate(svc), p99(svc, dryRun=True)]))
    done = berth.wait_execution(arn)
    result = last_canary(berth, arn)
    assert done["status"] == "SUCCEEDED", (done, result["detail"])
    evidence = {c["name"]: c["analysis"] for c in result["checks"]}
    assert evidence["p99 latency s"]["classification"] == "HIGH" and evidence["p99 latency s"]["dryRun"], evidence
    assert "p99 latency s HIGH [dry run]" in result["detail"], result["detail"]
    assert result["analysis"]["outcome"] == "PASS" and result["analysis"]["metrics"] == 1, result["analysis"]
    assert {d for _, _, d in berth.running_images(svc)} == {NEW}


# ---- CodeDeploy canary: green (the canary) against blue (the old revision), over the same window


def bluegreen_request(svc: dict, digest: str, window: int = 20) -> dict:
    """The analysis against blue's target group. The window (20 s) reaches back into the shift, so
    the bake after it still has blue's samples (blue serves nothing once green has all traffic)."""
    tg = {c: "targetgroup/" + arn.split(":targetgroup/")[1] for c, arn in svc["target_groups"].items()}
    dims = {"TargetGroup": tg["green"], "LoadBalancer": LB}

    def green(metric: str, stat: str) -> dict:
        return {"namespace": "AWS/ApplicationELB", "metricName": metric, "stat": stat, "dimensions": dims}

    return {
        "cluster": svc["cluster"],
        "service": svc["service"],
        "image": image(digest),
        "canary": {
            "bakeSeconds": 4,
            "intervalSeconds": 1,
            "windowSeconds": window,
            "analysis": {"baseline": {"source": "dimensions", "dimensions": {"TargetGroup": tg["blue"]}}},
            "metrics": [
                {
                    "name": "green 5xx rate %",
                    "expression": "100 * FILL(errors, 0) / requests",
                    "period": 1,
                    "metrics": {
                        "errors": green("HTTPCode_Target_5XX_Count", "Sum"),
                        "requests": green("RequestCount", "Sum"),
                    },
                    "compare": {"direction": "increase", "critical": True, "minShift": 0.5},
                },
                {
                    "name": "green p99 latency s",
                    "metric": green("TargetResponseTime", "p99"),
                    "period": 1,
                    "compare": {"direction": "increase", "tolerance": 0.2},
                },
            ],
        },
    }


def bluegreen_service(berth, minute_seconds: float = 3) -> dict:
    """A CodeDeploy service on ECSCanary10Percent5Minutes: the canary shift lasts 5 CodeDeploy
    minutes of `minute_seconds` each."""
    berth.control(
        "config", {"codedeploy_minute_seconds": minute_seconds, "hook_timeout_seconds": 60, "metric_noise": NOISE}
    )
    return berth.make_bluegreen_service("web", image(OLD), config="CodeDeployDefault.ECSCanary10Percent5Minutes")


def test_a_codedeploy_canary_answering_2_percent_5xx_is_stopped_mid_shift_against_blue(berth):
    # A 50 s shift (CodeDeploy minutes of 1 s of wall time: 10 simulated seconds at scale 10) and
    # a 40 s window: green gains one 1 s sample per second, and the 5xx rate reached p < 0.01
    # after 3 to 11 of them in seven runs; a 15 s shift (20 s window) ended once in CI before it
    # did, and a 30 s one once in a whole run (the bake then rolled back, so "mid-shift" failed).
    # The scenario ends at the verdict, not the shift's end. (Before the stack shared one clock,
    # this ran at scale 1: CodeDeploy's shift and the evaluations' waits were on different clocks.)
    svc = bluegreen_service(berth, minute_seconds=1)
    behave(berth, NEW, "canary-5xx")
    arn = berth.start_execution(bluegreen_request(svc, NEW, window=40))
    done = berth.wait_execution(arn, timeout=240)
    assert done["status"] == "FAILED" and done["error"] == "DeploymentRolledBack", done
    # which metric reaches significance first depends on how many samples the shift's evaluations
    # saw (the critical 5xx rate, or the p99 that canary-5xx also raises): either fails it
    assert "analysis FAIL" in done["cause"] and "green 5xx rate %" in done["cause"], done["cause"]
    shifts = [o["canaryResult"] for o in history_outputs(berth, arn, "EvaluateShift")]
    assert shifts and shifts[-1]["decision"] == "ROLLBACK", [(r["decision"], r["detail"][-220:]) for r in shifts[-4:]]
    evidence = {c["name"]: c["analysis"] for c in shifts[-1]["checks"]}
    assert any(e["classification"] == "HIGH" for e in evidence.values()), evidence
    e = evidence["green 5xx rate %"]
    # green at 10 % of the traffic with ~2 % 5xx, against blue's ~0.1 %
    assert e["canaryMedian"] > 0.5 > e["baselineMedian"], e
    assert berth.listener(svc, "prod")["taskDefinition"] == svc["task_definition"], "blue serves again"


def test_a_healthy_codedeploy_canary_is_promoted_against_blue(berth):
    svc = bluegreen_service(berth)
    arn = berth.start_execution(bluegreen_request(svc, NEW))
    done = berth.wait_execution(arn, timeout=240)
    results = [o["canaryResult"] for o in history_outputs(berth, arn, "EvaluateShift")] + [
        o["canaryResult"] for o in history_outputs(berth, arn, "EvaluateCanary")
    ]
    # (a string, so that pytest shows it whole: the cause and the last evaluations' details)
    assert done["status"] == "SUCCEEDED", f"{done.get('error')}: {done.get('cause')}\n" + "\n".join(
        f"{r['decision']}: {r['detail']}" for r in results[-3:]
    )
    assert results[-1]["decision"] == "PROMOTE" and results[-1]["analysis"]["outcome"] == "PASS", results[-1]
    evidence = {c["name"]: c["analysis"] for c in results[-1]["checks"]}
    assert all(e["classification"] == "PASS" and e["baselineN"] >= 3 for e in evidence.values()), evidence
    assert berth.listener(svc, "prod")["taskDefinition"] != svc["task_definition"], "green serves"


# ---- ECS's native CANARY: each revision behind its own target group (alternateTargetGroupArn)


def test_an_ecs_native_canary_answering_5xx_is_rolled_back_against_the_old_revisions_target_group(berth):
    berth.control("config", {"ecs_minute_seconds": 3, "metric_noise": NOISE})
    svc = berth.make_service("web", image(OLD), breaker=False)
    elb = berth.client("elbv2")
    vpc = elb.describe_target_groups(TargetGroupArns=[svc["target_group"]])["TargetGroups"][0]["VpcId"]
    green_tg = elb.create_target_group(Name="web-green", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip")[
        "TargetGroups"
    ][0]["TargetGroupArn"]
    berth.client("ecs").update_service(
        cluster="prod",
        service="web",
        loadBalancers=[
            {
                "targetGroupArn": svc["target_group"],
                "containerName": "app",
                "containerPort": 8080,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": green_tg,
                    "productionListenerRule": (
                        "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/"
                        "0123456789abcdef/1111111111111111/2222222222222222"
                    ),
                    "roleArn": "arn:aws:iam::123456789012:role/ecsInfrastructureRoleForLoadBalancers",
                },
            }
        ],
        deploymentConfiguration={
            "strategy": "CANARY",
            "bakeTimeInMinutes": 1,
            "lifecycleHooks": [],
            "canaryConfiguration": {"canaryPercent": 10, "canaryBakeTimeInMinutes": 10},
        },
    )
    behave(berth, NEW, "canary-5xx")
    blue, green = (arn.split(":")[-1] for arn in (svc["target_group"], green_tg))
    dims = {"TargetGroup": green, "LoadBalancer": LB}
    spec_ = lambda metric: {"namespace": "AWS/ApplicationELB", "metricName": metric, "stat": "Sum", "dimensions": dims}  # noqa: E731
    arn = berth.start_execution(
        {
            "cluster": "prod",
            "service": "web",
            "image": image(NEW),
            "canary": {
                "bakeSeconds": 4,
                "intervalSeconds": 1,
                "windowSeconds": 20,
                "analysis": {"baseline": {"source": "dimensions", "dimensions": {"TargetGroup": blue}}},
                "metrics": [
                    {
                        "name": "new revision 5xx rate %",
                        "expression": "100 * FILL(errors, 0) / requests",
                        "period": 1,
                        "metrics": {"errors": spec_("HTTPCode_Target_5XX_Count"), "requests": spec_("RequestCount")},
                        "compare": {"direction": "increase", "critical": True, "minShift": 0.5},
                    }
                ],
            },
        }
    )
    done = berth.wait_execution(arn, timeout=180)
    assert done["status"] == "FAILED" and done["error"] == "DeploymentRolledBack", done
    cause = done["cause"]
    assert "analysis FAIL: critical metric(s) failed: new revision 5xx rate % HIGH" in cause, cause
    assert "rolled back by StopServiceDeployment" in cause, cause
    # judged while ECS held the new revision at 10 %, against the old revision's own target group
    (last,) = [o for o in history_outputs(berth, arn, "EvaluateShift") if o["canaryResult"]["decision"] == "ROLLBACK"]
    assert last["stability"]["serviceDeployment"]["productionTrafficWeight"] == 10, last["stability"]
    e = last["canaryResult"]["checks"][0]["analysis"]
    assert e["classification"] == "HIGH" and e["baselineN"] >= 3 and e["canaryMedian"] > 0.5 > e["baselineMedian"], e
    s = berth.wait_steady(svc)
    assert s["taskDefinition"] == svc["task_definition"]
