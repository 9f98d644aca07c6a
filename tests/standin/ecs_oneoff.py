"""One-off ECS tasks (RunTask outside a service) on the simulator's ticker, and a per-tick record of
which task definitions had live tasks in each service, for "never together" assertions.

moto 5.2.5 answers RunTask with a 500 for an awsvpc task definition with a networkConfiguration
(it creates an ENI per task and trips over it), and its tasks advance one state per DescribeTasks
call, never exit and carry no exit code. Here a FARGATE RunTask (launchType FARGATE or a FARGATE /
FARGATE_SPOT capacity provider) starts `ecs_sim.SimTask`s in group `family:NAME` (or the request's
`group`) that move PROVISIONING -> PENDING -> RUNNING -> (DEACTIVATING -> STOPPING ->
DEPROVISIONING ->) STOPPED, one step per simulator tick, ending the way the image's behaviour says:

    exit        RUNNING for `runTicks` ticks (default 3), then the essential container exits with
                `exitCode` (default 0): stopCode EssentialContainerExited, stoppedReason
                "Essential container in task exited", containers[].exitCode
    pull-error  never starts: PENDING -> STOPPED, stopCode TaskFailedToStart, stoppedReason and
                containers[].reason "CannotPullContainerError: …", no exit code
    hang        RUNNING until StopTask (a task that runs past its caller's timeout)

Behaviours are set per image (the image string, its digest, the image without its digest or tag),
`POST /_berth/task-behaviours`; an image with none follows ecs_sim's (crashloop -> exit 1 at once,
slow -> `slow_ticks` more PENDING ticks), else exits 0. StopTask on a one-off task stops it the way
ECS does (stopCode UserInitiated, the request's reason, exit code 143 for a container that was
running); other tasks keep moto's StopTask. Other launch types go to moto unchanged.

The record: at the end of every tick, for every (region, cluster, group) (`service:NAME` for a
service's tasks, `family:NAME` or the given group for one-off tasks), the task-definition ARNs that
had a task whose container may be running (lastStatus RUNNING, DEACTIVATING or STOPPING), kept as
runs of ticks with the same picture (`/_berth/task-history`, `/_berth/task-history/overlap`).
"""

from __future__ import annotations

import threading
import uuid
from types import SimpleNamespace
from typing import Any

from moto.core.utils import utcnow
from moto.ecs import models as ecs_models
from moto.ecs.exceptions import InvalidParameterException

from . import ecs_sim
from .ecs_sim import SIM, SimTask

BEHAVIOURS = ("exit", "pull-error", "hang")
DEFAULT_RUN_TICKS = 3
# The container may still be running: RUNNING, and stopping but not yet stopped (and a container
# of the task still RUNNING: an exited one-off task is torn down with its container STOPPED).
ALIVE = ("RUNNING", "DEACTIVATING", "STOPPING")
MAX_HISTORY = 20000  # runs kept; the oldest go first
FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")
STOP_NEXT = {"DEACTIVATING": "STOPPING", "STOPPING": "DEPROVISIONING", "DEPROVISIONING": "STOPPED"}


class OneOffTask(SimTask):
    """A SimTask started by RunTask: no service, no deployment, its own overrides and tags."""


def pull_error_reason(image: str) -> str:
    # Fargate platform 1.4's wording for a tag or digest the registry does not have.
    return (
        f"CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref "
        f"{image}: {image}: not found"
    )


class OneOffRunner:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.behaviours: dict[str, dict] = {}
        self.history: list[dict] = []  # runs: {fromTick, toTick, alive: {key: [td ARNs]}}

    def reset(self) -> None:
        with self.lock:
            self.behaviours.clear()
            self.history.clear()

    # ------------------------------------------------------------ behaviours

    def set_behaviour(self, doc: dict) -> dict:
        allowed = {"image", "behaviour", "exitCode", "runTicks", "pendingTicks", "reason"}
        unknown = set(doc) - allowed
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
        behaviour = doc.get("behaviour", "exit")
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"behaviour must be one of {BEHAVIOURS}")
        spec = {
            "behaviour": behaviour,
            "exitCode": int(doc.get("exitCode", 0)),
            "runTicks": int(doc.get("runTicks", DEFAULT_RUN_TICKS)),
            "pendingTicks": int(doc.get("pendingTicks", 0)),
            "reason": doc.get("reason"),
        }
        if not 0 <= spec["exitCode"] <= 255:
            raise ValueError("exitCode must be 0..255")
        with self.lock:
            self.behaviours[doc["image"]] = spec
            return dict(self.behaviours)

    def behaviour_for(self, image: str, digest: str) -> dict:
        """The one-off behaviour of an image: its own, else derived from ecs_sim's, else exit 0."""
        ref = image.split("@", 1)[0]
        name, _, tag = ref.rpartition(":")
        repo = name if name and "/" not in tag else ref  # without its tag (a registry's :port stays)
        keys = [image, digest, ref, repo] + [r for r, d in SIM.digests.items() if d == digest]
        for key in keys:
            if key in self.behaviours:
                return {**self.behaviours[key], "image_key": key}
        sim = SIM.behaviour_for(image, digest)
        out = {
            "behaviour": "exit",
            "exitCode": 0,
            "runTicks": DEFAULT_RUN_TICKS,
            "pendingTicks": 0,
            "reason": None,
            "image_key": sim.get("image_key"),
        }
        if sim["behaviour"] == "crashloop":
            out.update(exitCode=1, runTicks=0)
        elif sim["behaviour"] == "slow":
            out["pendingTicks"] = sim.get("slow_ticks") or SIM.slow_extra_ticks
        return out

    # ------------------------------------------------------------ RunTask / StopTask

    def run_task(
        self,
        backend,
        cluster_str,
        task_definition_str,
        count,
        overrides,
        started_by,
        tags,
        launch_type,
        network_configuration,
        group,
        platform_version,
        capacity_provider_strategy,
    ) -> list[OneOffTask]:
        cluster = backend._get_cluster(cluster_str)
        task_def = backend.describe_task_definition(task_definition_str)
        count = 1 if count is None else int(count)
        if not 1 <= count <= 10:
            raise InvalidParameterException("count must be between 1 and 10.")
        if task_def.network_mode == "awsvpc":
            subnets = ((network_configuration or {}).get("awsvpcConfiguration") or {}).get("subnets") or []
            if not subnets:
                raise InvalidParameterException(
                    "Network Configuration must be provided when networkMode 'awsvpc' is specified."
                )
            check_subnets(backend, subnets)
        names = [c.get("name") for c in task_def.container_definitions]
        for o in (overrides or {}).get("containerOverrides") or []:
            if o.get("name") not in names:
                raise InvalidParameterException(
                    f"Override for container named {o.get('name')} is not a container in the TaskDefinition."
                )
        provider = (
            (capacity_provider_strategy or [{}])[0].get("capacityProvider") if capacity_provider_strategy else None
        )
        owner = SimpleNamespace(
            name=None,
            cluster_name=cluster.name,
            cluster_arn=cluster.arn,
            launch_type=launch_type or ("FARGATE" if not provider else None),
            platform_version=platform_version,
            network_configuration=network_configuration,
        )
        tasks = []
        with SIM.lock, self.lock:
            for _ in range(count):
                containers, behaviour = self.containers(backend, cluster.name, task_def, overrides)
                task = OneOffTask(backend, owner, {"id": started_by or ""}, task_def, containers, behaviour)
                task.group = group or f"family:{task_def.family}"
                task.overrides = {
                    "containerOverrides": list((overrides or {}).get("containerOverrides") or []),
                    "inferenceAcceleratorOverrides": [],
                }
                for k in ("cpu", "memory", "taskRoleArn", "executionRoleArn", "ephemeralStorage"):
                    if (overrides or {}).get(k) is not None:
                        task.overrides[k] = overrides[k]
                task.tags = list(tags or [])
                task.capacity_provider_name = provider
                backend.tasks.setdefault(cluster.name, {})[task.task_arn] = task
                tasks.append(task)
        return tasks

    def containers(self, backend, cluster_name: str, task_def, overrides) -> tuple[list[dict], dict]:
        by_name = {o.get("name"): o for o in (overrides or {}).get("containerOverrides") or []}
        behaviour = None
        containers = []
        for cdef in task_def.container_definitions:
            image = cdef.get("image", "")
            digest = SIM.digest_for(image)
            b = self.behaviour_for(image, digest)
            # The first container with a chosen behaviour decides the task (as ecs_sim does).
            if behaviour is None or (behaviour.get("image_key") is None and b.get("image_key") is not None):
                behaviour = {**b, "image": image}
            c = {
                "containerArn": (
                    f"arn:aws:ecs:{backend.region_name}:{backend.account_id}:container/{cluster_name}/"
                    f"{uuid.uuid4().hex}"
                ),
                "name": cdef.get("name"),
                "image": image,
                "imageDigest": digest,
                "runtimeId": None,
                "lastStatus": "PENDING",
                "healthStatus": "UNKNOWN",
                "networkBindings": [],
                "networkInterfaces": [],
                "cpu": str(cdef.get("cpu", 0)),
                "_health_check": bool(cdef.get("healthCheck")),
            }
            if cdef.get("memory"):
                c["memory"] = str(cdef["memory"])
            if by_name.get(cdef.get("name"), {}).get("command"):
                c["_command"] = by_name[cdef["name"]]["command"]
            containers.append(c)
        return containers, behaviour or {
            "behaviour": "exit",
            "exitCode": 0,
            "runTicks": DEFAULT_RUN_TICKS,
            "pendingTicks": 0,
        }

    def stop_task(self, backend, task: OneOffTask, reason: str | None) -> OneOffTask:
        with SIM.lock:
            if task.last_status == "STOPPED" or task.desired_status == "STOPPED":
                return task
            running = task.last_status == "RUNNING"
            SIM.begin_stop(task, reason or "Task stopped by user", "UserInitiated", exit_code=143 if running else None)
            return task

    # ------------------------------------------------------------ ticking

    def tick(self, sim) -> None:
        """Called by the simulator at the end of every tick (ecs_sim.Simulator.tick_hooks), under SIM.lock."""
        with self.lock:
            for backend in list(ecs_sim.iter_ecs_backends()):
                for cluster_tasks in list(backend.tasks.values()):
                    for t in list(cluster_tasks.values()):
                        if isinstance(t, OneOffTask):
                            self.advance(t)
            self.record(sim.ticks)

    def advance(self, t: OneOffTask) -> None:
        t.sim_ticks += 1
        b = t.sim_behaviour
        if t.desired_status == "STOPPED":
            if t.last_status == "STOPPED":
                return
            if t.last_status not in STOP_NEXT or t.last_status == "DEPROVISIONING":
                SIM.finish_stop(t)
            else:
                t.last_status = STOP_NEXT[t.last_status]
                t.sim_ticks = 0
            return
        if t.last_status == "PROVISIONING":
            t.last_status = "PENDING"
            t.pull_started_at = utcnow()
            t.sim_ticks = 0
        elif t.last_status == "PENDING":
            if t.sim_ticks <= b.get("pendingTicks", 0):
                return
            t.pull_stopped_at = utcnow()
            if b["behaviour"] == "pull-error":
                reason = b.get("reason") or pull_error_reason(b.get("image", t.containers[0]["image"]))
                for c in t.containers:
                    c["reason"] = reason
                SIM.begin_stop(t, reason, "TaskFailedToStart", exit_code=None)
                return
            t.last_status = "RUNNING"
            t.started_at = utcnow()
            t.sim_ticks = 0
            for c in t.containers:
                c["lastStatus"] = "RUNNING"
                c["runtimeId"] = f"{t.id}-{abs(hash(c['name'])) % 10**10}"
        elif (
            t.last_status == "RUNNING"
            and b["behaviour"] == "exit"
            and t.sim_ticks >= b.get("runTicks", DEFAULT_RUN_TICKS)
        ):
            SIM.begin_stop(
                t,
                b.get("reason") or "Essential container in task exited",
                "EssentialContainerExited",
                exit_code=b.get("exitCode", 0),
            )
            for c in t.containers:  # the process has exited; the task is still being torn down
                c["lastStatus"] = "STOPPED"

    # ------------------------------------------------------------ the record

    def record(self, tick: int) -> None:
        alive: dict[str, set[str]] = {}
        for backend in list(ecs_sim.iter_ecs_backends()):
            for cluster, cluster_tasks in list(backend.tasks.items()):
                for t in list(cluster_tasks.values()):
                    if (
                        isinstance(t, SimTask)
                        and t.last_status in ALIVE
                        and any(c.get("lastStatus") == "RUNNING" for c in t.containers)
                    ):
                        alive.setdefault(f"{backend.region_name}/{cluster}/{t.group}", set()).add(t.task_definition_arn)
        picture = {k: sorted(v) for k, v in sorted(alive.items())}
        last = self.history[-1] if self.history else None
        if last is not None and last["alive"] == picture and last["toTick"] == tick - 1:
            last["toTick"] = tick
        else:
            self.history.append({"fromTick": tick, "toTick": tick, "at": utcnow().isoformat(), "alive": picture})
            del self.history[:-MAX_HISTORY]

    def history_view(
        self, cluster: str | None = None, groups: list[str] | None = None, region: str | None = None
    ) -> list[dict]:
        """The runs, each with only the keys asked for (region/cluster/group), merged runs kept apart."""

        def wanted(key: str) -> bool:
            k_region, k_cluster, k_group = key.split("/", 2)
            return (
                (region is None or k_region == region)
                and (cluster is None or k_cluster == cluster)
                and (groups is None or k_group in groups)
            )

        with self.lock:
            return [
                {
                    "fromTick": r["fromTick"],
                    "toTick": r["toTick"],
                    "at": r["at"],
                    "alive": {k: v for k, v in r["alive"].items() if wanted(k)},
                }
                for r in self.history
            ]

    def overlaps(self, cluster: str, groups: list[str], a: str, b: str, region: str | None = None) -> dict:
        """The tick runs in which a task of `a` and a task of `b` were both alive in `groups` of
        `cluster` (task definitions as full ARNs or `family:revision`)."""
        na, nb = short_td(a), short_td(b)
        runs = self.history_view(cluster, groups, region)
        hits = []
        for r in runs:
            tds = {short_td(td) for v in r["alive"].values() for td in v}
            if na in tds and nb in tds:
                hits.append([r["fromTick"], r["toTick"]])
        recorded = [runs[0]["fromTick"], runs[-1]["toTick"]] if runs else None
        return {
            "overlapped": bool(hits),
            "ticks": hits,
            "recordedTicks": recorded,
            "taskDefinitions": [na, nb],
            "groups": groups,
        }


def short_td(td: str) -> str:
    """`arn:…:task-definition/web:2` or `web:2` -> `web:2`."""
    return td.split("task-definition/", 1)[-1]


def check_subnets(backend, subnets: list[str]) -> None:
    try:
        from moto.ec2.models import ec2_backends

        ec2 = ec2_backends[backend.account_id][backend.region_name]
        known = {s.id for zone in ec2.subnets.values() for s in zone.values()}
    except Exception:  # noqa: BLE001 - no EC2 backend to check against
        return
    missing = [s for s in subnets if s not in known]
    if missing:
        raise InvalidParameterException(
            f"Error retrieving subnet information for [{', '.join(missing)}]: "
            f"The subnet ID '{missing[0]}' does not exist "
            "(ErrorCode: InvalidSubnetID.NotFound)"
        )


RUNNER = OneOffRunner()

# ---------------------------------------------------------------- moto patches

_ORIGINALS: dict[str, Any] = {}


def _patched_run_task(
    self,
    cluster_str,
    task_definition_str,
    count,
    overrides,
    started_by,
    tags,
    launch_type,
    networking_configuration=None,
    group=None,
    platform_version=None,
    capacity_provider_strategy=None,
):
    provider = (capacity_provider_strategy or [{}])[0].get("capacityProvider") if capacity_provider_strategy else None
    if launch_type == "FARGATE" or (not launch_type and provider in FARGATE_PROVIDERS):
        if launch_type and capacity_provider_strategy:
            raise InvalidParameterException("Specify either Launch Type or Capacity Provider Strategy, but not both.")
        return RUNNER.run_task(
            self,
            cluster_str,
            task_definition_str,
            count,
            overrides,
            started_by,
            tags,
            launch_type,
            networking_configuration,
            group,
            platform_version,
            capacity_provider_strategy,
        )
    return _ORIGINALS["run_task"](
        self,
        cluster_str,
        task_definition_str,
        count,
        overrides,
        started_by,
        tags,
        launch_type,
        networking_configuration,
        group,
        platform_version,
        capacity_provider_strategy,
    )


def _patched_stop_task(self, cluster_str, task_str, reason):
    cluster = self._get_cluster(cluster_str)
    task_id = task_str.split("/")[-1]
    for arn, task in self.tasks.get(cluster.name, {}).items():
        if arn.endswith(task_id) and isinstance(task, OneOffTask):
            return RUNNER.stop_task(self, task, reason)
    return _ORIGINALS["stop_task"](self, cluster_str, task_str, reason)


def install() -> None:
    if _ORIGINALS:
        return
    ecs_sim.install()
    _ORIGINALS["run_task"] = ecs_models.EC2ContainerServiceBackend.run_task
    _ORIGINALS["stop_task"] = ecs_models.EC2ContainerServiceBackend.stop_task
    # Monkeypatching moto (the stand-in's purpose): mypy flags assigning to a method (method-assign).
    ecs_models.EC2ContainerServiceBackend.run_task = _patched_run_task  # type: ignore[method-assign]
    ecs_models.EC2ContainerServiceBackend.stop_task = _patched_stop_task  # type: ignore[method-assign]
    SIM.tick_hooks.append(RUNNER.tick)
