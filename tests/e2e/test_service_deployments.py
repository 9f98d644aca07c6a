"""berth judges a rolling deployment from ECS's own service deployment (issue P8).

update-service records the service deployment its UpdateService started
(`service.currentServiceDeployment`) in the rollout document; check-stability reads its status with
DescribeServiceDeployments and lays it over berth's own checks: SUCCESSFUL completes only when
berth's checks pass too, and a deployment ECS rolls back is reported from its ROLLBACK_SUCCESSFUL
status, naming the restored revision. The stand-in's service deployments follow its simulated
deployments (tests/standin/README.md, "ECS service deployments and revisions").
"""

from __future__ import annotations

from .harness import REGISTRY, digest_of, ecr_push_event
from .test_scenarios import history_outputs, watch_checks

OLD = digest_of("web v1")
NEW = digest_of("web v2")


def image(digest: str) -> str:
    return f"{REGISTRY}/web@{digest}"


def push(berth, digest: str) -> str:
    started = berth.deliver_ecr_event(ecr_push_event("web", digest, "latest"))
    assert started and started["started"], started
    return started["executionArn"]


def service_deployment(berth, arn: str) -> dict:
    out = berth.client("ecs").describe_service_deployments(serviceDeploymentArns=[arn])
    assert not out["failures"], out
    (sd,) = out["serviceDeployments"]
    return sd


def revision_task_definition(berth, revision_arn: str) -> str:
    (rev,) = berth.client("ecs").describe_service_revisions(serviceRevisionArns=[revision_arn])["serviceRevisions"]
    return rev["taskDefinition"]


def test_a_good_rolling_deploy_completes_with_ecs_calling_its_service_deployment_successful(berth):
    svc = berth.make_service("web", image(OLD))
    arn = push(berth, NEW)
    done = berth.wait_execution(arn)
    assert done["status"] == "SUCCEEDED", done
    # the rollout document names the service deployment UpdateService started
    (update,) = history_outputs(berth, arn, "UpdateService")
    sd_arn = update["update"]["serviceDeploymentArn"]
    assert ":service-deployment/prod/web/" in sd_arn, update["update"]
    sd = service_deployment(berth, sd_arn)
    assert sd["status"] == "SUCCESSFUL", sd
    assert revision_task_definition(berth, sd["targetServiceRevision"]["arn"]) == update["update"]["taskDefinitionArn"]
    # every poll read it, and the last one completed on ECS's SUCCESSFUL with berth's checks passing
    checks = watch_checks(berth, arn)
    assert all(c["serviceDeployment"]["arn"] == sd_arn for c in checks), checks
    assert checks[-1]["status"] == "COMPLETED", checks[-1]
    assert checks[-1]["serviceDeployment"]["status"] == "SUCCESSFUL", checks[-1]
    assert checks[-1]["detail"].endswith(f"ECS service deployment {sd_arn.rsplit('/', 1)[1]} SUCCESSFUL"), checks[-1]
    assert berth.describe(svc)["taskDefinition"].endswith("task-definition/web:2")
    assert {d for _, _, d in berth.running_images(svc)} == {NEW}


def test_a_deployment_ecs_rolls_back_is_reported_from_rollback_successful_with_the_restored_revision(berth):
    # GIVEN web:1 runs and the new image crash-loops: the circuit breaker trips and ECS rolls back
    svc = berth.make_service("web", image(OLD))
    berth.control("images", {"image": NEW, "behaviour": "crashloop"})
    arn = push(berth, NEW)
    done = berth.wait_execution(arn)
    assert done["status"] == "FAILED" and done["error"] == "DeploymentRolledBack", done
    (update,) = history_outputs(berth, arn, "UpdateService")
    sd_arn = update["update"]["serviceDeploymentArn"]
    sd = service_deployment(berth, sd_arn)
    assert sd["status"] == "ROLLBACK_SUCCESSFUL", sd
    restored = sd["rollback"]["serviceRevisionArn"]
    assert revision_task_definition(berth, restored) == svc["task_definition"]
    # THEN berth waited while ECS rolled back, and reported the failure from ROLLBACK_SUCCESSFUL
    checks = watch_checks(berth, arn)
    last = checks[-1]
    assert last["status"] == "FAILED" and last["reason"] == "RolledBack", last
    assert last["serviceDeployment"] == {
        "arn": sd_arn,
        "status": "ROLLBACK_SUCCESSFUL",
        "statusReason": sd["statusReason"],
        "restoredRevisionArn": restored,
    }, last
    assert last["detail"].startswith(
        f"ECS rolled back service deployment {sd_arn.rsplit('/', 1)[1]} (ROLLBACK_SUCCESSFUL): "
    ), last
    assert "circuit breaker TRIGGERED" in last["detail"], last
    assert last["detail"].endswith(f"restored service revision {restored.rsplit('/', 1)[1]} (web:1)"), last
    assert all(c["status"] == "IN_PROGRESS" for c in checks[:-1]), "berth never declared it over before ECS"
    # the execution's cause says ECS rolled back and what runs now
    assert "rollout FAILED (RolledBack): ECS rolled back service deployment" in done["cause"], done["cause"]
    assert "now running web:1" in done["cause"], done["cause"]
    # berth did not fight ECS's rollback: it found the service back on web:1 and redeployed nothing
    (rollback,) = history_outputs(berth, arn, "Rollback")
    assert rollback["rollback"]["alreadyRolledBack"] is True, rollback["rollback"]
    assert berth.task_definition_arns("web") == [svc["task_definition"], update["update"]["taskDefinitionArn"]]
    s = berth.wait_steady(svc)
    assert s["taskDefinition"] == svc["task_definition"]
    assert {d for _, _, d in berth.running_images(svc)} == {OLD}
