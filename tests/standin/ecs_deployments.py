"""ECS service deployments and service revisions on top of the rolling simulator.

moto 5.2.5 answers 500 to ListServiceDeployments, DescribeServiceDeployments,
DescribeServiceRevisions and StopServiceDeployment. Here every simulator deployment that CreateService
or UpdateService starts gets a service revision (what runs: task definition, images with the digest
the simulator resolves, launch type, load balancers) and a service deployment record whose status is
derived from that simulator deployment at every tick (`sync`, called by the ticker under `SIM.lock`,
so DescribeServices' `deployments[]` and DescribeServiceDeployments always tell the same story).
State changes are also put on moto's default EventBridge bus as "ECS Deployment State Change".

Records live on moto's Service object (`sim_service_deployments`, `sim_revisions`), so a reset or a
deleted service takes them away, as ECS deletes a service's deployments with the service.
"""

from __future__ import annotations

import base64
import json
import random
import string
from typing import TYPE_CHECKING, Any

from moto.core.utils import utcnow
from moto.ecs import responses as ecs_responses
from moto.ecs.exceptions import ECSException, InvalidParameterException

from . import ecs_sim
from .ecs_sim import SIM, breaker_threshold, make_deployment, new_deployment_id

if TYPE_CHECKING:  # ecs_strategies imports this module
    from .ecs_strategies import Runner

IN_FLIGHT = ("PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS")
FINISHED = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
STATUSES = IN_FLIGHT + FINISHED
LIST_DEFAULT_PAGE = 20
SUPERSEDED_REASON = "Service deployment stopped: a newer service deployment replaced it."
MANUAL_ROLLBACK_REASON = "Service deployment rolled back by StopServiceDeployment."
_ID_CHARS = string.ascii_letters + string.digits + "_-"


class ServiceDeploymentNotFoundException(ECSException):
    def __init__(self, message: str = "The service deployment does not exist.") -> None:
        super().__init__("ServiceDeploymentNotFoundException", message)


class ConflictException(ECSException):
    def __init__(self, message: str) -> None:
        super().__init__("ConflictException", message)


def _deployment_id() -> str:
    return "".join(random.choice(_ID_CHARS) for _ in range(22))


def _revision_id() -> str:
    return str(random.randint(10**18, 10**19 - 1))


def _arn(backend, kind: str, service, ident: str) -> str:
    return (
        f"arn:aws:ecs:{backend.region_name}:{backend.account_id}:{kind}/{service.cluster_name}/{service.name}/{ident}"
    )


def records(service) -> list[dict]:
    if not hasattr(service, "sim_service_deployments"):
        service.sim_service_deployments = []
        service.sim_revisions = {}
    return service.sim_service_deployments


def _find_dep(service, dep_id: str | None) -> dict | None:
    return next((d for d in service.deployments if d["id"] == dep_id), None) if dep_id else None


# ---------------------------------------------------------------- EventBridge


def emit(backend, service, name: str, dep_id: str, reason: str, now) -> None:
    """One "ECS Deployment State Change" event on the account's default bus (shape of AWS's docs)."""
    detail = {
        "eventType": "ERROR" if name == "SERVICE_DEPLOYMENT_FAILED" else "INFO",
        "eventName": name,
        "deploymentId": dep_id,
        "updatedAt": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "reason": reason,
    }
    entry = {
        "Source": "aws.ecs",
        "DetailType": "ECS Deployment State Change",
        "Detail": json.dumps(detail),
        "Resources": [service.arn],
        # no "Time": moto's SQS/log delivery template writes <time> unquoted, so only its own
        # epoch number survives (and is delivered as ISO 8601)
    }
    TRACKER.events.append({"resources": [service.arn], "detail": detail})
    del TRACKER.events[:-200]
    try:
        from moto.events.models import events_backends

        events_backends[backend.account_id][backend.region_name].put_events([entry])
    except Exception:  # noqa: BLE001 - an event that cannot be delivered must not break a tick
        import traceback

        SIM.errors.append(f"ECS Deployment State Change not delivered: {traceback.format_exc()}")


def emit_task_stopped(task) -> None:
    """One "ECS Task State Change" event for a service task that reached STOPPED (shape of AWS's
    docs, "Amazon ECS task state change events"): what berth's wake-rollout also listens to, since
    tasks failing ELB health checks stop without any deployment state change."""
    backend = task._backend
    detail = {
        "clusterArn": task.cluster_arn,
        "taskArn": task.task_arn,
        "taskDefinitionArn": task.task_definition_arn,
        "group": task.group,
        "startedBy": task.started_by,
        "lastStatus": "STOPPED",
        "desiredStatus": "STOPPED",
        "stoppedReason": task.stopped_reason,
        "stopCode": task.stop_code,
        "launchType": task.launch_type,
        "containers": [
            {"name": c.get("name"), "lastStatus": "STOPPED", "exitCode": c.get("exitCode")} for c in task.containers
        ],
        "version": 4,
    }
    entry = {
        "Source": "aws.ecs",
        "DetailType": "ECS Task State Change",
        "Detail": json.dumps(detail),
        "Resources": [task.task_arn],
    }
    try:
        from moto.events.models import events_backends

        events_backends[backend.account_id][backend.region_name].put_events([entry])
    except Exception:  # noqa: BLE001 - an event that cannot be delivered must not break a tick
        import traceback

        SIM.errors.append(f"ECS Task State Change not delivered: {traceback.format_exc()}")


# ---------------------------------------------------------------- the tracker (SIM.deployment_listener)


class Tracker:
    """Listener the simulator calls (always under SIM.lock)."""

    def __init__(self) -> None:
        self.events: list[dict] = []  # last 200 emitted events, for /_berth/state
        self.strategy_runner: Runner | None = None  # ecs_strategies.RUNNER: BLUE_GREEN / LINEAR / CANARY runs

    def reset(self) -> None:
        self.events.clear()

    def task_stopped(self, task) -> None:
        """A service task reached STOPPED (ecs_sim.finish_stop): its ECS Task State Change event."""
        if str(getattr(task, "group", "")).startswith("service:"):
            emit_task_stopped(task)

    # -- revisions

    def new_revision(self, backend, service, td_arn: str, now) -> str:
        records(service)
        td = backend.describe_task_definition(td_arn)
        arn = _arn(backend, "service-revision", service, _revision_id())
        service.sim_revisions[arn] = {
            "serviceRevisionArn": arn,
            "serviceArn": service.arn,
            "clusterArn": service.cluster_arn,
            "taskDefinition": td.arn,
            "launchType": service.launch_type or "FARGATE",
            "platformVersion": service.platform_version
            or ("1.4.0" if (service.launch_type or "FARGATE") == "FARGATE" else None),
            "platformFamily": "Linux" if (service.launch_type or "FARGATE") == "FARGATE" else None,
            "loadBalancers": [dict(lb) for lb in (service.load_balancers or [])],
            "serviceRegistries": list(service.service_registries or []),
            "networkConfiguration": service.network_configuration or None,
            "containerImages": [
                {
                    "containerName": c.get("name"),
                    "imageDigest": SIM.digest_for(c.get("image", "")),
                    "image": c.get("image"),
                }
                for c in td.container_definitions
            ],
            "guardDutyEnabled": False,
            "createdAt": now,
        }
        return arn

    # -- hooks from ecs_sim

    def deployment_started(self, backend, service, dep: dict) -> None:
        """CreateService / UpdateService started simulator deployment `dep` (now PRIMARY)."""
        now = utcnow()
        recs = records(service)
        dep["sim_revision"] = self.new_revision(backend, service, dep["taskDefinition"], now)
        sources: list[str] = []
        for d in service.deployments:
            rev = d.get("sim_revision")
            if d is not dep and rev and rev not in sources:
                sources.append(rev)
        for rec in recs:
            if rec["status"] in IN_FLIGHT:
                self._finish(rec, service, "STOPPED", now, reason=SUPERSEDED_REASON, stopped=True)
        cfg = json.loads(json.dumps(getattr(service, "deployment_configuration", None) or {}))
        breaker = cfg.get("deploymentCircuitBreaker") or {}
        alarms = cfg.get("alarms") or {}
        rec = {
            "serviceDeploymentArn": _arn(backend, "service-deployment", service, _deployment_id()),
            "serviceArn": service.arn,
            "clusterArn": service.cluster_arn,
            "createdAt": now,
            "updatedAt": now,
            "status": "PENDING",
            "sourceServiceRevisions": sources,
            "targetServiceRevision": dep["sim_revision"],
            "deploymentConfiguration": cfg,
            "deploymentCircuitBreaker": {
                "status": "MONITORING" if breaker.get("enable") else "DISABLED",
                "failureCount": 0,
                "threshold": breaker_threshold(service.desired_count),
            },
            "alarms": {
                "status": "MONITORING" if alarms.get("enable") else "DISABLED",
                "alarmNames": list(alarms.get("alarmNames") or []),
                "triggeredAlarmNames": [],
            },
            "_target_dep": dep["id"],
            "_rollback_dep": None,
            "_counts": None,  # frozen revision counts once finished
        }
        recs.append(rec)
        service.current_service_deployment = rec["serviceDeploymentArn"]
        if self.strategy_runner is not None:
            self.strategy_runner.maybe_start(backend, service, dep, rec)
        self._current_revisions(service)

    def breaker_tripped(self, backend, service, failed: dict, rollback_dep: dict | None) -> None:
        now = utcnow()
        rec = self._record_of(service, failed["id"])
        if rec is None:
            return
        reason = failed.get("rolloutStateReason") or "ECS deployment circuit breaker: tasks failed to start."
        emit(backend, service, "SERVICE_DEPLOYMENT_FAILED", failed["id"], reason, now)
        if rec["_rollback_dep"] == failed["id"]:
            # the rollback itself could not start its tasks
            self._finish(rec, service, "ROLLBACK_FAILED", now, reason=reason)
            return
        rec["deploymentCircuitBreaker"]["status"] = "TRIGGERED"
        rec["deploymentCircuitBreaker"]["failureCount"] = failed.get("failedTasks", 0)
        if rollback_dep is None:
            self._finish(rec, service, "STOPPED", now, reason=reason, stopped=True)
            return
        target = getattr(service, "sim_last_completed_revision", None)
        self._start_rollback(backend, service, rec, rollback_dep, target, reason, now)

    def sync(self, backend, service) -> None:
        """End of a tick: move every in-flight record along with its simulator deployment."""
        now = utcnow()
        for d in service.deployments:
            if d.get("rolloutState") == "COMPLETED" and d.get("sim_revision"):
                service.sim_last_completed_revision = d["sim_revision"]
        for rec in records(service):
            if rec["status"] not in IN_FLIGHT:
                continue
            target = _find_dep(service, rec["_target_dep"])
            breaker = rec["deploymentCircuitBreaker"]
            if (
                target is not None
                and breaker["status"] == "MONITORING"
                and breaker["failureCount"] != target.get("failedTasks", 0)
            ):
                breaker["failureCount"] = target.get("failedTasks", 0)
                rec["updatedAt"] = now
            if rec["status"] == "PENDING":
                rec["status"] = "IN_PROGRESS"
                rec["startedAt"] = rec["updatedAt"] = now
                if target is not None:
                    emit(
                        backend,
                        service,
                        "SERVICE_DEPLOYMENT_IN_PROGRESS",
                        target["id"],
                        target.get("rolloutStateReason") or "",
                        now,
                    )
            elif rec["status"] == "ROLLBACK_REQUESTED" and SIM.ticks > rec["_requested_tick"]:
                rec["status"] = "ROLLBACK_IN_PROGRESS"
                rec["updatedAt"] = now
            if rec["status"] == "IN_PROGRESS" and target is not None and target.get("rolloutState") == "COMPLETED":
                if rec["deploymentCircuitBreaker"]["status"] == "MONITORING":
                    rec["deploymentCircuitBreaker"]["status"] = "MONITORING_COMPLETE"
                if rec["alarms"]["status"] == "MONITORING":
                    rec["alarms"]["status"] = "MONITORING_COMPLETE"
                self._finish(rec, service, "SUCCESSFUL", now)
                emit(
                    backend,
                    service,
                    "SERVICE_DEPLOYMENT_COMPLETED",
                    target["id"],
                    target.get("rolloutStateReason") or "",
                    now,
                )
            elif rec["status"] == "ROLLBACK_IN_PROGRESS":
                rb = _find_dep(service, rec["_rollback_dep"])
                if rb is not None and rb.get("rolloutState") == "COMPLETED":
                    self._finish(rec, service, "ROLLBACK_SUCCESSFUL", now)
                    emit(
                        backend,
                        service,
                        "SERVICE_DEPLOYMENT_COMPLETED",
                        rb["id"],
                        rb.get("rolloutStateReason") or "",
                        now,
                    )
        self._current_revisions(service)

    # -- StopServiceDeployment

    def stop(self, backend, service, rec: dict, stop_type: str) -> None:
        if rec["status"] in ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "STOP_REQUESTED"):
            return  # the stop or rollback already under way continues
        if rec["status"] not in IN_FLIGHT:
            raise ConflictException(
                f"The service deployment {rec['serviceDeploymentArn']} is {rec['status']}: "
                "only a deployment that has not finished can be stopped."
            )
        run = getattr(service, "sim_strategy", None)
        if run is not None and run.rec is rec and self.strategy_runner is not None:
            self.strategy_runner.stop(backend, service, run)
            return
        sources = rec["sourceServiceRevisions"]
        if not sources:
            raise InvalidParameterException(
                "The service deployment has no source service revision to roll back to "
                "(the service's first deployment)."
            )
        last = getattr(service, "sim_last_completed_revision", None)
        target_rev = last if last in sources else sources[0]
        now = utcnow()
        failed = _find_dep(service, rec["_target_dep"])
        if failed is not None:
            failed["status"] = "ACTIVE"
            failed["updatedAt"] = now
        for d in service.deployments:
            if d["status"] == "PRIMARY":
                d["status"] = "ACTIVE"
                d["updatedAt"] = now
        td = service.sim_revisions[target_rev]["taskDefinition"]
        rollback_dep = make_deployment(service, new_deployment_id(), td, now)
        rollback_dep["rolloutStateReason"] = (
            f"ECS deployment {rec['_target_dep']} stopped by StopServiceDeployment: rolling back."
        )
        service.deployments.insert(0, rollback_dep)
        service.task_definition = td
        SIM.event(
            service,
            f"(service {service.name}) rolling back service deployment "
            f"{rec['serviceDeploymentArn'].rsplit('/', 1)[1]} (StopServiceDeployment).",
        )
        self._start_rollback(backend, service, rec, rollback_dep, target_rev, MANUAL_ROLLBACK_REASON, now)

    # -- helpers

    def _start_rollback(
        self, backend, service, rec, rollback_dep: dict, revision: str | None, reason: str, now
    ) -> None:
        rollback_dep["sim_revision"] = revision
        rec["status"] = "ROLLBACK_REQUESTED"
        rec["statusReason"] = reason
        rec["updatedAt"] = now
        rec["rollback"] = {"reason": reason, "startedAt": now, "serviceRevisionArn": revision}
        rec["_rollback_dep"] = rollback_dep["id"]
        rec["_requested_tick"] = SIM.ticks  # ROLLBACK_REQUESTED is seen for one tick at least
        emit(
            backend,
            service,
            "SERVICE_DEPLOYMENT_IN_PROGRESS",
            rollback_dep["id"],
            rollback_dep.get("rolloutStateReason") or reason,
            now,
        )

    def _record_of(self, service, dep_id: str) -> dict | None:
        for rec in reversed(records(service)):
            if dep_id in (rec["_target_dep"], rec["_rollback_dep"]) and rec["status"] in IN_FLIGHT:
                return rec
        return None

    def _finish(self, rec: dict, service, status: str, now, reason: str | None = None, stopped: bool = False) -> None:
        rec["_counts"] = {
            arn: self._revision_counts(service, arn, rec)
            for arn in [*rec["sourceServiceRevisions"], rec["targetServiceRevision"]]
        }
        rec["status"] = status
        rec["updatedAt"] = rec["finishedAt"] = now
        if stopped:
            rec["stoppedAt"] = now
        if reason:
            rec["statusReason"] = reason
        for key in ("deploymentCircuitBreaker", "alarms"):
            if rec[key]["status"] == "MONITORING":
                rec[key]["status"] = "MONITORING_COMPLETE"

    def _revision_counts(self, service, arn: str, rec: dict) -> dict:
        if rec.get("_counts") and arn in rec["_counts"]:
            return rec["_counts"][arn]
        deps = [d for d in service.deployments if d.get("sim_revision") == arn]
        # The target is asked to run desiredCount tasks and the sources are scaled in to 0 (a rolling
        # update); once rolling back, the revision rolled back to is the one asked to run them.
        if rec.get("rollback"):
            wanted = arn == rec["rollback"].get("serviceRevisionArn")
        else:
            wanted = arn == rec["targetServiceRevision"]
        requested = (rec.get("_requested") or {}).get(arn, service.desired_count if wanted else 0)
        out = {
            "arn": arn,
            "requestedTaskCount": requested,
            "runningTaskCount": sum(d.get("runningCount", 0) for d in deps),
            "pendingTaskCount": sum(d.get("pendingCount", 0) for d in deps),
        }
        weights = rec.get("_weights")  # BLUE_GREEN / LINEAR / CANARY runs only
        if weights:
            out["requestedTestTrafficWeight"] = float(weights["test"].get(arn, 0.0))
            out["requestedProductionTrafficWeight"] = float(weights["prod"].get(arn, 0.0))
        return out

    def _current_revisions(self, service) -> None:
        out: dict[str, dict] = {}
        for d in service.deployments:
            arn = d.get("sim_revision")
            if not arn:
                continue
            row = out.setdefault(
                arn, {"arn": arn, "requestedTaskCount": 0, "runningTaskCount": 0, "pendingTaskCount": 0}
            )
            if d["status"] == "PRIMARY":
                row["requestedTaskCount"] = service.desired_count
            row["runningTaskCount"] += d.get("runningCount", 0)
            row["pendingTaskCount"] += d.get("pendingCount", 0)
        service.current_service_revisions = list(out.values())

    # -- views

    def view(self, service, rec: dict) -> dict:
        out = {k: v for k, v in rec.items() if not k.startswith("_") and v is not None}
        out["sourceServiceRevisions"] = [self._revision_counts(service, a, rec) for a in rec["sourceServiceRevisions"]]
        tgt = self._revision_counts(service, rec["targetServiceRevision"], rec)
        out["targetServiceRevision"] = tgt
        return out

    def brief(self, rec: dict) -> dict:
        keys = (
            "serviceDeploymentArn",
            "serviceArn",
            "clusterArn",
            "startedAt",
            "createdAt",
            "finishedAt",
            "status",
            "statusReason",
        )
        out = {k: rec[k] for k in keys if rec.get(k) is not None}
        out["targetServiceRevisionArn"] = rec["targetServiceRevision"]
        return out


TRACKER = Tracker()


# ---------------------------------------------------------------- API (patched onto moto's ECS responses)


def _service_of_arn(backend, arn: str, kind: str):
    """-> (service, id) for arn:aws:ecs:R:A:<kind>/CLUSTER/SERVICE/ID, or (None, None)."""
    try:
        head, cluster, name, ident = arn.split("/")
    except ValueError:
        return None, None
    if not head.endswith(":" + kind):
        return None, None
    svc = backend.services.get(f"{cluster}:{name}")
    return (svc, ident) if svc is not None else (None, None)


def _lookup_record(backend, arn: str):
    svc, _ = _service_of_arn(backend, arn or "", "service-deployment")
    if svc is None:
        return None, None
    rec = next((r for r in records(svc) if r["serviceDeploymentArn"] == arn), None)
    return (svc, rec) if rec else (None, None)


def _token(query: dict, after: str) -> str:
    doc = {"q": query, "after": after}
    return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode().rstrip("=")


def _cursor(token: str, query: dict) -> str:
    try:
        doc = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if doc["q"] != query:
            raise ValueError("token of another query")
        return str(doc["after"])
    except Exception:  # noqa: BLE001 - any malformed token is the caller's error
        raise InvalidParameterException("Invalid nextToken.") from None


def _ts(value) -> float | None:
    if value is None:
        return None
    if hasattr(value, "timestamp"):
        return value.timestamp()
    return float(value)


def list_service_deployments(self):
    from moto.core.responses import ActionResult

    cluster = self._get_param("cluster") or "default"
    service_ref = self._get_param("service")
    statuses = self._get_param("status") or []
    created = self._get_param("createdAt") or {}
    max_results = self._get_param("maxResults")
    token = self._get_param("nextToken")
    if not service_ref:
        raise InvalidParameterException("service must be specified.")
    bad = [s for s in statuses if s not in STATUSES]
    if bad:
        raise InvalidParameterException(f"Invalid status {bad[0]}: must be one of {', '.join(STATUSES)}.")
    page = LIST_DEFAULT_PAGE
    if max_results is not None:
        page = int(max_results)
        if not 1 <= page <= 100:
            raise InvalidParameterException("maxResults must be between 1 and 100.")
    with SIM.lock:
        self.ecs_backend._get_cluster(cluster)
        service = self.ecs_backend._get_service(cluster, service_ref.split("/")[-1])
        before, after = _ts(created.get("before")), _ts(created.get("after"))
        rows = [
            r
            for r in reversed(records(service))  # newest first
            if (not statuses or r["status"] in statuses)
            and (before is None or r["createdAt"].timestamp() <= before)
            and (after is None or r["createdAt"].timestamp() >= after)
        ]
        query = {"c": cluster, "s": service.arn, "st": sorted(statuses), "b": before, "a": after}
        if token:
            last = _cursor(token, query)
            arns = [r["serviceDeploymentArn"] for r in rows]
            rows = rows[arns.index(last) + 1 :] if last in arns else []
        out: dict[str, Any] = {"serviceDeployments": [TRACKER.brief(r) for r in rows[:page]]}
        if len(rows) > page:
            out["nextToken"] = _token(query, rows[page - 1]["serviceDeploymentArn"])
    return ActionResult(out)


def describe_service_deployments(self):
    from moto.core.responses import ActionResult

    arns = self._get_param("serviceDeploymentArns") or []
    if not arns:
        raise InvalidParameterException("serviceDeploymentArns must not be empty.")
    found, failures = [], []
    with SIM.lock:
        for arn in arns:
            svc, rec = _lookup_record(self.ecs_backend, arn)
            if rec is None:
                failures.append({"arn": arn, "reason": "MISSING"})
            else:
                found.append(TRACKER.view(svc, rec))
    return ActionResult({"serviceDeployments": found, "failures": failures})


def describe_service_revisions(self):
    from moto.core.responses import ActionResult

    arns = self._get_param("serviceRevisionArns") or []
    if not arns:
        raise InvalidParameterException("serviceRevisionArns must not be empty.")
    found, failures = [], []
    with SIM.lock:
        for arn in arns:
            svc, _ = _service_of_arn(self.ecs_backend, arn, "service-revision")
            rev = getattr(svc, "sim_revisions", {}).get(arn) if svc is not None else None
            if rev is None:
                failures.append({"arn": arn, "reason": "MISSING"})
            else:
                found.append({k: v for k, v in rev.items() if v is not None})
    return ActionResult({"serviceRevisions": found, "failures": failures})


def stop_service_deployment(self):
    from moto.core.responses import ActionResult

    arn = self._get_param("serviceDeploymentArn")
    stop_type = self._get_param("stopType") or "ROLLBACK"
    if stop_type not in ("ROLLBACK", "ABORT"):
        raise InvalidParameterException("stopType must be ROLLBACK.")
    with SIM.lock:
        svc, rec = _lookup_record(self.ecs_backend, arn)
        if rec is None:
            raise ServiceDeploymentNotFoundException()
        if stop_type == "ABORT":
            raise InvalidParameterException("stopType ABORT is not supported; use ROLLBACK.")
        TRACKER.stop(self.ecs_backend, svc, rec, stop_type)
    return ActionResult({"serviceDeploymentArn": arn})


_INSTALLED = False


def install() -> None:
    global _INSTALLED
    if _INSTALLED:
        return
    _INSTALLED = True
    SIM.deployment_listener = TRACKER
    # Operations moto's ECS does not have: added to its response class, which dispatches by name.
    for name, operation in {
        "list_service_deployments": list_service_deployments,
        "describe_service_deployments": describe_service_deployments,
        "describe_service_revisions": describe_service_revisions,
        "stop_service_deployment": stop_service_deployment,
    }.items():
        setattr(ecs_responses.EC2ContainerServiceResponse, name, operation)


__all__ = ["TRACKER", "install", "records", "ecs_sim"]
