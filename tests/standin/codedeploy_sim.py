"""CodeDeploy blue/green simulator for Amazon ECS (awsJson1_1, `X-Amz-Target: CodeDeploy_20141006.<Op>`).

moto 5.2.5's CodeDeploy keeps deployments `Created` forever and has no StopDeployment,
PutLifecycleEventHookExecutionStatus or deployment-target APIs. This module owns all CodeDeploy state
of the stand-in (moto's CodeDeploy backend is never consulted) and runs one thread per deployment that
walks the ECS blue/green lifecycle:

    BeforeInstall, Install, AfterInstall, AllowTestTraffic, AfterAllowTestTraffic,
    BeforeAllowTraffic, AllowTraffic, AfterAllowTraffic   (+ the blue termination wait)

A hook named in the AppSpec is invoked through the front server's own Lambda route (so it reaches the
real Lambda under `cargo lambda watch`) with `X-Amz-Invocation-Type: Event` and the payload
`{"DeploymentId", "LifecycleEventHookExecutionId"}`; the event then waits for
PutLifecycleEventHookExecutionStatus, at most `hook_timeout_seconds`.

The simulator also keeps, per ECS service, which task definition the PROD and the TEST listener
route to (`traffic`), and answers the listener probe route of the front (`probe`).

All state is guarded by `ecs_sim.SIM.lock` (one lock for ECS and CodeDeploy, so no lock ordering);
nothing blocks while holding it (hook invocations and waits release it).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import random
import re
import string
import threading
import time
import traceback
import urllib.parse
import uuid
from typing import Any

from . import ecs_sim

ACCOUNT = "123456789012"
JSON_CT = "application/x-amz-json-1.1"
TARGET_PREFIX = "CodeDeploy_20141006."

LIFECYCLE = (
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "AllowTestTraffic",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
)
HOOK_EVENTS = ("BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic")
ACTIVE_STATUSES = ("Created", "Queued", "InProgress", "Ready", "Baking")
ALL_STATUSES = ("Created", "Queued", "InProgress", "Baking", "Succeeded", "Failed", "Stopped", "Ready")
DEPLOYMENT_ID = re.compile(r"^d-[A-Z0-9]{9}$")

BUILTIN_CONFIGS: dict[str, dict] = {
    "CodeDeployDefault.ECSAllAtOnce": {"type": "AllAtOnce"},
    "CodeDeployDefault.ECSCanary10Percent5Minutes": {
        "type": "TimeBasedCanary",
        "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 5},
    },
    "CodeDeployDefault.ECSCanary10Percent15Minutes": {
        "type": "TimeBasedCanary",
        "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 15},
    },
    "CodeDeployDefault.ECSLinear10PercentEvery1Minutes": {
        "type": "TimeBasedLinear",
        "timeBasedLinear": {"linearPercentage": 10, "linearInterval": 1},
    },
    "CodeDeployDefault.ECSLinear10PercentEvery3Minutes": {
        "type": "TimeBasedLinear",
        "timeBasedLinear": {"linearPercentage": 10, "linearInterval": 3},
    },
}
BUILTIN_CREATED = 1546300800.0  # a fixed createTime for the built-in configs

DEFAULT_SETTINGS = {
    "codedeploy_minute_seconds": 1.0,  # one deployment-config "minute" (canary/linear interval, termination wait)
    "hook_timeout_seconds": 60.0,  # real CodeDeploy: 1 hour
    "probe_hang_seconds": 30.0,  # how long a probe-hang image makes the listener probe wait
    "install_timeout_seconds": 60.0,  # Install waits this long for a healthy replacement task set (real: 60 min)
}


class ApiError(Exception):
    def __init__(self, name: str, message: str, status: int = 400):
        super().__init__(message)
        self.name = name
        self.message = message
        self.status = status


class _Stopped(Exception):  # noqa: N818 - a control-flow signal, not an error
    """StopDeployment was called while the driver was waiting."""


class _Aborted(Exception):  # noqa: N818 - a control-flow signal, not an error
    """The stand-in was reset: the driver leaves without touching anything."""


class _LifecycleEventError(Exception):
    """A lifecycle event failed: its error code, message and diagnostics, as CodeDeploy reports them."""

    def __init__(self, code: str, message: str, diagnostics: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.diagnostics = diagnostics


def now() -> float:
    return round(time.time(), 3)


def new_deployment_id() -> str:
    return "d-" + "".join(random.choice(string.ascii_uppercase + string.digits) for _ in range(9))


def new_execution_id() -> str:
    """Opaque, unique, shaped like the real ones (base64 of an encrypted JSON blob)."""
    blob = {
        "encryptedData": base64.b64encode(os.urandom(96)).decode(),
        "ivParameterSpec": base64.b64encode(os.urandom(16)).decode(),
        "materialSetSerial": 1,
    }
    return base64.b64encode(json.dumps(blob, separators=(",", ":")).encode()).decode()


def clean(value: Any) -> Any:
    """Drop None members (the Rust SDK does not need explicit nulls) recursively."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


class Deployment:
    def __init__(self, **kw):
        self.id: str = kw["id"]
        self.region: str = kw["region"]
        self.application: str = kw["application"]
        self.group: str = kw["group"]
        self.config_name: str = kw["config_name"]
        self.description: str | None = kw.get("description")
        self.revision: dict = kw["revision"]
        self.creator: str = kw.get("creator", "user")
        self.cluster: str = kw["cluster"]
        self.service: str = kw["service"]
        self.service_arn: str = kw["service_arn"]
        self.blue_td: str = kw["blue_td"]
        self.green_td: str = kw["green_td"]
        self.container_name: str | None = kw.get("container_name")
        self.container_port: int | None = kw.get("container_port")
        self.hooks: dict[str, str] = kw.get("hooks", {})
        self.auto_rollback: dict = kw.get("auto_rollback") or {"enabled": False}
        self.target_groups: list[str] = kw.get("target_groups", [])
        self.termination_wait_minutes: float = kw.get("termination_wait_minutes", 0)
        self.status = "Created"
        self.create_time = now()
        self.start_time: float | None = None
        self.complete_time: float | None = None
        self.error: dict | None = None
        self.rollback_info: dict | None = None
        self.target_status = "Pending"
        self.target_updated = self.create_time
        self.events: list[dict[str, Any]] = [{"lifecycleEventName": n, "status": "Pending"} for n in LIFECYCLE]
        self.hook_log: list[dict] = []
        self.traffic_log: list[dict] = []
        self.stop_requested = False
        self.stop_rollback = False
        self.aborted = False
        self.thread: threading.Thread | None = None
        self.green_task_set: str | None = None
        self.blue_task_set: str | None = None
        self.blue_tg: str | None = kw.get("blue_tg")
        self.green_tg: str | None = kw.get("green_tg")
        self.traffic_started = False
        self.skip_termination_wait = False  # ContinueDeployment(TERMINATION_WAIT) ends the wait
        self.internal_error: str | None = None

    def event(self, name: str) -> dict:
        return next(e for e in self.events if e["lifecycleEventName"] == name)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class CodeDeploySim:
    def __init__(self) -> None:
        self.lock = ecs_sim.SIM.lock
        self.cond = threading.Condition(self.lock)
        self.port: int | None = None
        self.settings: dict[str, float] = dict(DEFAULT_SETTINGS)
        self.apps: dict[tuple, dict] = {}
        self.groups: dict[tuple, dict] = {}
        self.configs: dict[tuple, dict] = {}
        self.deployments: dict[str, Deployment] = {}
        self.executions: dict[str, dict] = {}
        self.traffic: dict[tuple, dict] = {}
        self.probe_counters: dict[tuple, int] = {}
        self.errors: list[str] = []
        self.metric_carry: dict[str, list[float]] = {}  # target group ARN -> [requests, 5xx] fractions

    # ------------------------------------------------------------ control

    def reset(self) -> None:
        with self.lock:
            for d in self.deployments.values():
                d.aborted = True
            self.cond.notify_all()
            self.settings = dict(DEFAULT_SETTINGS)
            self.apps.clear()
            self.groups.clear()
            self.configs.clear()
            self.deployments.clear()
            self.executions.clear()
            self.traffic.clear()
            self.probe_counters.clear()
            self.errors.clear()
            self.metric_carry.clear()

    def configure(self, doc: dict) -> dict:
        with self.lock:
            for key in DEFAULT_SETTINGS:
                if key in doc:
                    value = float(doc[key])
                    if value < 0:
                        raise ValueError(f"{key} must be >= 0")
                    self.settings[key] = value
            self.cond.notify_all()
            return dict(self.settings)

    def minutes(self, m: float) -> float:
        return m * self.settings["codedeploy_minute_seconds"]

    # ------------------------------------------------------------ HTTP entry

    def handle(self, op: str, body: bytes, region: str) -> tuple[int, dict, bytes]:
        headers = {"Content-Type": JSON_CT, "x-amzn-RequestId": str(uuid.uuid4())}
        try:
            try:
                params = json.loads(body) if body else {}
            except ValueError as e:
                raise ApiError("SerializationException", "request body is not JSON") from e
            if not isinstance(params, dict):
                raise ApiError("SerializationException", "request body must be a JSON object")
            fn = getattr(self, "op_" + op, None)
            if fn is None:
                raise ApiError("UnknownOperationException", f"stand-in: CodeDeploy operation {op} is not simulated")
            with self.lock:
                out = fn(params, region)
            return 200, headers, json.dumps(clean(out)).encode()
        except ApiError as e:
            return e.status, headers, json.dumps({"__type": e.name, "message": e.message}).encode()

    # ------------------------------------------------------------ helpers

    @staticmethod
    def need(params: dict, key: str, exc: str, what: str | None = None) -> Any:
        v = params.get(key)
        if v in (None, "", []):
            raise ApiError(exc, f"{what or key} is required")
        return v

    def app(self, region: str, name: str) -> dict:
        a = self.apps.get((region, name))
        if a is None:
            raise ApiError("ApplicationDoesNotExistException", f"No application found for name: {name}")
        return a

    def group(self, region: str, app: str, name: str) -> dict:
        g = self.groups.get((region, app, name))
        if g is None:
            raise ApiError("DeploymentGroupDoesNotExistException", f"No Deployment Group found for name: {name}")
        return g

    def deployment(self, params: dict) -> Deployment:
        dep_id = params.get("deploymentId")
        if not dep_id:
            raise ApiError("DeploymentIdRequiredException", "Deployment ID is required")
        if not DEPLOYMENT_ID.match(dep_id):
            raise ApiError(
                "InvalidDeploymentIdException", f"Specified DeploymentId is not in the valid format: {dep_id}"
            )
        d = self.deployments.get(dep_id)
        if d is None:
            raise ApiError("DeploymentDoesNotExistException", f"The deployment {dep_id} could not be found.")
        return d

    def config(self, region: str, name: str) -> dict:
        if name in BUILTIN_CONFIGS:
            return {
                "deploymentConfigId": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
                "deploymentConfigName": name,
                "createTime": BUILTIN_CREATED,
                "computePlatform": "ECS",
                "trafficRoutingConfig": BUILTIN_CONFIGS[name],
            }
        c = self.configs.get((region, name))
        if c is None:
            raise ApiError(
                "DeploymentConfigDoesNotExistException", f"No deployment configuration found for name: {name}"
            )
        return c

    @staticmethod
    def ecs_backend(region: str):
        from moto.ecs.models import ecs_backends

        return ecs_backends[ACCOUNT][region]

    def ecs_service(self, region: str, cluster: str, service: str):
        from moto.ecs.exceptions import ClusterNotFoundException, ServiceNotFoundException

        try:
            s = self.ecs_backend(region)._get_service(cluster, service)
        except (ClusterNotFoundException, ServiceNotFoundException):
            return None
        return s if s.status == "ACTIVE" else None

    def task_definition(self, region: str, ref: str):
        from moto.ecs.exceptions import TaskDefinitionNotFoundException

        try:
            return self.ecs_backend(region).describe_task_definition(ref)
        except (TaskDefinitionNotFoundException, ValueError):
            return None

    # ------------------------------------------------------------ applications

    def op_CreateApplication(self, p: dict, region: str) -> dict:
        name = self.need(p, "applicationName", "ApplicationNameRequiredException", "Application name")
        if (region, name) in self.apps:
            raise ApiError(
                "ApplicationAlreadyExistsException",
                f"The application {name} already exists with the IAM user or AWS account.",
            )
        platform = p.get("computePlatform", "Server")
        if platform not in ("Server", "Lambda", "ECS"):
            raise ApiError("InvalidComputePlatformException", f"Invalid compute platform: {platform}")
        app_id = str(uuid.uuid4())
        self.apps[(region, name)] = {
            "applicationId": app_id,
            "applicationName": name,
            "createTime": now(),
            "linkedToGitHub": False,
            "computePlatform": platform,
        }
        return {"applicationId": app_id}

    def op_GetApplication(self, p: dict, region: str) -> dict:
        name = self.need(p, "applicationName", "ApplicationNameRequiredException", "Application name")
        return {"application": self.app(region, name)}

    def op_BatchGetApplications(self, p: dict, region: str) -> dict:
        return {"applicationsInfo": [self.app(region, n) for n in p.get("applicationNames") or []]}

    def op_ListApplications(self, p: dict, region: str) -> dict:
        return {"applications": sorted(n for (r, n) in self.apps if r == region)}

    def op_DeleteApplication(self, p: dict, region: str) -> dict:
        name = self.need(p, "applicationName", "ApplicationNameRequiredException", "Application name")
        self.apps.pop((region, name), None)
        for key in [k for k in self.groups if k[0] == region and k[1] == name]:
            del self.groups[key]
        return {}

    # ------------------------------------------------------------ deployment configs

    def op_GetDeploymentConfig(self, p: dict, region: str) -> dict:
        name = self.need(p, "deploymentConfigName", "DeploymentConfigNameRequiredException", "Deployment config name")
        return {"deploymentConfigInfo": self.config(region, name)}

    def op_ListDeploymentConfigs(self, p: dict, region: str) -> dict:
        names = list(BUILTIN_CONFIGS) + sorted(n for (r, n) in self.configs if r == region)
        return {"deploymentConfigsList": names}

    def op_CreateDeploymentConfig(self, p: dict, region: str) -> dict:
        name = self.need(p, "deploymentConfigName", "DeploymentConfigNameRequiredException", "Deployment config name")
        if name in BUILTIN_CONFIGS or (region, name) in self.configs:
            raise ApiError(
                "DeploymentConfigAlreadyExistsException",
                f"A deployment configuration with the name {name} already exists.",
            )
        platform = p.get("computePlatform", "Server")
        trc = p.get("trafficRoutingConfig") or {"type": "AllAtOnce"}
        self.parse_routing(trc, "InvalidTrafficRoutingConfigurationException")
        cfg_id = str(uuid.uuid4())
        self.configs[(region, name)] = {
            "deploymentConfigId": cfg_id,
            "deploymentConfigName": name,
            "createTime": now(),
            "computePlatform": platform,
            "trafficRoutingConfig": trc,
        }
        return {"deploymentConfigId": cfg_id}

    def op_DeleteDeploymentConfig(self, p: dict, region: str) -> dict:
        name = self.need(p, "deploymentConfigName", "DeploymentConfigNameRequiredException", "Deployment config name")
        if name in BUILTIN_CONFIGS:
            raise ApiError("InvalidOperationException", "Built-in deployment configurations cannot be deleted.")
        self.configs.pop((region, name), None)
        return {}

    @staticmethod
    def parse_routing(trc: dict, exc: str) -> list[tuple[int, float]]:
        """-> [(green percent, minutes to wait after reaching it)], ending with (100, 0)."""
        kind = trc.get("type", "AllAtOnce")
        if kind == "AllAtOnce":
            return [(100, 0)]
        if kind == "TimeBasedCanary":
            c = trc.get("timeBasedCanary") or {}
            pct, interval = int(c.get("canaryPercentage", 0)), float(c.get("canaryInterval", 0))
            if not 0 < pct < 100 or interval <= 0:
                raise ApiError(exc, "timeBasedCanary needs 0 < canaryPercentage < 100 and canaryInterval > 0")
            return [(pct, interval), (100, 0)]
        if kind == "TimeBasedLinear":
            c = trc.get("timeBasedLinear") or {}
            pct, interval = int(c.get("linearPercentage", 0)), float(c.get("linearInterval", 0))
            if not 0 < pct < 100 or interval <= 0:
                raise ApiError(exc, "timeBasedLinear needs 0 < linearPercentage < 100 and linearInterval > 0")
            steps, p = [], pct
            while p < 100:
                steps.append((p, interval))
                p += pct
            return steps + [(100, 0)]
        raise ApiError(exc, f"Unknown traffic routing type {kind}")

    # ------------------------------------------------------------ deployment groups

    def validate_group(self, region: str, g: dict) -> None:
        app = self.apps[(region, g["applicationName"])]
        if not g.get("serviceRoleArn"):
            raise ApiError("RoleRequiredException", "Role ARN is required for deployment group.")
        self.config(region, g["deploymentConfigName"])
        if app["computePlatform"] != "ECS":
            return
        style = g.get("deploymentStyle") or {}
        if style.get("deploymentType") != "BLUE_GREEN" or style.get("deploymentOption") != "WITH_TRAFFIC_CONTROL":
            raise ApiError(
                "InvalidDeploymentStyleException",
                "For ECS deployment group, deploymentType must be BLUE_GREEN and deploymentOption WITH_TRAFFIC_CONTROL",
            )
        services = g.get("ecsServices") or []
        if len(services) != 1:
            raise ApiError("InvalidECSServiceException", "An ECS deployment group needs exactly one ECS service.")
        svc = services[0]
        if not svc.get("clusterName") or not svc.get("serviceName"):
            raise ApiError("InvalidECSServiceException", "ECS service needs clusterName and serviceName.")
        s = self.ecs_service(region, svc["clusterName"], svc["serviceName"])
        if s is None:
            raise ApiError(
                "InvalidECSServiceException",
                f"Deployment group's ECS service {svc['clusterName']}/{svc['serviceName']} does not exist.",
            )
        if (s.deployment_controller or {}).get("type") != "CODE_DEPLOY":
            raise ApiError(
                "InvalidECSServiceException",
                f"Deployment group's ECS service {svc['clusterName']}/{svc['serviceName']} "
                "must be configured for a CODE_DEPLOY deployment controller.",
            )
        pairs = ((g.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList")) or []
        if len(pairs) != 1:
            raise ApiError(
                "InvalidLoadBalancerInfoException",
                "An ECS deployment group needs exactly one targetGroupPairInfoList entry.",
            )
        pair = pairs[0]
        tgs = pair.get("targetGroups") or []
        if len(tgs) != 2 or not all(t.get("name") for t in tgs):
            raise ApiError(
                "InvalidTargetGroupPairException",
                "targetGroupPairInfoList[0].targetGroups needs exactly two target groups by name.",
            )
        if not (pair.get("prodTrafficRoute") or {}).get("listenerArns"):
            raise ApiError("InvalidTargetGroupPairException", "prodTrafficRoute.listenerArns is required.")
        if not g.get("blueGreenDeploymentConfiguration"):
            raise ApiError(
                "InvalidBlueGreenDeploymentConfigurationException",
                "blueGreenDeploymentConfiguration is required for an ECS deployment group.",
            )
        arc = g.get("autoRollbackConfiguration")
        if arc:
            for ev in arc.get("events") or []:
                if ev not in ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST"):
                    raise ApiError("InvalidAutoRollbackConfigException", f"Invalid auto rollback event {ev}")

    def op_CreateDeploymentGroup(self, p: dict, region: str) -> dict:
        app_name = self.need(p, "applicationName", "ApplicationNameRequiredException", "Application name")
        name = self.need(p, "deploymentGroupName", "DeploymentGroupNameRequiredException", "Deployment group name")
        app = self.app(region, app_name)
        if (region, app_name, name) in self.groups:
            raise ApiError("DeploymentGroupAlreadyExistsException", f"The deployment group {name} already exists.")
        g = {k: v for k, v in p.items() if k != "tags"}
        g["deploymentConfigName"] = p.get("deploymentConfigName") or (
            "CodeDeployDefault.ECSAllAtOnce" if app["computePlatform"] == "ECS" else "CodeDeployDefault.OneAtATime"
        )
        g["computePlatform"] = app["computePlatform"]
        g["deploymentGroupId"] = str(uuid.uuid4())
        self.validate_group(region, g)
        self.groups[(region, app_name, name)] = g
        return {"deploymentGroupId": g["deploymentGroupId"]}

    def op_UpdateDeploymentGroup(self, p: dict, region: str) -> dict:
        app_name = self.need(p, "applicationName", "ApplicationNameRequiredException", "Application name")
        current = self.need(
            p, "currentDeploymentGroupName", "DeploymentGroupNameRequiredException", "Deployment group name"
        )
        self.app(region, app_name)
        g = dict(self.group(region, app_name, current))
        for k, v in p.items():
            if k not in ("applicationName", "currentDeploymentGroupName", "newDeploymentGroupName"):
                g[k] = v
        new_name = p.get("newDeploymentGroupName") or current
        if new_name != current and (region, app_name, new_name) in self.groups:
            raise ApiError("DeploymentGroupAlreadyExistsException", f"The deployment group {new_name} already exists.")
        g["deploymentGroupName"] = new_name
        self.validate_group(region, g)
        del self.groups[(region, app_name, current)]
        self.groups[(region, app_name, new_name)] = g
        return {"hooksNotCleanedUp": []}

    def op_DeleteDeploymentGroup(self, p: dict, region: str) -> dict:
        app_name = self.need(p, "applicationName", "ApplicationNameRequiredException", "Application name")
        name = self.need(p, "deploymentGroupName", "DeploymentGroupNameRequiredException", "Deployment group name")
        self.groups.pop((region, app_name, name), None)
        return {"hooksNotCleanedUp": []}

    def group_info(self, region: str, g: dict) -> dict:
        info = {
            "applicationName": g["applicationName"],
            "deploymentGroupId": g["deploymentGroupId"],
            "deploymentGroupName": g["deploymentGroupName"],
            "deploymentConfigName": g["deploymentConfigName"],
            "ec2TagFilters": [],
            "onPremisesInstanceTagFilters": [],
            "autoScalingGroups": [],
            "serviceRoleArn": g.get("serviceRoleArn"),
            "triggerConfigurations": g.get("triggerConfigurations") or [],
            "alarmConfiguration": g.get("alarmConfiguration")
            or {"enabled": False, "ignorePollAlarmFailure": False, "alarms": []},
            "autoRollbackConfiguration": g.get("autoRollbackConfiguration") or {"enabled": False, "events": []},
            "deploymentStyle": g.get("deploymentStyle"),
            "outdatedInstancesStrategy": g.get("outdatedInstancesStrategy") or "UPDATE",
            "blueGreenDeploymentConfiguration": g.get("blueGreenDeploymentConfiguration"),
            "loadBalancerInfo": g.get("loadBalancerInfo"),
            "computePlatform": g["computePlatform"],
            "ecsServices": g.get("ecsServices") or [],
            "terminationHookEnabled": False,
        }
        mine = [
            d
            for d in self.deployments.values()
            if d.region == region and d.application == g["applicationName"] and d.group == g["deploymentGroupName"]
        ]
        if mine:
            last = max(mine, key=lambda d: d.create_time)
            info["lastAttemptedDeployment"] = self.last_info(last)
            ok = [d for d in mine if d.status == "Succeeded" and d.creator != "codeDeployRollback"]
            if ok:
                info["lastSuccessfulDeployment"] = self.last_info(max(ok, key=lambda d: d.create_time))
        return info

    @staticmethod
    def last_info(d: Deployment) -> dict:
        return {"deploymentId": d.id, "status": d.status, "endTime": d.complete_time, "createTime": d.create_time}

    def op_GetDeploymentGroup(self, p: dict, region: str) -> dict:
        app_name = self.need(p, "applicationName", "ApplicationNameRequiredException", "Application name")
        name = self.need(p, "deploymentGroupName", "DeploymentGroupNameRequiredException", "Deployment group name")
        self.app(region, app_name)
        return {"deploymentGroupInfo": self.group_info(region, self.group(region, app_name, name))}

    def op_BatchGetDeploymentGroups(self, p: dict, region: str) -> dict:
        app_name = self.need(p, "applicationName", "ApplicationNameRequiredException", "Application name")
        self.app(region, app_name)
        infos, missing = [], []
        for n in p.get("deploymentGroupNames") or []:
            g = self.groups.get((region, app_name, n))
            if g is None:
                missing.append(n)
            else:
                infos.append(self.group_info(region, g))
        out: dict[str, Any] = {"deploymentGroupsInfo": infos}
        if missing:
            out["errorMessage"] = f"Deployment groups not found: {', '.join(missing)}"
        return out

    def op_ListDeploymentGroups(self, p: dict, region: str) -> dict:
        app_name = self.need(p, "applicationName", "ApplicationNameRequiredException", "Application name")
        self.app(region, app_name)
        return {
            "applicationName": app_name,
            "deploymentGroups": sorted(n for (r, a, n) in self.groups if r == region and a == app_name),
        }

    # ------------------------------------------------------------ tags (accepted, not kept)

    def op_ListTagsForResource(self, p: dict, region: str) -> dict:
        return {"Tags": []}

    def op_TagResource(self, p: dict, region: str) -> dict:
        return {}

    def op_UntagResource(self, p: dict, region: str) -> dict:
        return {}

    # ------------------------------------------------------------ deployments

    def parse_appspec(self, region: str, content: str) -> dict:
        import yaml

        bad = lambda msg: ApiError("InvalidRevisionException", f"AppSpec content is invalid: {msg}")  # noqa: E731
        try:
            doc = json.loads(content)
        except ValueError:
            try:
                doc = yaml.safe_load(content)
            except yaml.YAMLError as e:
                raise bad(f"neither JSON nor YAML ({e})") from e
        if not isinstance(doc, dict):
            raise bad("the top level must be a map")
        keys = {k.lower(): k for k in doc}
        version = doc.get(keys.get("version", "version"))
        if str(version) not in ("0.0", "0"):
            raise bad(f"version must be 0.0 (got {version!r})")
        resources = doc.get(keys.get("resources", "Resources"))
        if (
            not isinstance(resources, list)
            or len(resources) != 1
            or not isinstance(resources[0], dict)
            or len(resources[0]) != 1
        ):
            raise bad("Resources must be a list with exactly one single-key map")
        target = next(iter(resources[0].values()))
        if not isinstance(target, dict):
            raise bad("the resource must be a map")
        if target.get("Type") not in (None, "AWS::ECS::Service"):
            raise bad(f"resource Type must be AWS::ECS::Service (got {target.get('Type')!r})")
        props = target.get("Properties") or {}
        td_ref = props.get("TaskDefinition")
        if not isinstance(td_ref, str) or not td_ref:
            raise bad("Resources[0].TargetService.Properties.TaskDefinition is required")
        if not re.match(r"^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition/[A-Za-z0-9_-]+:\d+$", td_ref):
            raise bad(f"TaskDefinition must be a task definition ARN with a revision (got {td_ref!r})")
        td = self.task_definition(region, td_ref)
        if td is None:
            raise ApiError(
                "InvalidRevisionException", f"The task definition {td_ref} does not exist (not registered in ECS)."
            )
        lbi = props.get("LoadBalancerInfo") or {}
        cname, cport = lbi.get("ContainerName"), lbi.get("ContainerPort")
        if not cname or cport is None:
            raise bad("Properties.LoadBalancerInfo needs ContainerName and ContainerPort")
        cdefs = {c.get("name"): c for c in td.container_definitions}
        if cname not in cdefs:
            raise bad(f"container {cname!r} is not in task definition {td.arn} (containers: {sorted(cdefs)})")
        hooks_raw = doc.get(keys.get("hooks", "Hooks")) or []
        if not isinstance(hooks_raw, list):
            raise bad("Hooks must be a list of single-key maps")
        hooks: dict[str, str] = {}
        for h in hooks_raw:
            if not isinstance(h, dict) or len(h) != 1:
                raise bad("each Hooks entry must be a single-key map {LifecycleEvent: function}")
            ((ev, fn),) = h.items()
            if ev not in HOOK_EVENTS:
                raise bad(f"{ev} is not an ECS lifecycle hook (allowed: {', '.join(HOOK_EVENTS)})")
            if not isinstance(fn, str) or not fn:
                raise bad(f"hook {ev} needs a Lambda function name or ARN")
            if ev in hooks:
                raise bad(f"hook {ev} given twice")
            hooks[ev] = fn
        return {"td": td.arn, "container_name": cname, "container_port": int(cport), "hooks": hooks}

    def op_CreateDeployment(self, p: dict, region: str) -> dict:
        app_name = self.need(p, "applicationName", "ApplicationNameRequiredException", "Application name")
        group_name = self.need(
            p, "deploymentGroupName", "DeploymentGroupNameRequiredException", "Deployment group name"
        )
        app = self.app(region, app_name)
        g = self.group(region, app_name, group_name)
        if app["computePlatform"] != "ECS":
            raise ApiError("InvalidComputePlatformException", "stand-in: only ECS deployments are simulated")
        rev = p.get("revision")
        if not rev:
            raise ApiError("RevisionRequiredException", "Revision is required")
        if rev.get("revisionType") != "AppSpecContent" or not (rev.get("appSpecContent") or {}).get("content"):
            raise ApiError(
                "InvalidRevisionException",
                "stand-in: an ECS revision must be revisionType AppSpecContent with appSpecContent.content",
            )
        desc = p.get("description")
        if desc is not None and len(desc) > 512:
            raise ApiError("DescriptionTooLongException", "The description is too long (max 512).")
        config_name = p.get("deploymentConfigName") or g["deploymentConfigName"]
        self.config(region, config_name)
        svc = (g.get("ecsServices") or [{}])[0]
        cluster, service = svc.get("clusterName"), svc.get("serviceName")
        s = self.ecs_service(region, cluster, service)
        if s is None:
            raise ApiError("InvalidECSServiceException", f"The ECS service {cluster}/{service} does not exist.")
        spec = self.parse_appspec(region, rev["appSpecContent"]["content"])
        active = [
            d
            for d in self.deployments.values()
            if d.region == region and d.application == app_name and d.group == group_name and d.active
        ]
        if active:
            raise ApiError(
                "DeploymentLimitExceededException",
                f"The Deployment Group '{group_name}' already has an active Deployment '{active[0].id}'",
            )
        content = rev["appSpecContent"]["content"]
        revision = {
            "revisionType": "AppSpecContent",
            "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()},
        }
        arc = (
            p.get("autoRollbackConfiguration") or g.get("autoRollbackConfiguration") or {"enabled": False, "events": []}
        )
        tgs = [t["name"] for t in g["loadBalancerInfo"]["targetGroupPairInfoList"][0]["targetGroups"]]
        tr = self.traffic_state(region, cluster, service)
        blue_tg = tr.get("prodTargetGroup") or tgs[0]
        green_tg = tgs[1] if blue_tg == tgs[0] else tgs[0]
        bg = g.get("blueGreenDeploymentConfiguration") or {}
        term = bg.get("terminateBlueInstancesOnDeploymentSuccess") or {}
        wait = (
            float(term.get("terminationWaitTimeInMinutes", 0) or 0)
            if term.get("action", "TERMINATE") == "TERMINATE"
            else 0.0
        )
        dep_id = new_deployment_id()
        while dep_id in self.deployments:
            dep_id = new_deployment_id()
        d = Deployment(
            id=dep_id,
            region=region,
            application=app_name,
            group=group_name,
            config_name=config_name,
            description=desc,
            revision=revision,
            cluster=s.cluster_name,
            service=s.name,
            service_arn=s.arn,
            blue_td=s.task_definition,
            green_td=spec["td"],
            container_name=spec["container_name"],
            container_port=spec["container_port"],
            hooks=spec["hooks"],
            auto_rollback=arc,
            target_groups=tgs,
            blue_tg=blue_tg,
            green_tg=green_tg,
            termination_wait_minutes=wait,
        )
        self.deployments[dep_id] = d
        d.thread = threading.Thread(target=self.run, args=(d,), name=f"codedeploy-{dep_id}", daemon=True)
        d.thread.start()
        return {"deploymentId": dep_id}

    def deployment_info(self, d: Deployment) -> dict:
        overview = {"Pending": 0, "InProgress": 0, "Succeeded": 0, "Failed": 0, "Skipped": 0, "Ready": 0}
        if d.target_status in overview:
            overview[d.target_status] += 1
        info: dict[str, Any] = {
            "applicationName": d.application,
            "deploymentGroupName": d.group,
            "deploymentConfigName": d.config_name,
            "deploymentId": d.id,
            "revision": d.revision,
            "status": d.status,
            "errorInformation": d.error,
            "createTime": d.create_time,
            "startTime": d.start_time,
            "completeTime": d.complete_time,
            "deploymentOverview": overview,
            "description": d.description,
            "creator": d.creator,
            "ignoreApplicationStopFailures": False,
            "autoRollbackConfiguration": d.auto_rollback,
            "updateOutdatedInstancesOnly": False,
            "rollbackInfo": d.rollback_info,
            "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
            "instanceTerminationWaitTimeStarted": False,
            "fileExistsBehavior": "DISALLOW",
            "deploymentStatusMessages": [],
            "computePlatform": "ECS",
        }
        g = self.groups.get((d.region, d.application, d.group))
        if g:
            info["blueGreenDeploymentConfiguration"] = g.get("blueGreenDeploymentConfiguration")
            info["loadBalancerInfo"] = g.get("loadBalancerInfo")
        return info

    def op_GetDeployment(self, p: dict, region: str) -> dict:
        return {"deploymentInfo": self.deployment_info(self.deployment(p))}

    def op_BatchGetDeployments(self, p: dict, region: str) -> dict:
        ids = p.get("deploymentIds")
        if not ids:
            raise ApiError("DeploymentIdRequiredException", "Deployment IDs are required")
        if len(ids) > 25:
            raise ApiError("BatchLimitExceededException", "The maximum number of deployment IDs is 25.")
        out = []
        for i in ids:
            if not DEPLOYMENT_ID.match(i):
                raise ApiError(
                    "InvalidDeploymentIdException", f"Specified DeploymentId is not in the valid format: {i}"
                )
            if i in self.deployments:
                out.append(self.deployment_info(self.deployments[i]))
        return {"deploymentsInfo": out}

    def op_ListDeployments(self, p: dict, region: str) -> dict:
        app_name, group_name = p.get("applicationName"), p.get("deploymentGroupName")
        if app_name and not group_name:
            raise ApiError(
                "DeploymentGroupNameRequiredException",
                "Deployment group name is required when an application name is given",
            )
        if group_name and not app_name:
            raise ApiError(
                "ApplicationNameRequiredException", "Application name is required when a deployment group name is given"
            )
        if app_name and group_name:  # both or neither (checked above)
            self.app(region, app_name)
            self.group(region, app_name, group_name)
        statuses = p.get("includeOnlyStatuses") or []
        for s in statuses:
            if s not in ALL_STATUSES:
                raise ApiError("InvalidDeploymentStatusException", f"Invalid deployment status {s}")
        rng = p.get("createTimeRange") or {}
        deps = [
            d
            for d in self.deployments.values()
            if d.region == region
            and (not app_name or (d.application == app_name and d.group == group_name))
            and (not statuses or d.status in statuses)
            and (rng.get("start") is None or d.create_time >= float(rng["start"]))
            and (rng.get("end") is None or d.create_time <= float(rng["end"]))
        ]
        deps.sort(key=lambda d: d.create_time, reverse=True)
        return {"deployments": [d.id for d in deps]}

    def target_id(self, d: Deployment) -> str:
        return f"{d.cluster}:{d.service}"

    def check_started(self, d: Deployment) -> None:
        if d.status in ("Created", "Queued"):
            raise ApiError("DeploymentNotStartedException", f"The deployment {d.id} has not started.")

    def op_ListDeploymentTargets(self, p: dict, region: str) -> dict:
        d = self.deployment(p)
        self.check_started(d)
        for f, values in (p.get("targetFilters") or {}).items():
            if f == "TargetStatus" and values and d.target_status not in values:
                return {"targetIds": []}
            if f not in ("TargetStatus", "ServerInstanceLabel"):
                raise ApiError("InvalidTargetFilterNameException", f"Invalid target filter {f}")
        return {"targetIds": [self.target_id(d)]}

    def ecs_target(self, d: Deployment) -> dict:
        return {
            "deploymentId": d.id,
            "targetId": self.target_id(d),
            "targetArn": d.service_arn,
            "lastUpdatedAt": d.target_updated,
            "lifecycleEvents": [dict(e) for e in d.events],
            "status": d.target_status,
            "taskSetsInfo": self.task_sets_info(d),
        }

    def task_sets_info(self, d: Deployment) -> list[dict]:
        weights = self.prod_weights_of(d)
        out = []
        for label, ts_id, tg in (
            ("Blue", d.blue_task_set, d.blue_tg),
            ("Green", d.green_task_set, d.green_tg),
        ):
            if label == "Green" and not d.green_task_set:
                continue
            counts = ecs_sim.task_set_counts(self.ecs_backend(d.region), d.cluster, d.service, ts_id) if ts_id else None
            desired, pending, running = counts or (0, 0, 0)
            primary = (label == "Blue") != (
                d.status == "Succeeded" or (d.traffic_started and weights.get("green", 0) == 100)
            )
            out.append(
                {
                    "identifer": ts_id or "",
                    "desiredCount": desired,
                    "pendingCount": pending,
                    "runningCount": running,
                    "status": "PRIMARY" if primary else "ACTIVE",
                    "trafficWeight": float(weights.get(label.lower(), 0)),
                    "targetGroup": {"name": tg},
                    "taskSetLabel": label,
                }
            )
        return out

    def prod_weights_of(self, d: Deployment) -> dict:
        """Blue/green percentages of the prod listener as this deployment last left them."""
        for entry in reversed(d.traffic_log):
            if entry["listener"] == "prod":
                return {"blue": entry["blue"], "green": entry["green"]}
        return {"blue": 100, "green": 0}

    def op_GetDeploymentTarget(self, p: dict, region: str) -> dict:
        d = self.deployment(p)
        self.check_started(d)
        tid = p.get("targetId")
        if not tid:
            raise ApiError("DeploymentTargetIdRequiredException", "A deployment target ID is required.")
        if tid != self.target_id(d):
            raise ApiError(
                "DeploymentTargetDoesNotExistException",
                f"The deployment target {tid} does not exist in deployment {d.id}.",
            )
        return {"deploymentTarget": {"deploymentTargetType": "ECSTarget", "ecsTarget": self.ecs_target(d)}}

    def op_BatchGetDeploymentTargets(self, p: dict, region: str) -> dict:
        d = self.deployment(p)
        self.check_started(d)
        ids = p.get("targetIds") or []
        if not ids:
            raise ApiError("DeploymentTargetIdRequiredException", "A deployment target ID is required.")
        for tid in ids:
            if tid != self.target_id(d):
                raise ApiError(
                    "DeploymentTargetDoesNotExistException",
                    f"The deployment target {tid} does not exist in deployment {d.id}.",
                )
        return {
            "deploymentTargets": [{"deploymentTargetType": "ECSTarget", "ecsTarget": self.ecs_target(d)} for _ in ids]
        }

    def op_StopDeployment(self, p: dict, region: str) -> dict:
        d = self.deployment(p)
        if not d.active:
            raise ApiError("DeploymentAlreadyCompletedException", f"The deployment {d.id} has already completed.")
        rollback = p.get("autoRollbackEnabled")
        if rollback is None:
            arc = d.auto_rollback or {}
            rollback = bool(arc.get("enabled")) and "DEPLOYMENT_STOP_ON_REQUEST" in (arc.get("events") or [])
        if not d.stop_requested:
            d.stop_requested = True
            d.stop_rollback = bool(rollback)
            self.cond.notify_all()
        return {"status": "Pending", "statusMessage": "Stopping Active Deployment"}

    def op_ContinueDeployment(self, p: dict, region: str) -> dict:
        d = self.deployment(p)
        if not d.active:
            raise ApiError("DeploymentAlreadyCompletedException", f"The deployment {d.id} has already completed.")
        wt = p.get("deploymentWaitType", "READY_WAIT")
        if wt not in ("READY_WAIT", "TERMINATION_WAIT"):
            raise ApiError("InvalidDeploymentWaitTypeException", f"Invalid deployment wait type {wt}")
        if wt == "READY_WAIT" and d.status != "Ready":
            raise ApiError("DeploymentIsNotInReadyStateException", f"The deployment {d.id} is not in the Ready state.")
        # TERMINATION_WAIT: end the blue termination wait now.
        d.skip_termination_wait = True
        self.cond.notify_all()
        return {}

    def op_PutLifecycleEventHookExecutionStatus(self, p: dict, region: str) -> dict:
        d = self.deployment(p)
        exec_id = p.get("lifecycleEventHookExecutionId")
        status = p.get("status")
        if status not in ("Succeeded", "Failed"):
            raise ApiError(
                "InvalidLifecycleEventHookExecutionStatusException",
                f"The status {status!r} is not valid: report Succeeded or Failed.",
            )
        ex = self.executions.get(exec_id or "")
        if ex is None or ex["deploymentId"] != d.id:
            raise ApiError(
                "InvalidLifecycleEventHookExecutionIdException",
                f"The lifecycle event hook execution ID {exec_id!r} is not valid for deployment {d.id}.",
            )
        if ex["status"] != "InProgress":
            raise ApiError(
                "LifecycleEventAlreadyCompletedException",
                f"The lifecycle event {ex['event']} of deployment {d.id} has already completed ({ex['status']}).",
            )
        ex["status"] = status
        ex["reportedAt"] = now()
        self.cond.notify_all()
        return {"lifecycleEventHookExecutionId": exec_id}

    # ------------------------------------------------------------ traffic

    def traffic_state(self, region: str, cluster: str, service: str) -> dict:
        key = (region, cluster, service)
        tr = self.traffic.get(key)
        if tr is None:
            s = self.ecs_service(region, cluster, service)
            td = s.task_definition if s else None
            tr = {"prod": {td: 100} if td else {}, "test": td, "prodTargetGroup": None, "history": []}
            self.traffic[key] = tr
        return tr

    def set_traffic(self, d: Deployment, listener: str, green_pct: int, reason: str) -> None:
        """Point `listener` of d's service at blue/green (under the lock)."""
        tr = self.traffic_state(d.region, d.cluster, d.service)
        green_pct = max(0, min(100, int(green_pct)))
        if listener == "prod":
            weights: dict[str, int] = {}
            if 100 - green_pct:
                weights[d.blue_td] = weights.get(d.blue_td, 0) + 100 - green_pct
            if green_pct:
                weights[d.green_td] = weights.get(d.green_td, 0) + green_pct
            tr["prod"] = weights
            value: Any = dict(weights)
        else:
            tr["test"] = d.green_td if green_pct >= 50 else d.blue_td
            value = tr["test"]
        entry = {
            "at": now(),
            "deploymentId": d.id,
            "listener": listener,
            "blue": 100 - green_pct,
            "green": green_pct,
            "routes": value,
            "reason": reason,
        }
        d.traffic_log.append(entry)
        tr["history"].append(entry)
        del tr["history"][:-200]

    # ------------------------------------------------------------ the lifecycle driver

    def run(self, d: Deployment) -> None:
        try:
            self.drive(d)
        except _Aborted:
            pass
        except Exception:
            tb = traceback.format_exc()
            print(f"codedeploy-sim: deployment {d.id} crashed: {tb}", flush=True)
            with self.lock:
                if d.aborted:
                    return
                self.errors.append(f"{d.id}: {tb}")
                del self.errors[:-20]
                d.internal_error = tb
                if d.active:
                    self.fail(d, "INTERNAL_ERROR", f"stand-in simulator error: {tb.splitlines()[-1]}", None)

    def alive(self, d: Deployment) -> None:
        if d.aborted:
            raise _Aborted()

    def wait(self, d: Deployment, seconds: float, done=None) -> bool:
        """Wait up to `seconds` (released lock) for done() to be true. Raises on stop/reset.
        Must be called with the lock held. Returns done()'s final truth."""
        deadline = time.monotonic() + seconds
        while True:
            self.alive(d)
            if d.stop_requested:
                raise _Stopped()
            if done is not None and done():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.cond.wait(min(left, 0.5))

    def start_event(self, d: Deployment, name: str) -> dict:
        ev = d.event(name)
        ev["status"] = "InProgress"
        ev["startTime"] = now()
        d.target_updated = ev["startTime"]
        return ev

    def end_event(self, d: Deployment, name: str, status: str = "Succeeded", diagnostics: dict | None = None) -> None:
        ev = d.event(name)
        ev["status"] = status
        ev["endTime"] = now()
        if diagnostics:
            ev["diagnostics"] = diagnostics
        d.target_updated = ev["endTime"]

    def drive(self, d: Deployment) -> None:
        with self.lock:
            self.alive(d)
            d.status = "InProgress"
            d.start_time = now()
            d.target_status = "InProgress"
            d.target_updated = d.start_time
            d.blue_task_set = ecs_sim.current_task_set_id(self.ecs_backend(d.region), d.cluster, d.service)
        current = None
        try:
            for name in LIFECYCLE:
                with self.lock:
                    self.alive(d)
                    if d.stop_requested:
                        raise _Stopped()
                    current = name
                    self.start_event(d, name)
                if name in d.hooks:
                    self.run_hook(d, name)
                else:
                    with self.lock:
                        self.action(d, name)
                with self.lock:
                    self.alive(d)
                    self.end_event(d, name)
                    current = None
            with self.lock:
                # Blue task set termination wait: the deployment stays InProgress (and can still be
                # stopped and rolled back) until it ends.
                if d.termination_wait_minutes:
                    self.wait(d, self.minutes(d.termination_wait_minutes), lambda: d.skip_termination_wait)
                self.succeed(d)
        except _Stopped:
            with self.lock:
                self.alive(d)
                self.stopped(d, current)
        except _LifecycleEventError as f:
            assert current is not None, "only a lifecycle event's hook or action fails one"
            with self.lock:
                self.alive(d)
                self.end_event(d, current, "Failed", f.diagnostics)
                self.skip_rest(d)
                self.fail(d, f.code, f.message, current)

    def action(self, d: Deployment, name: str) -> None:
        """The built-in (non-hook) part of a lifecycle event, under the lock."""
        if name == "Install":
            self.install(d)
        elif name == "AllowTestTraffic":
            self.set_traffic(d, "test", 100, "AllowTestTraffic: test listener -> replacement task set")
        elif name == "AllowTraffic":
            self.allow_traffic(d)

    def install(self, d: Deployment) -> None:
        backend = self.ecs_backend(d.region)
        d.green_task_set = ecs_sim.create_task_set(backend, d.cluster, d.service, d.green_td, d.green_tg)
        if d.green_task_set is None:
            return  # the ECS service is not simulated: the replacement is "ready" at once
        timeout = self.settings["install_timeout_seconds"]

        def ready():
            counts = ecs_sim.task_set_counts(backend, d.cluster, d.service, d.green_task_set, healthy=True)
            return counts is not None and counts[2] >= counts[0]

        if not self.wait(d, timeout, ready):
            raise _LifecycleEventError(
                "ECS_UPDATE_ERROR",
                "The deployment timed out while waiting for the replacement task set to become healthy. "
                f"This time out period is {timeout:g} seconds (stand-in; real CodeDeploy: 60 minutes).",
                {
                    "errorCode": "UnknownError",
                    "scriptName": "",
                    "message": "The replacement task set did not become healthy in time.",
                    "logTail": "",
                },
            )

    def allow_traffic(self, d: Deployment) -> None:
        cfg = self.config(d.region, d.config_name)
        steps = self.parse_routing(cfg["trafficRoutingConfig"], "InvalidTrafficRoutingConfigurationException")
        d.traffic_started = True
        for pct, wait_minutes in steps:
            self.set_traffic(d, "prod", pct, f"AllowTraffic ({d.config_name}): {pct}% to the replacement task set")
            if pct < 100:
                self.wait(d, self.minutes(wait_minutes))
        # Prod is on green: the replacement task set is the service's PRIMARY now.
        self.set_service_task_definition(d, d.green_td)
        self.set_traffic(d, "test", 100, "AllowTraffic done: test listener stays on the replacement task set")
        tr = self.traffic_state(d.region, d.cluster, d.service)
        tr["prodTargetGroup"] = d.green_tg
        ecs_sim.promote_task_set(self.ecs_backend(d.region), d.cluster, d.service, d.green_task_set)

    def set_service_task_definition(self, d: Deployment, td: str) -> None:
        s = self.ecs_service(d.region, d.cluster, d.service)
        if s is not None:
            s.task_definition = td

    def run_hook(self, d: Deployment, name: str) -> None:
        import requests

        fn = d.hooks[name]
        exec_id = new_execution_id()
        with self.lock:
            self.alive(d)
            ex: dict[str, Any] = {
                "deploymentId": d.id,
                "event": name,
                "function": fn,
                "status": "InProgress",
                "invokedAt": now(),
            }
            self.executions[exec_id] = ex
            log = {"event": name, "function": fn, "executionId": exec_id, "invokedAt": ex["invokedAt"]}
            d.hook_log.append(log)
        payload = json.dumps({"DeploymentId": d.id, "LifecycleEventHookExecutionId": exec_id}).encode()
        url = f"http://127.0.0.1:{self.port}/2015-03-31/functions/{urllib.parse.quote(fn, safe='')}/invocations"
        invoke_error = None
        try:
            r = requests.post(
                url,
                data=payload,
                headers={"X-Amz-Invocation-Type": "Event", "Content-Type": "application/json"},
                timeout=30,
            )
            invoke_status = r.status_code
            if r.status_code not in (200, 202):
                invoke_error = f"Lambda Invoke answered HTTP {r.status_code}: {r.text[:300]}"
        except requests.RequestException as e:
            invoke_status = None
            invoke_error = f"Lambda Invoke failed: {e}"
        with self.lock:
            self.alive(d)
            log["invokeStatus"] = invoke_status
            if invoke_error:
                ex["status"] = "Failed"
                ex["reportedAt"] = now()
                log.update(status="InvokeFailed", error=invoke_error)
                raise _LifecycleEventError(
                    "INVALID_LAMBDA_FUNCTION",
                    f"The deployment failed because the {name} lifecycle hook function {fn} "
                    f"could not be invoked: {invoke_error}",
                    {"errorCode": "UnknownError", "scriptName": fn, "message": invoke_error, "logTail": ""},
                )
            timeout = self.settings["hook_timeout_seconds"]
            try:
                reported = self.wait(d, timeout, lambda: ex["status"] != "InProgress")
            except _Stopped:
                ex["status"] = "Stopped"
                log.update(status="Stopped")
                raise
            if not reported:
                ex["status"] = "TimedOut"
                log.update(status="TimedOut", seconds=round(time.time() - ex["invokedAt"], 3))
                msg = (
                    f"The {name} lifecycle hook function {fn} did not report a status with "
                    f"PutLifecycleEventHookExecutionStatus within {timeout:g} seconds: the hook timed out."
                )
                raise _LifecycleEventError(
                    "HOOK_EXECUTION_FAILURE",
                    f"The deployment failed because the {name} lifecycle hook timed out. {msg}",
                    {"errorCode": "ScriptTimedOut", "scriptName": fn, "message": msg, "logTail": ""},
                )
            log.update(
                status=ex["status"], reportedAt=ex["reportedAt"], seconds=round(ex["reportedAt"] - ex["invokedAt"], 3)
            )
            if ex["status"] == "Failed":
                msg = f"The {name} lifecycle hook function {fn} reported Failed."
                raise _LifecycleEventError(
                    "HOOK_EXECUTION_FAILURE",
                    f"The deployment failed because a lifecycle hook {name} failed. {msg}",
                    {"errorCode": "ScriptFailed", "scriptName": fn, "message": msg, "logTail": ""},
                )
            # A hook event has no built-in action of its own.

    # ------------------------------------------------------------ endings (under the lock)

    def skip_rest(self, d: Deployment) -> None:
        for e in d.events:
            if e["status"] == "Pending":
                e["status"] = "Skipped"

    def succeed(self, d: Deployment) -> None:
        self.set_traffic(d, "prod", 100, "deployment succeeded")
        ecs_sim.remove_task_set(
            self.ecs_backend(d.region),
            d.cluster,
            d.service,
            d.blue_task_set,
            "Task set terminated by CodeDeploy (original task set)",
        )
        d.status = "Succeeded"
        d.target_status = "Succeeded"
        d.complete_time = now()
        d.target_updated = d.complete_time
        self.cond.notify_all()

    def fail(self, d: Deployment, code: str, message: str, event: str | None) -> None:
        d.error = {"code": code, "message": message}
        d.target_status = "Failed"
        arc = d.auto_rollback or {}
        if arc.get("enabled") and "DEPLOYMENT_FAILURE" in (arc.get("events") or []):
            self.rollback(d, f"failed at {event}" if event else "failed")
        d.status = "Failed"
        d.complete_time = now()
        d.target_updated = d.complete_time
        self.cond.notify_all()

    def stopped(self, d: Deployment, event: str | None) -> None:
        if event:
            self.end_event(
                d,
                event,
                "Failed",
                {
                    "errorCode": "UnknownError",
                    "scriptName": d.hooks.get(event, ""),
                    "message": "The deployment was stopped while this lifecycle event was in progress.",
                    "logTail": "",
                },
            )
        self.skip_rest(d)
        for ex in self.executions.values():
            if ex["deploymentId"] == d.id and ex["status"] == "InProgress":
                ex["status"] = "Stopped"
        d.error = {
            "code": "MANUAL_STOP",
            "message": "The deployment was stopped by the user (StopDeployment)"
            + (" and rolled back." if d.stop_rollback else "."),
        }
        d.target_status = "Failed"
        if d.stop_rollback:
            self.rollback(d, "stopped by the user")
        d.status = "Stopped"
        d.complete_time = now()
        d.target_updated = d.complete_time
        self.cond.notify_all()

    def rollback(self, d: Deployment, why: str) -> None:
        """Traffic back to the original (blue) task set; a Succeeded rollback deployment record."""
        self.set_traffic(d, "prod", 0, f"rollback ({why}): prod listener -> original task set")
        self.set_traffic(d, "test", 0, f"rollback ({why}): test listener -> original task set")
        self.set_service_task_definition(d, d.blue_td)
        tr = self.traffic_state(d.region, d.cluster, d.service)
        tr["prodTargetGroup"] = d.blue_tg
        backend = self.ecs_backend(d.region)
        ecs_sim.promote_task_set(backend, d.cluster, d.service, d.blue_task_set)
        ecs_sim.remove_task_set(
            backend, d.cluster, d.service, d.green_task_set, "Task set terminated by CodeDeploy (rollback)"
        )
        rb_id = new_deployment_id()
        while rb_id in self.deployments:
            rb_id = new_deployment_id()
        content = json.dumps(
            {
                "version": 0.0,
                "Resources": [
                    {
                        "TargetService": {
                            "Type": "AWS::ECS::Service",
                            "Properties": {
                                "TaskDefinition": d.blue_td,
                                "LoadBalancerInfo": {
                                    "ContainerName": d.container_name,
                                    "ContainerPort": d.container_port,
                                },
                            },
                        }
                    }
                ],
            }
        )
        rb = Deployment(
            id=rb_id,
            region=d.region,
            application=d.application,
            group=d.group,
            config_name=d.config_name,
            description=f"Rollback of deployment {d.id}",
            revision={
                "revisionType": "AppSpecContent",
                "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()},
            },
            creator="codeDeployRollback",
            cluster=d.cluster,
            service=d.service,
            service_arn=d.service_arn,
            blue_td=d.green_td,
            green_td=d.blue_td,
            container_name=d.container_name,
            container_port=d.container_port,
            auto_rollback={"enabled": False, "events": []},
            target_groups=d.target_groups,
            blue_tg=d.green_tg,
            green_tg=d.blue_tg,
        )
        t = now()
        rb.status = "Succeeded"
        rb.start_time = t
        rb.complete_time = t
        rb.target_status = "Succeeded"
        rb.target_updated = t
        for e in rb.events:
            e.update(status="Succeeded", startTime=t, endTime=t)
        rb.rollback_info = {
            "rollbackTriggeringDeploymentId": d.id,
            "rollbackMessage": f"Deployment {rb_id} is a rollback of deployment {d.id}.",
        }
        rb.traffic_log.append(
            {
                "at": t,
                "deploymentId": rb_id,
                "listener": "prod",
                "blue": 0,
                "green": 100,
                "routes": {d.blue_td: 100},
                "reason": f"rollback of {d.id}",
            }
        )
        self.deployments[rb_id] = rb
        d.rollback_info = {
            "rollbackDeploymentId": rb_id,
            "rollbackMessage": f"Deployment {d.id} was {why}; rolled back by deployment {rb_id}.",
        }

    # ------------------------------------------------------------ ALB metrics of CODE_DEPLOY services

    def feed_metrics(self, backend, service, tasks) -> None:
        """Called by the ECS ticker (under the lock) for every CODE_DEPLOY service: AWS/ApplicationELB
        metrics per task set's target group, the prod listener's requests split by its weights
        (requests_per_task x desiredCount per tick in all), ~30 % 5xx and ~1.5 s latency from
        canary-bad tasks, as ecs_sim.feed_metrics does for rolling services. Test-listener traffic is
        not counted."""
        sim = ecs_sim.SIM
        d = next(
            (
                x
                for x in self.deployments.values()
                if x.active
                and x.region == backend.region_name
                and x.cluster == service.cluster_name
                and x.service == service.name
                and x.green_task_set
            ),
            None,
        )
        if d is not None:
            w = self.prod_weights_of(d)
            weights = {d.blue_task_set: w["blue"], d.green_task_set: w["green"]}
        else:
            weights = {ts.id: (100 if ts.status == "PRIMARY" else 0) for ts in service.task_sets}
        total = sim.requests_per_task * max(0, service.desired_count)
        rng = random.Random(sim.ticks * 7919 + hash(service.name) % 1000)
        for ts in service.task_sets:
            tg = getattr(ts, "sim_tg_arn", None)
            if not tg:
                continue
            mine = [
                t
                for t in tasks
                if t.started_by == ts.id and t.desired_status == "RUNNING" and t.last_status == "RUNNING"
            ]
            in_service = [t for t in mine if t.sim_registered]
            unhealthy = [t for t in mine if not t.sim_healthy]
            if sim.metric_noise is not None:
                # seeded noisy traffic (alb_noise): the prod listener's weight is this task set's share
                share = weights.get(ts.id, 0) / 100 if in_service else 0.0
                requests, errors, latencies = sim.noisy_traffic(tg, in_service, share)
                sim.put_tg_metrics(backend, tg, len(in_service), len(unhealthy), requests, errors, latencies)
                continue
            bad_share = (
                sum(1 for t in in_service if t.sim_behaviour["behaviour"] == "canary-bad") / len(in_service)
                if in_service
                else 0.0
            )
            # Fractions carry over to the next tick, so small per-tick volumes keep exact long-run rates.
            acc = self.metric_carry.setdefault(tg, [0.0, 0.0])
            acc[0] += total * weights.get(ts.id, 0) / 100 if in_service else 0.0
            requests = int(acc[0])
            acc[0] -= requests
            bad_requests = round(requests * bad_share)
            acc[1] += bad_requests * 0.3
            errors = int(acc[1])
            acc[1] -= errors
            latencies = [round(rng.uniform(1.2, 1.8), 4) for _ in range(bad_requests)]
            latencies += [round(rng.uniform(0.03, 0.07), 4) for _ in range(requests - bad_requests)]
            sim.put_tg_metrics(backend, tg, len(in_service), len(unhealthy), requests, errors, latencies)
        # The tick changed task states: wake drivers waiting in Install for a healthy replacement.
        self.cond.notify_all()

    # ------------------------------------------------------------ control API views

    def record(self, dep_id: str) -> dict | None:
        with self.lock:
            d = self.deployments.get(dep_id)
            if d is None:
                return None
            return clean(
                {
                    "deploymentId": d.id,
                    "status": d.status,
                    "deploymentInfo": self.deployment_info(d),
                    "target": self.ecs_target(d) if d.status not in ("Created", "Queued") else None,
                    "cluster": d.cluster,
                    "service": d.service,
                    "blueTaskDefinition": d.blue_td,
                    "greenTaskDefinition": d.green_td,
                    "blueTargetGroup": d.blue_tg,
                    "greenTargetGroup": d.green_tg,
                    "blueTaskSet": d.blue_task_set,
                    "greenTaskSet": d.green_task_set,
                    "hooks": d.hooks,
                    "hookInvocations": [dict(h) for h in d.hook_log],
                    "traffic": [dict(t) for t in d.traffic_log],
                    "stopRequested": d.stop_requested,
                    "internalError": d.internal_error,
                }
            )

    @staticmethod
    def live_threads() -> int:
        """Deployment driver threads still running (0 shortly after a reset)."""
        return sum(1 for t in threading.enumerate() if t.name.startswith("codedeploy-d-") and t.is_alive())

    def summaries(self) -> list[dict]:
        with self.lock:
            return [
                {
                    "deploymentId": d.id,
                    "status": d.status,
                    "application": d.application,
                    "deploymentGroup": d.group,
                    "cluster": d.cluster,
                    "service": d.service,
                    "creator": d.creator,
                    "createTime": d.create_time,
                    "greenTaskDefinition": d.green_td,
                }
                for d in sorted(self.deployments.values(), key=lambda d: d.create_time)
            ]

    def find_service(self, cluster: str, service: str, region: str | None = None):
        """-> (region, moto service) for cluster/service, any region unless given."""
        from moto.ecs.models import ecs_backends

        regions = [region] if region else list(ecs_backends[ACCOUNT].keys())
        for r in regions:
            try:
                s = self.ecs_service(r, cluster, service)
            except KeyError:
                s = None
            if s is not None:
                return r, s
        return None, None

    def traffic_view(self, cluster: str, service: str, region: str | None = None) -> dict | None:
        with self.lock:
            r, s = self.find_service(cluster, service, region)
            if s is None:
                return None
            tr = self.traffic_state(r, s.cluster_name, s.name)
            return {
                "region": r,
                "cluster": s.cluster_name,
                "service": s.name,
                "prod": dict(tr["prod"]),
                "test": tr["test"],
                "prodTargetGroup": tr.get("prodTargetGroup"),
                "serviceTaskDefinition": s.task_definition,
                "history": list(tr["history"]),
            }

    # ------------------------------------------------------------ listener probe

    def probe(
        self, cluster: str, service: str, listener: str, region: str | None = None, pick: str | None = None
    ) -> tuple[int, dict, float]:
        """What the ALB listener would answer. -> (status, json body, seconds to hang before answering)."""
        if listener not in ("prod", "test"):
            return 404, {"error": f"listener must be prod or test, not {listener!r}"}, 0.0
        with self.lock:
            r, s = self.find_service(cluster, service, region)
            if s is None:
                return 404, {"error": f"no ECS service {cluster}/{service}"}, 0.0
            backend = self.ecs_backend(r)
            controller = (s.deployment_controller or {}).get("type", "ECS")
            key = (r, s.cluster_name, s.name, listener)
            n = self.probe_counters.get(key, 0)
            self.probe_counters[key] = n + 1
            strategy = getattr(s, "sim_listener_weights", None)  # an ECS BLUE_GREEN/LINEAR/CANARY run (ecs_strategies)
            if strategy:
                td = strategy["test"] if listener == "test" else pick_weighted(strategy["prod"], n, pick)
            elif controller == "CODE_DEPLOY" or not getattr(s, "sim_managed", False):
                tr = self.traffic_state(r, s.cluster_name, s.name)
                if listener == "test":
                    td = tr["test"]
                else:
                    weights = tr["prod"]
                    td = pick_weighted(weights, n, pick)
            else:
                # ECS rolling controller: the listener's target group holds the registered tasks of
                # every deployment; deterministic round robin over them.
                tasks = sorted(
                    (
                        t
                        for t in ecs_sim.SIM.tasks_of(backend, s)
                        if t.desired_status == "RUNNING"
                        and t.last_status == "RUNNING"
                        and (t.sim_registered or not ecs_sim.SIM.target_groups(s))
                    ),
                    key=lambda t: t.created_at,
                )
                if not tasks:
                    return (
                        503,
                        {"error": "503 Service Temporarily Unavailable: no registered targets", "listener": listener},
                        0.0,
                    )
                td = tasks[n % len(tasks)].task_definition_arn
            if not td:
                return (
                    503,
                    {"error": "503 Service Temporarily Unavailable: the listener routes nowhere", "listener": listener},
                    0.0,
                )
            tdef = self.task_definition(r, td)
            image = tdef.container_definitions[0].get("image", "") if tdef and tdef.container_definitions else ""
            b = ecs_sim.SIM.behaviour_for(image, ecs_sim.SIM.digest_for(image))["behaviour"]
            body = {"taskDefinition": td, "image": image, "listener": listener, "behaviour": b}
            if b == "probe-503" or b in ("crashloop", "unhealthy-lb"):
                body["error"] = "503 Service Temporarily Unavailable"
                return 503, body, 0.0
            if b == "probe-hang":
                return 200, body, self.settings["probe_hang_seconds"]
            return 200, body, 0.0


def pick_weighted(weights: dict, n: int, pick: str | None = None):
    """Deterministic weighted choice between (at most two) task definitions: over any 100 consecutive
    probes the smaller share is chosen exactly `weight` times, spread evenly (`pick=random` draws)."""
    items = sorted(((td, w) for td, w in weights.items() if w > 0), key=lambda i: i[1])
    if not items:
        return None
    if len(items) == 1:
        return items[0][0]
    if pick == "random":
        x = random.uniform(0, 100)
        for td, w in items:
            if x < w:
                return td
            x -= w
        return items[-1][0]
    (small, w), (large, _) = items[0], items[-1]
    k = n % 100
    return small if math.floor((k + 1) * w / 100) > math.floor(k * w / 100) else large


SIM = CodeDeploySim()
ecs_sim.SIM.task_set_metrics_hook = SIM.feed_metrics
