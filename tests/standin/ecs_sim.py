"""ECS rolling-deployment simulator driving moto's ECS backend in-process.

moto 5.2.5 keeps one PRIMARY deployment IN_PROGRESS forever and starts no service tasks. This module
patches moto's ECS backend/response classes (see `install()`) and runs a ticker that moves
deployments the way the ECS rolling-update controller does: new tasks PROVISIONING -> PENDING ->
RUNNING, old tasks drained within minimumHealthyPercent/maximumPercent, the old deployment removed,
the new one COMPLETED with a steady-state event; the deployment circuit breaker at the real
threshold, with rollback; ELB health-check failures that the breaker does not count; and an
AWS/ApplicationELB metric feed into moto's CloudWatch backend.

Everything here runs under `SIM.lock`; the front server takes the same lock around ECS and
CloudWatch requests, so API readers never see a half-applied tick.
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from moto.core.utils import utcnow
from moto.ecs import models as ecs_models
from moto.ecs import responses as ecs_responses
from moto.ecs.exceptions import InvalidParameterException, ServiceNotFoundException

from . import clock

if TYPE_CHECKING:  # each imports this module; alb_noise needs numpy, imported only when asked for
    from .alb_noise import Noise
    from .ecs_deployments import Tracker
    from .ecs_strategies import Runner

DEFAULT_LOAD_BALANCER = "app/berth-local/0123456789abcdef"
# probe-503 / probe-hang only change what the listener probe route answers (codedeploy_sim.probe);
# for the ECS simulator they are healthy.
BEHAVIOURS = (
    "healthy",
    "crashloop",
    "unhealthy-lb",
    "slow",
    "canary-bad",
    "canary-slow",
    "canary-5xx",
    "probe-503",
    "probe-hang",
)
# What each behaviour does to the requests its tasks serve: (latency factor, 5xx share; None = the
# service's own, 0 without metric_noise). canary-slow and canary-5xx are the bench's scenarios
# (p99 +30 %, 2 % 5xx: scripts/bench-canary), canary-bad the blunt one.
TRAFFIC_PROFILES = {"canary-bad": (25.0, 0.3), "canary-slow": (1.3, None), "canary-5xx": (1.0, 0.02)}
PENDING_STATES = ("PROVISIONING", "PENDING", "ACTIVATING")


def new_deployment_id() -> str:
    return f"ecs-svc/{random.randint(10**18, 10**19 - 1)}"


def breaker_threshold(desired: int) -> int:
    """ECS deployment circuit breaker: 0.5 x desired, at least 3, at most 200."""
    return max(3, min(200, math.ceil(0.5 * desired)))


class SimTask(ecs_models.Task):
    """A moto Task whose status is plain data (moto's Task advances one state per DescribeTasks)."""

    # Not moto's types: the containers are the API's dicts (moto: one Container object), a task has
    # no stoppedReason until it stops and no network configuration outside awsvpc.
    containers: list[dict[str, Any]]  # type: ignore[assignment]
    stopped_reason: str | None  # type: ignore[assignment]
    network_configuration: dict[str, Any] | None  # type: ignore[assignment]

    def __init__(self, backend, service, deployment: dict, task_def, containers: list[dict], behaviour: dict):
        # Deliberately not calling Task.__init__: it would create an ENI per task and a single
        # container built from the first container definition only.
        self._status = "PROVISIONING"
        self._tick = 0
        self._transitions = []
        self.model_name = "ecs::task"
        self.id = uuid.uuid4().hex
        self.cluster_name = service.cluster_name
        self.cluster_arn = service.cluster_arn
        self.container_instance_arn = None
        self.desired_status = "RUNNING"
        self.task_definition_arn = task_def.arn
        self.overrides = {"containerOverrides": [], "inferenceAcceleratorOverrides": []}
        self.started_by = deployment["id"]
        self.tags = []
        self.launch_type = service.launch_type or "FARGATE"
        self.capacity_provider_name = None
        self.platform_version = service.platform_version or ("1.4.0" if self.launch_type == "FARGATE" else None)
        self.platform_family = "Linux" if self.launch_type == "FARGATE" else None
        self.stopped_reason = None
        self.stop_code: str | None = None
        self.resource_requirements = None
        self.region_name = backend.region_name
        self._account_id = backend.account_id
        self._backend = backend
        self.attachments = []
        self.group = f"service:{service.name}"
        self.network_configuration = service.network_configuration or None
        self.cpu = task_def.cpu
        self.memory = task_def.memory
        self.availability_zone = f"{backend.region_name}a"
        self.connectivity = "CONNECTED"
        now = utcnow()
        self.created_at = now
        self.connectivity_at = now
        self.pull_started_at: datetime | None = None
        self.pull_stopped_at: datetime | None = None
        self.started_at: datetime | None = None
        self.stopping_at: datetime | None = None
        self.stopped_at: datetime | None = None
        self.execution_stopped_at: datetime | None = None
        self.health_status = "UNKNOWN"
        self.version = 1
        self.containers = containers
        for c in containers:
            c["taskArn"] = self.task_arn
        # simulator bookkeeping
        self.sim_behaviour = behaviour
        self.sim_ticks = 0  # ticks spent in the current lastStatus
        self.sim_healthy = False
        self.sim_registered = False

    def advance(self) -> None:  # moto calls this on every DescribeTasks
        pass

    @property
    def status(self):
        return self._status

    @status.setter
    def status(self, value):
        self._status = value


class Simulator:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tick_seconds = 0.25
        self.health_ticks = 2  # RUNNING ticks before a task counts healthy / registered
        self.unhealthy_after_ticks = 3  # RUNNING ticks before an unhealthy-lb task is stopped
        self.slow_extra_ticks = 8
        self.requests_per_task = 10  # ALB requests per in-service task per tick
        self.omit_zero_counts = False  # real ALB omits HTTPCode_* datapoints that would be 0
        # None, or alb_noise.Noise: seeded noisy traffic per target group (POST /_berth/config
        # {"metric_noise": {"seed": 7, ...}}) instead of the flat default
        self.metric_noise: Noise | None = None
        self.behaviours: dict[str, dict] = {}
        self.digests: dict[str, str] = {}
        self.load_balancers: dict[str, str] = {}  # target group ARN -> LoadBalancer dimension
        self.disabled: set[str] = set()  # service names or ARNs
        self.ticks = 0
        self.paused = False
        self.errors: list[str] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        # codedeploy_sim installs a function(backend, service, tasks) that feeds ALB metrics of
        # CODE_DEPLOY services according to its listener weights.
        self.task_set_metrics_hook: Callable[[Any, Any, list[SimTask]], None] | None = None
        # ecs_deployments installs its Tracker: service deployments/revisions follow these deployments.
        self.deployment_listener: Tracker | None = None
        # ecs_strategies installs its Runner: it ticks services with a BLUE_GREEN/LINEAR/CANARY run in flight.
        self.strategy_runner: Runner | None = None
        self.ecs_minute_seconds = 1.0  # real seconds per minute of bake / hook timeouts (strategies)
        # Functions(sim) run at the end of every tick, under the lock (ecs_oneoff: one-off tasks and
        # the per-tick record of live task definitions).
        self.tick_hooks: list = []

    # ------------------------------------------------------------ control

    def reset(self) -> None:
        with self.lock:
            self.__init_state()
            if self.deployment_listener is not None:
                self.deployment_listener.reset()

    def __init_state(self):
        self.behaviours.clear()
        self.digests.clear()
        self.load_balancers.clear()
        self.disabled.clear()
        self.tick_seconds = 0.25
        self.health_ticks = 2
        self.unhealthy_after_ticks = 3
        self.slow_extra_ticks = 8
        self.requests_per_task = 10
        self.omit_zero_counts = False
        self.metric_noise = None
        self.ecs_minute_seconds = 1.0
        self.paused = False
        self.errors.clear()

    # The settings `configure` takes (besides `metric_noise`).
    SETTINGS = (
        "tick_seconds",
        "health_ticks",
        "unhealthy_after_ticks",
        "slow_extra_ticks",
        "requests_per_task",
        "omit_zero_counts",
        "ecs_minute_seconds",
        "paused",
    )

    def configure(self, doc: dict) -> dict:
        with self.lock:
            for key in self.SETTINGS:
                if key in doc:
                    setattr(self, key, type(getattr(self, key))(doc[key]))
            if "metric_noise" in doc:
                if doc["metric_noise"] is None:
                    self.metric_noise = None
                else:
                    from .alb_noise import Noise  # numpy: only when asked for

                    self.metric_noise = Noise.from_doc(doc["metric_noise"])
            return self.settings()

    def settings(self) -> dict:
        return {
            "tick_seconds": self.tick_seconds,
            "health_ticks": self.health_ticks,
            "unhealthy_after_ticks": self.unhealthy_after_ticks,
            "slow_extra_ticks": self.slow_extra_ticks,
            "requests_per_task": self.requests_per_task,
            "omit_zero_counts": self.omit_zero_counts,
            "metric_noise": None if self.metric_noise is None else dict(self.metric_noise.__dict__),
            "ecs_minute_seconds": self.ecs_minute_seconds,
            "paused": self.paused,
            "ticks": self.ticks,
        }

    def set_behaviour(self, image: str, behaviour: str, slow_ticks: int | None = None, digest: str | None = None):
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"behaviour must be one of {BEHAVIOURS}")
        with self.lock:
            self.behaviours[image] = {"behaviour": behaviour, "slow_ticks": slow_ticks}
            if digest:
                self.digests[image] = digest

    def digest_for(self, image: str) -> str:
        if "@sha256:" in image:
            return "sha256:" + image.split("@sha256:", 1)[1]
        if image in self.digests:
            return self.digests[image]
        return "sha256:" + hashlib.sha256(image.encode()).hexdigest()

    def behaviour_for(self, image: str, digest: str) -> dict:
        repo = image.split("@", 1)[0]
        candidates = [image, digest, repo]
        candidates += [ref for ref, d in self.digests.items() if d == digest]
        for key in candidates:
            if key in self.behaviours:
                b = dict(self.behaviours[key])
                b["image_key"] = key
                return b
        return {"behaviour": "healthy", "slow_ticks": None, "image_key": None}

    # ------------------------------------------------------------ thread

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ecs-sim", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                if not self.paused:
                    self.tick()
            except Exception as e:  # keep ticking; expose the error through the control API
                import traceback

                self.errors.append(traceback.format_exc())
                del self.errors[:-20]
                print(f"ecs-sim: tick failed: {e!r}", flush=True)
            self._stop.wait(max(0.0, self.tick_seconds - (time.monotonic() - started)))

    def tick(self) -> None:
        with self.lock:
            self.ticks += 1
            for backend in list(iter_ecs_backends()):
                for service in list(backend.services.values()):
                    if service.status != "ACTIVE" or self.is_disabled(service):
                        continue
                    if getattr(service, "sim_taskset_managed", False):
                        tick = self.tick_task_sets
                    elif getattr(service, "sim_managed", False):
                        tick = self.tick_service
                        if self.strategy_runner is not None and getattr(service, "sim_strategy", None) is not None:
                            tick = self.strategy_runner.tick
                    else:
                        continue
                    try:
                        tick(backend, service)
                    except Exception:  # one broken service must not stop the others
                        import traceback

                        self.errors.append(f"{service.arn}: {traceback.format_exc()}")
                        del self.errors[:-20]
            for hook in self.tick_hooks:
                try:
                    hook(self)
                except Exception:  # a broken hook must not stop the services
                    import traceback

                    self.errors.append(f"tick hook {hook!r}: {traceback.format_exc()}")
                    del self.errors[:-20]

    def is_disabled(self, service) -> bool:
        return service.name in self.disabled or service.arn in self.disabled

    # ------------------------------------------------------------ service bookkeeping

    def event(self, service, message: str) -> None:
        service.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": utcnow(), "message": message})
        del service.events[100:]

    def tasks_of(self, backend, service) -> list[SimTask]:
        group = f"service:{service.name}"
        return [
            t
            for t in backend.tasks.get(service.cluster_name, {}).values()
            if isinstance(t, SimTask) and t.group == group
        ]

    def target_groups(self, service) -> list[str]:
        return [lb["targetGroupArn"] for lb in (service.load_balancers or []) if lb.get("targetGroupArn")]

    def launch(self, backend, service, deployment: dict, count: int) -> list[SimTask]:
        task_def = backend.describe_task_definition(deployment["taskDefinition"])
        started = []
        for _ in range(count):
            containers = []
            behaviour = {"behaviour": "healthy", "slow_ticks": None, "image_key": None}
            for cdef in task_def.container_definitions:
                image = cdef.get("image", "")
                digest = self.digest_for(image)
                b = self.behaviour_for(image, digest)
                if behaviour["behaviour"] == "healthy" and b["behaviour"] != "healthy":
                    behaviour = b
                containers.append(
                    {
                        "containerArn": (
                            f"arn:aws:ecs:{backend.region_name}:{backend.account_id}:container/"
                            f"{service.cluster_name}/{uuid.uuid4().hex}"
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
                        "memory": str(cdef["memory"]) if cdef.get("memory") else None,
                        "_health_check": bool(cdef.get("healthCheck")),
                    }
                )
            task = SimTask(backend, service, deployment, task_def, containers, behaviour)
            backend.tasks.setdefault(service.cluster_name, {})[task.task_arn] = task
            started.append(task)
        if started:
            ids = " ".join(f"(task {t.id})" for t in started)
            self.event(service, f"(service {service.name}) has started {len(started)} tasks: {ids}.")
        return started

    def begin_stop(self, task: SimTask, reason: str, stop_code: str, exit_code: int | None = 0) -> None:
        task.desired_status = "STOPPED"
        task.stopped_reason = reason
        task.stop_code = stop_code
        task.stopping_at = utcnow()
        task.sim_healthy = False
        for c in task.containers:
            if exit_code is not None:
                c["exitCode"] = exit_code
        if task.last_status in PENDING_STATES:
            self.finish_stop(task)
        else:
            task.last_status = "DEACTIVATING"
            task.sim_ticks = 0

    def finish_stop(self, task: SimTask) -> None:
        now = utcnow()
        task.last_status = "STOPPED"
        task.desired_status = "STOPPED"
        task.stopped_at = now
        task.execution_stopped_at = now
        task.stopping_at = task.stopping_at or now
        task.health_status = "UNKNOWN"
        for c in task.containers:
            c["lastStatus"] = "STOPPED"
        task.sim_ticks = 0
        if self.deployment_listener is not None:
            self.deployment_listener.task_stopped(task)

    def advance_tasks(self, service, tasks: list[SimTask], owner_of, tgs_of) -> list[SimTask]:
        """Move every task one step (lifecycle, health, crash/ELB failures). owner_of(task) -> the
        deployment dict whose failedTasks counts its crashes (or None); tgs_of(task) -> its target
        group ARNs. Returns the tasks newly registered in their target groups."""
        newly_registered: list[SimTask] = []
        for t in tasks:
            t.sim_ticks += 1
            b = t.sim_behaviour
            dep = owner_of(t)
            tgs = tgs_of(t)
            tg_text = tgs[0] if tgs else None
            if t.desired_status == "STOPPED":
                if t.last_status == "STOPPED":
                    continue
                nxt = {"DEACTIVATING": "STOPPING", "STOPPING": "DEPROVISIONING", "DEPROVISIONING": "STOPPED"}
                if t.last_status == "DEPROVISIONING" or t.last_status not in nxt:
                    self.finish_stop(t)
                else:
                    t.last_status = nxt[t.last_status]
                    t.sim_ticks = 0
                continue
            if t.last_status == "PROVISIONING":
                t.last_status = "PENDING"
                t.pull_started_at = utcnow()
                t.sim_ticks = 0
            elif t.last_status == "PENDING":
                extra = 0
                if b["behaviour"] == "slow":
                    extra = b.get("slow_ticks") or self.slow_extra_ticks
                if t.sim_ticks <= extra:
                    continue
                t.pull_stopped_at = utcnow()
                if b["behaviour"] == "crashloop":
                    for c in t.containers:
                        c["exitCode"] = 1
                        c["reason"] = None
                    self.begin_stop(t, "Essential container in task exited", "EssentialContainerExited", exit_code=1)
                    for c in t.containers:
                        c["exitCode"] = 1
                    if dep is not None:
                        dep["failedTasks"] = dep.get("failedTasks", 0) + 1
                        dep["updatedAt"] = utcnow()
                        if dep["failedTasks"] == 2:
                            self.event(
                                service,
                                f"(service {service.name}) is unable to consistently start tasks successfully. "
                                "For more information, see the Troubleshooting section of the "
                                "Amazon ECS Developer Guide.",
                            )
                    continue
                t.last_status = "RUNNING"
                t.started_at = utcnow()
                t.sim_ticks = 0
                for c in t.containers:
                    c["lastStatus"] = "RUNNING"
                    c["runtimeId"] = f"{t.id}-{abs(hash(c['name'])) % 10**10}"
            elif t.last_status == "RUNNING":
                if b["behaviour"] == "unhealthy-lb" and tgs:
                    if t.sim_ticks >= self.unhealthy_after_ticks:
                        self.event(
                            service,
                            f"(service {service.name}) (task {t.id}) "
                            f"failed ELB health checks in (target-group {tg_text})",
                        )
                        self.begin_stop(
                            t,
                            f"Task failed ELB health checks in (target-group {tg_text})",
                            "ServiceSchedulerInitiated",
                            exit_code=143,
                        )
                    continue
                if not t.sim_healthy and t.sim_ticks >= self.health_ticks:
                    t.sim_healthy = True
                    if any(c.get("_health_check") for c in t.containers):
                        t.health_status = "HEALTHY"
                        for c in t.containers:
                            if c.get("_health_check"):
                                c["healthStatus"] = "HEALTHY"
                    if tgs and not t.sim_registered:
                        t.sim_registered = True
                        newly_registered.append(t)
        return newly_registered

    # ------------------------------------------------------------ the rolling controller

    def tick_service(self, backend, service) -> None:
        deployments = service.deployments
        if not deployments:
            return
        primary = next((d for d in deployments if d["status"] == "PRIMARY"), None)
        if primary is None:
            return
        by_id = {d["id"]: d for d in deployments}
        tgs = self.target_groups(service)
        tasks = self.tasks_of(backend, service)

        # 1. advance every task one step
        newly_registered = len(self.advance_tasks(service, tasks, lambda t: by_id.get(t.started_by), lambda t: tgs))
        if newly_registered:
            for tg in tgs:
                self.event(
                    service, f"(service {service.name}) registered {newly_registered} targets in (target-group {tg})"
                )

        # 2. circuit breaker on the PRIMARY deployment
        cfg = getattr(service, "deployment_configuration", None) or {}
        breaker = cfg.get("deploymentCircuitBreaker") or {}
        if (
            breaker.get("enable")
            and primary.get("rolloutState") == "IN_PROGRESS"
            and primary.get("failedTasks", 0) >= breaker_threshold(primary["desiredCount"])
        ):
            self.trip_breaker(backend, service, primary, bool(breaker.get("rollback")))
            primary = next(d for d in service.deployments if d["status"] == "PRIMARY")
            by_id = {d["id"]: d for d in service.deployments}

        # 3. launch tasks for the PRIMARY deployment
        desired = service.desired_count
        max_pct = int(cfg.get("maximumPercent", 200))
        min_pct = int(cfg.get("minimumHealthyPercent", 100))
        max_total = max(desired, math.floor(desired * max_pct / 100))
        min_healthy = math.ceil(desired * min_pct / 100)
        tasks = self.tasks_of(backend, service)
        live = [t for t in tasks if t.desired_status == "RUNNING"]
        not_stopped = [t for t in tasks if t.last_status != "STOPPED"]
        primary_live = [t for t in live if t.started_by == primary["id"]]
        if primary.get("rolloutState") != "FAILED":
            need = desired - len(primary_live)
            room = max_total - len(not_stopped)
            if need > 0 and room > 0:
                primary_live += self.launch(backend, service, primary, min(need, room))
        # scale in surplus PRIMARY tasks
        if len(primary_live) > desired:
            surplus = sorted(primary_live, key=lambda t: (t.sim_healthy, t.created_at))[: len(primary_live) - desired]
            self.stop_tasks(service, surplus, primary, tgs)

        # 4. drain old deployments within minimumHealthyPercent
        live = [t for t in self.tasks_of(backend, service) if t.desired_status == "RUNNING"]
        old = [t for t in live if t.started_by != primary["id"]]
        healthy = sum(1 for t in live if t.last_status == "RUNNING" and t.sim_healthy)
        to_stop = [t for t in old if not (t.last_status == "RUNNING" and t.sim_healthy)]
        for t in sorted((t for t in old if t.last_status == "RUNNING" and t.sim_healthy), key=lambda t: t.created_at):
            if healthy - 1 >= min_healthy or healthy > desired:
                to_stop.append(t)
                healthy -= 1
        if to_stop:
            self.stop_tasks(service, to_stop, primary, tgs)

        # 5. counts, drained deployments, completion
        tasks = self.tasks_of(backend, service)
        now = utcnow()
        for d in list(service.deployments):
            mine = [t for t in tasks if t.started_by == d["id"] and t.desired_status == "RUNNING"]
            running = sum(1 for t in mine if t.last_status == "RUNNING")
            pending = sum(1 for t in mine if t.last_status in PENDING_STATES)
            if (running, pending) != (d.get("runningCount"), d.get("pendingCount")):
                d["runningCount"], d["pendingCount"], d["updatedAt"] = running, pending, now
            # A drained old deployment goes away; a FAILED one stays visible (ACTIVE) until the
            # rollback deployment completes, as ECS shows it.
            if (
                d["status"] != "PRIMARY"
                and d.get("rolloutState") != "FAILED"
                and not any(t.started_by == d["id"] and t.last_status != "STOPPED" for t in tasks)
            ):
                service.deployments.remove(d)
        service.running_count = sum(1 for t in tasks if t.desired_status == "RUNNING" and t.last_status == "RUNNING")
        service.pending_count = sum(
            1 for t in tasks if t.desired_status == "RUNNING" and t.last_status in PENDING_STATES
        )

        if (
            primary.get("rolloutState") == "IN_PROGRESS"
            and not any(t.started_by != primary["id"] and t.last_status != "STOPPED" for t in tasks)
            and sum(
                1
                for t in tasks
                if t.started_by == primary["id"]
                and t.desired_status == "RUNNING"
                and t.last_status == "RUNNING"
                and t.sim_healthy
            )
            == desired
            and not any(t.last_status != "STOPPED" and t.desired_status == "STOPPED" for t in tasks)
        ):
            service.deployments[:] = [primary]
            primary["rolloutState"] = "COMPLETED"
            primary["rolloutStateReason"] = f"ECS deployment {primary['id']} completed."
            primary["updatedAt"] = now
            service.sim_last_completed = (primary["id"], primary["taskDefinition"])
            self.event(service, f"(service {service.name}) (deployment {primary['id']}) deployment completed.")
            self.event(service, f"(service {service.name}) has reached a steady state.")

        # 6. load balancer metrics
        if tgs:
            self.feed_metrics(backend, service, tasks, tgs)

        if self.deployment_listener is not None:
            self.deployment_listener.sync(backend, service)

    def stop_tasks(self, service, tasks: list[SimTask], primary: dict, tgs: list[str]) -> None:
        if not tasks:
            return
        registered = [t for t in tasks if t.sim_registered]
        for t in tasks:
            self.begin_stop(
                t,
                f"Scaling activity initiated by (deployment {primary['id']})",
                "ServiceSchedulerInitiated",
                exit_code=0,
            )
        ids = " ".join(f"(task {t.id})" for t in tasks)
        if registered:
            self.event(service, f"(service {service.name}) has begun draining connections on {len(registered)} tasks.")
            for tg in tgs:
                self.event(
                    service, f"(service {service.name}) deregistered {len(registered)} targets in (target-group {tg})"
                )
        self.event(service, f"(service {service.name}) has stopped {len(tasks)} running tasks: {ids}.")

    def trip_breaker(self, backend, service, primary: dict, rollback: bool) -> None:
        now = utcnow()
        primary["rolloutState"] = "FAILED"
        primary["rolloutStateReason"] = "ECS deployment circuit breaker: tasks failed to start."
        primary["updatedAt"] = now
        self.event(
            service, f"(service {service.name}) deployment {primary['id']} deployment failed: tasks failed to start."
        )
        last = getattr(service, "sim_last_completed", None)
        if not rollback or last is None:
            if self.deployment_listener is not None:
                self.deployment_listener.breaker_tripped(backend, service, primary, None)
            return
        last_id, last_td = last
        new_id = new_deployment_id()
        primary["status"] = "ACTIVE"
        rollback_dep = make_deployment(service, new_id, last_td, now)
        rollback_dep["rolloutStateReason"] = f"ECS deployment circuit breaker: rolling back to deploymentId {last_id}."
        service.deployments.insert(0, rollback_dep)
        service.task_definition = last_td
        self.event(service, f"(service {service.name}) rolling back to deployment {last_id}.")
        if self.deployment_listener is not None:
            self.deployment_listener.breaker_tripped(backend, service, primary, rollback_dep)

    # ------------------------------------------------------------ CODE_DEPLOY services: task sets

    def tick_task_sets(self, backend, service) -> None:
        """A CODE_DEPLOY service: every task set (PRIMARY and ACTIVE) keeps its computed desired
        count of tasks; nothing is drained between task sets (CodeDeploy removes whole task sets)."""
        sets = {ts.id: ts for ts in service.task_sets}
        tasks = self.tasks_of(backend, service)

        def tgs_of(t):
            ts = sets.get(t.started_by)
            return [ts.sim_tg_arn] if ts is not None and getattr(ts, "sim_tg_arn", None) else []

        newly = self.advance_tasks(
            service, tasks, lambda t: getattr(sets.get(t.started_by), "sim_counts", None), tgs_of
        )
        by_tg: dict[str, int] = {}
        for t in newly:
            for tg in tgs_of(t):
                by_tg[tg] = by_tg.get(tg, 0) + 1
        for tg, n in by_tg.items():
            self.event(service, f"(service {service.name}) registered {n} targets in (target-group {tg})")
        now = utcnow()
        for ts in service.task_sets:
            scale = float((ts.scale or {}).get("value", 100.0))
            desired = math.ceil(service.desired_count * scale / 100)
            live = [
                t for t in self.tasks_of(backend, service) if t.started_by == ts.id and t.desired_status == "RUNNING"
            ]
            if len(live) < desired:
                self.launch(backend, service, {"id": ts.id, "taskDefinition": ts.task_definition}, desired - len(live))
            elif len(live) > desired:
                surplus = sorted(live, key=lambda t: (t.sim_healthy, t.created_at))[: len(live) - desired]
                self.stop_tasks(service, surplus, {"id": ts.id}, tgs_of(surplus[0]))
            mine = [
                t for t in self.tasks_of(backend, service) if t.started_by == ts.id and t.desired_status == "RUNNING"
            ]
            running = sum(1 for t in mine if t.last_status == "RUNNING")
            pending = sum(1 for t in mine if t.last_status in PENDING_STATES)
            steady = running == desired and all(t.sim_healthy for t in mine if t.last_status == "RUNNING")
            if (running, pending, desired) != (ts.running_count, ts.pending_count, ts.computed_desired_count):
                ts.running_count, ts.pending_count, ts.computed_desired_count = running, pending, desired
                ts.updatedAt = now
            stability = "STEADY_STATE" if steady else "STABILIZING"
            if stability != ts.stabilityStatus:
                ts.stabilityStatus = stability
                ts.stabilityStatusAt = now
        tasks = self.tasks_of(backend, service)
        service.running_count = sum(1 for t in tasks if t.desired_status == "RUNNING" and t.last_status == "RUNNING")
        service.pending_count = sum(
            1 for t in tasks if t.desired_status == "RUNNING" and t.last_status in PENDING_STATES
        )
        if self.task_set_metrics_hook is not None:
            self.task_set_metrics_hook(backend, service, tasks)

    # ------------------------------------------------------------ CloudWatch feed

    def feed_metrics(self, backend, service, tasks: list[SimTask], tgs: list[str]) -> None:
        in_service = [
            t for t in tasks if t.desired_status == "RUNNING" and t.last_status == "RUNNING" and t.sim_registered
        ]
        unhealthy = [
            t for t in tasks if t.desired_status == "RUNNING" and t.last_status == "RUNNING" and not t.sim_healthy
        ]
        if self.metric_noise is not None:
            for tg_arn in tgs:
                requests, errors, latencies = self.noisy_traffic(tg_arn, in_service, 1.0)
                self.put_tg_metrics(backend, tg_arn, len(in_service), len(unhealthy), requests, errors, latencies)
            return
        rng = random.Random(self.ticks * 7919 + hash(service.name) % 1000)
        requests = 0
        errors = 0
        latencies = []
        for t in in_service:
            behaviour = t.sim_behaviour["behaviour"]
            factor, share = TRAFFIC_PROFILES.get(behaviour, (1.0, 0.0))
            n = self.requests_per_task
            requests += n
            errors += round(n * (share or 0.0))
            if behaviour == "canary-bad":
                latencies += [round(rng.uniform(1.2, 1.8), 4) for _ in range(n)]
            else:
                latencies += [round(rng.uniform(0.03, 0.07) * factor, 4) for _ in range(n)]
        for tg_arn in tgs:
            self.put_tg_metrics(backend, tg_arn, len(in_service), len(unhealthy), requests, errors, latencies)

    def feed_split(self, backend, service, tasks: list[SimTask], split: dict) -> None:
        """ALB metrics per target group when revisions have their own ({tg: (deployment ids,
        share of the traffic)}: ECS blue/green with an alternate target group): seeded noisy
        traffic, or the flat default with `requests_per_task x desiredCount x share` requests."""
        for tg_arn, (deployment_ids, share) in split.items():
            mine = [
                t
                for t in tasks
                if t.started_by in deployment_ids and t.desired_status == "RUNNING" and t.last_status == "RUNNING"
            ]
            in_service = [t for t in mine if t.sim_registered]
            unhealthy = [t for t in mine if not t.sim_healthy]
            if self.metric_noise is not None:
                requests, errors, latencies = self.noisy_traffic(tg_arn, in_service, share)
            elif in_service:
                rng = random.Random(self.ticks * 7919 + hash(tg_arn) % 1000)
                requests = round(self.requests_per_task * max(1, service.desired_count) * share)
                errors, latencies = 0, []
                for i in range(requests):
                    behaviour = in_service[i % len(in_service)].sim_behaviour["behaviour"]
                    factor, rate = TRAFFIC_PROFILES.get(behaviour, (1.0, 0.0))
                    errors += 1 if rng.random() < (rate or 0.0) else 0
                    low, high = (1.2, 1.8) if behaviour == "canary-bad" else (0.03 * factor, 0.07 * factor)
                    latencies.append(round(rng.uniform(low, high), 4))
            else:
                requests, errors, latencies = 0, 0, []
            self.put_tg_metrics(backend, tg_arn, len(in_service), len(unhealthy), requests, errors, latencies)

    def noisy_traffic(self, tg_arn: str, in_service: list, share: float) -> tuple[int, int, list[float]]:
        """One tick of seeded noisy traffic (alb_noise) for a target group carrying `share` of the
        service's requests, split between its in-service tasks' behaviours."""
        from .alb_noise import Profile, requests_in

        assert self.metric_noise is not None, "noisy traffic is metric_noise's"
        if not in_service:
            return 0, 0, []
        counts: dict[str, int] = {}
        for t in in_service:
            counts[t.sim_behaviour["behaviour"]] = counts.get(t.sim_behaviour["behaviour"], 0) + 1
        profiles = []
        for behaviour, n in sorted(counts.items()):
            factor, errors = TRAFFIC_PROFILES.get(behaviour, (1.0, None))
            profiles.append((Profile(latency_factor=factor, error_rate=errors), n / len(in_service)))
        # a tick's traffic is that of the clock's seconds it spans (the stack's clock may run faster)
        requests, errors, lat = requests_in(
            self.metric_noise,
            tg_arn.split(":")[-1],
            self.ticks,
            share,
            self.tick_seconds * clock.clock_rate(),
            profiles,
        )
        return requests, errors, [float(x) for x in lat]

    def put_tg_metrics(
        self, backend, tg_arn: str, healthy: int, unhealthy: int, requests: int, errors: int, latencies: list[float]
    ) -> None:
        """One tick of AWS/ApplicationELB datapoints for one target group (no RequestCount without requests)."""
        from moto.cloudwatch.models import cloudwatch_backends

        cw = cloudwatch_backends[backend.account_id][backend.region_name]
        now = utcnow()
        tg_dim = tg_arn.split(":")[-1]  # targetgroup/NAME/ID
        lb_dim = self.load_balancers.get(tg_arn, DEFAULT_LOAD_BALANCER)
        dims = [{"Name": "TargetGroup", "Value": tg_dim}, {"Name": "LoadBalancer", "Value": lb_dim}]
        data: list[dict[str, Any]] = [
            {"MetricName": "HealthyHostCount", "Value": float(healthy), "Unit": "Count"},
            {"MetricName": "UnHealthyHostCount", "Value": float(unhealthy), "Unit": "Count"},
        ]
        if requests:
            data.append({"MetricName": "RequestCount", "Value": float(requests), "Unit": "Count"})
            if errors or not self.omit_zero_counts:
                data.append({"MetricName": "HTTPCode_Target_5XX_Count", "Value": float(errors), "Unit": "Count"})
            if requests - errors or not self.omit_zero_counts:
                data.append(
                    {"MetricName": "HTTPCode_Target_2XX_Count", "Value": float(requests - errors), "Unit": "Count"}
                )
            data.append({"MetricName": "TargetResponseTime", "Values": latencies, "Unit": "Seconds"})
        for d in data:
            d["Dimensions"] = dims
            d["Timestamp"] = now
        cw.put_metric_data("AWS/ApplicationELB", data)

    # ------------------------------------------------------------ inspection

    def snapshot(self) -> dict:
        with self.lock:
            out = []
            for backend in list(iter_ecs_backends()):
                for service in list(backend.services.values()):
                    tasks = self.tasks_of(backend, service)
                    out.append(
                        {
                            "account": backend.account_id,
                            "region": backend.region_name,
                            "cluster": service.cluster_name,
                            "service": service.name,
                            "status": service.status,
                            "simulated": getattr(service, "sim_managed", False) and not self.is_disabled(service),
                            "desiredCount": service.desired_count,
                            "runningCount": service.running_count,
                            "taskDefinition": service.task_definition,
                            "deploymentConfiguration": getattr(service, "deployment_configuration", None),
                            "deployments": [
                                {
                                    k: (v.isoformat() if hasattr(v, "isoformat") else v)
                                    for k, v in d.items()
                                    if k != "networkConfiguration"
                                }
                                for d in service.deployments
                            ],
                            "taskSets": [
                                {
                                    "id": ts.id,
                                    "status": ts.status,
                                    "taskDefinition": ts.task_definition,
                                    "computedDesiredCount": getattr(ts, "computed_desired_count", None),
                                    "runningCount": getattr(ts, "running_count", None),
                                    "pendingCount": getattr(ts, "pending_count", None),
                                    "stabilityStatus": ts.stabilityStatus,
                                    "targetGroupArn": getattr(ts, "sim_tg_arn", None),
                                }
                                for ts in service.task_sets
                            ],
                            "events": [e["message"] for e in service.events[:30]],
                            "tasks": [
                                {
                                    "id": t.id,
                                    "deployment": t.started_by,
                                    "taskDefinitionArn": t.task_definition_arn,
                                    "lastStatus": t.last_status,
                                    "desiredStatus": t.desired_status,
                                    "healthy": t.sim_healthy,
                                    "behaviour": t.sim_behaviour["behaviour"],
                                    "stoppedReason": t.stopped_reason,
                                    "images": [(c["image"], c["imageDigest"]) for c in t.containers],
                                }
                                for t in tasks
                            ],
                        }
                    )
            return {
                "settings": self.settings(),
                "behaviours": self.behaviours,
                "digests": self.digests,
                "disabled": sorted(self.disabled),
                "services": out,
                "errors": self.errors[-5:],
                # "ECS Deployment State Change" events put on EventBridge (ecs_deployments), last 50
                "deploymentEvents": list(self.deployment_listener.events[-50:]) if self.deployment_listener else [],
            }


SIM = Simulator()


def iter_ecs_backends():
    for _account, regions in list(ecs_models.ecs_backends.items()):
        for _region, backend in list(regions.items()):
            yield backend


def make_deployment(service, dep_id: str, td_arn: str, now) -> dict:
    return {
        "id": dep_id,
        "status": "PRIMARY",
        "taskDefinition": td_arn,
        "desiredCount": service.desired_count,
        "pendingCount": 0,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": now,
        "updatedAt": now,
        "launchType": service.launch_type,
        "platformVersion": service.platform_version,
        "platformFamily": "Linux" if service.launch_type == "FARGATE" else None,
        "networkConfiguration": service.network_configuration or None,
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": f"ECS deployment {dep_id} in progress.",
    }


DEFAULT_DEPLOYMENT_CONFIGURATION = {
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}


def merge_deployment_configuration(current: dict | None, update: dict | None) -> dict:
    cfg = {k: (dict(v) if isinstance(v, dict) else v) for k, v in (current or DEFAULT_DEPLOYMENT_CONFIGURATION).items()}
    for k, v in (update or {}).items():
        if v is not None:
            cfg[k] = v
    return cfg


# ---------------------------------------------------------------- task sets (CODE_DEPLOY services)
# Used by codedeploy_sim, always under SIM.lock. A service is task-set managed when it was created
# with deploymentController CODE_DEPLOY and a task definition; other services get None back.


def _taskset_service(backend, cluster: str, service: str):
    try:
        s = backend._get_service(cluster, service)
    except Exception:  # ClusterNotFound / ServiceNotFound: the stand-in was reset or the service deleted
        return None
    return s if getattr(s, "sim_taskset_managed", False) and s.status == "ACTIVE" else None


def target_group_arn(backend, name_or_arn: str | None) -> str | None:
    """A target group's ARN from its name (elbv2 backend of the same account/region)."""
    if not name_or_arn:
        return None
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    try:
        from moto.elbv2.models import elbv2_backends

        for tg in elbv2_backends[backend.account_id][backend.region_name].target_groups.values():
            if tg.name == name_or_arn:
                return tg.arn
    except Exception:  # noqa: BLE001 - no elbv2 backend: no ARN
        pass
    return None


class SimTaskSet(ecs_models.TaskSet):
    """A moto TaskSet with what ECS shows of one (startedBy, counts) and the simulator's own state."""

    started_by: str | None
    computed_desired_count: int
    running_count: int
    pending_count: int
    sim_tg_arn: str | None  # the target group its tasks register in
    sim_counts: dict[str, int]


def new_task_set(
    backend, service, td_arn: str, status: str, tg_arn: str | None, started_by: str | None = None
) -> SimTaskSet:
    ts = SimTaskSet(
        service.name,
        service.cluster_name,
        td_arn,
        backend.account_id,
        backend.region_name,
        launch_type=service.launch_type,
        network_configuration=service.network_configuration or None,
        platform_version=service.platform_version,
    )
    ts.id = new_deployment_id()
    ts.task_set_arn = (
        f"arn:aws:ecs:{backend.region_name}:{backend.account_id}:task-set/{service.cluster_name}/{service.name}/{ts.id}"
    )
    ts.status = status
    ts.service_arn = service.arn
    ts.cluster_arn = service.cluster_arn
    ts.started_by = started_by
    ts.computed_desired_count = 0
    ts.running_count = 0
    ts.pending_count = 0
    ts.stabilityStatus = "STABILIZING"
    ts.sim_tg_arn = tg_arn
    ts.sim_counts = {"failedTasks": 0}
    lb = (service.load_balancers or [{}])[0] if service.load_balancers else None
    if lb:
        ts.load_balancers = [{**lb, "targetGroupArn": tg_arn or lb.get("targetGroupArn")}]
    return ts


def current_task_set_id(backend, cluster: str, service: str) -> str | None:
    s = _taskset_service(backend, cluster, service)
    if s is None:
        return None
    return next((ts.id for ts in s.task_sets if ts.status == "PRIMARY"), None)


def create_task_set(backend, cluster: str, service: str, td_arn: str, tg_name: str | None) -> str | None:
    """CodeDeploy Install: an ACTIVE replacement task set at 100 % scale, in target group tg_name."""
    s = _taskset_service(backend, cluster, service)
    if s is None:
        return None
    ts = new_task_set(backend, s, td_arn, "ACTIVE", target_group_arn(backend, tg_name), started_by="CodeDeploy")
    s.task_sets.append(ts)
    return ts.id


def task_set_counts(backend, cluster: str, service: str, ts_id: str | None, healthy: bool = False):
    """-> (desired, pending, running) of a task set, or None. healthy=True counts only healthy running tasks."""
    s = _taskset_service(backend, cluster, service)
    if s is None or not ts_id:
        return None
    ts = next((t for t in s.task_sets if t.id == ts_id), None)
    if ts is None:
        return None
    desired = math.ceil(s.desired_count * float((ts.scale or {}).get("value", 100.0)) / 100)
    mine = [t for t in SIM.tasks_of(backend, s) if t.started_by == ts_id and t.desired_status == "RUNNING"]
    running = sum(1 for t in mine if t.last_status == "RUNNING" and (t.sim_healthy or not healthy))
    pending = sum(1 for t in mine if t.last_status in PENDING_STATES)
    return desired, pending, running


def promote_task_set(backend, cluster: str, service: str, ts_id: str | None) -> None:
    s = _taskset_service(backend, cluster, service)
    if s is None or not ts_id or not any(t.id == ts_id for t in s.task_sets):
        return
    for ts in s.task_sets:
        ts.status = "PRIMARY" if ts.id == ts_id else "ACTIVE"
        ts.updatedAt = utcnow()
        if ts.id == ts_id:
            s.task_definition = ts.task_definition


def remove_task_set(backend, cluster: str, service: str, ts_id: str | None, reason: str) -> None:
    s = _taskset_service(backend, cluster, service)
    if s is None or not ts_id:
        return
    ts = next((t for t in s.task_sets if t.id == ts_id), None)
    if ts is None:
        return
    s.task_sets.remove(ts)
    live = [t for t in SIM.tasks_of(backend, s) if t.started_by == ts_id and t.desired_status == "RUNNING"]
    if live:
        for t in live:
            SIM.begin_stop(t, reason, "ServiceSchedulerInitiated", exit_code=0)
        SIM.event(
            s, f"(service {s.name}) has stopped {len(live)} running tasks: {' '.join(f'(task {t.id})' for t in live)}."
        )


# ---------------------------------------------------------------- moto patches

_ORIGINALS: dict[str, Any] = {}


def _patched_create_service_response(self):
    """CreateService: moto drops deploymentConfiguration and never starts tasks."""
    if SIM.strategy_runner is not None:
        SIM.strategy_runner.validate(self._get_param("deploymentConfiguration"))
    result = _ORIGINALS["create_service_response"](self)
    service = result.result["service"] if hasattr(result, "result") else None
    if service is None:
        service = self.ecs_backend._get_service(self._get_param("cluster", "default"), self._get_param("serviceName"))
    with SIM.lock:
        service.deployment_configuration = merge_deployment_configuration(
            None, self._get_param("deploymentConfiguration")
        )
        service.health_check_grace_period_seconds = self._get_param("healthCheckGracePeriodSeconds")
        service.created_at = utcnow()
        service.created_by = f"arn:aws:iam::{self.ecs_backend.account_id}:role/berth-standin"
        service.sim_last_completed = None
        controller = (service.deployment_controller or {}).get("type", "ECS")
        service.sim_managed = controller == "ECS"
        service.sim_taskset_managed = controller == "CODE_DEPLOY" and bool(service.task_definition)
        if service.sim_taskset_managed:
            # The original (blue) task set, in the service's target group; its tasks start at once.
            tg = (service.load_balancers or [{}])[0].get("targetGroupArn") if service.load_balancers else None
            service.task_sets = [new_task_set(self.ecs_backend, service, service.task_definition, "PRIMARY", tg)]
            service.running_count = 0
            service.pending_count = 0
        if service.sim_managed and service.task_definition:
            now = utcnow()
            service.deployments = [make_deployment(service, new_deployment_id(), service.task_definition, now)]
            service.running_count = 0
            service.pending_count = 0
            if SIM.deployment_listener is not None:
                SIM.deployment_listener.deployment_started(self.ecs_backend, service, service.deployments[0])
    return result


def _patched_update_service(self, service_properties: dict[str, Any]):
    """UpdateService like ECS: a new PRIMARY deployment for a new task definition or
    forceNewDeployment; desiredCount untouched unless sent."""
    props = dict(service_properties)
    cluster_str = props.pop("cluster", "default")
    service_str = props.pop("service").split("/")[-1]
    td_str = props.pop("task_definition", None)
    force = bool(props.pop("force_new_deployment", False))
    desired = props.pop("desired_count", None)
    dep_cfg = props.pop("deployment_configuration", None)
    self._get_cluster(cluster_str)
    service = self._get_service(cluster_str, service_str)
    if service.status != "ACTIVE":
        raise ServiceNotFoundException
    if SIM.strategy_runner is not None and dep_cfg is not None:
        SIM.strategy_runner.validate(dep_cfg)
    with SIM.lock:
        td_arn = None
        if td_str:
            td_arn = self.describe_task_definition(td_str).arn
        controller = (service.deployment_controller or {}).get("type", "ECS")
        if controller == "CODE_DEPLOY" and td_arn and td_arn != service.task_definition:
            # Real ECS: the task definition of a CODE_DEPLOY service changes only through CodeDeploy.
            raise InvalidParameterException(
                "Unable to update task definition on services with a CODE_DEPLOY deployment controller. "
                "Use AWS CodeDeploy to trigger a new deployment."
            )
        for name, value in props.items():
            if value is not None:
                setattr(service, name, value)
        if dep_cfg is not None:
            service.deployment_configuration = merge_deployment_configuration(
                getattr(service, "deployment_configuration", None), dep_cfg
            )
        if desired is not None:
            if int(desired) < 0:
                raise InvalidParameterException("desiredCount must be >= 0")
            service.desired_count = int(desired)
            for d in service.deployments:
                if d["status"] == "PRIMARY":
                    d["desiredCount"] = int(desired)
                    d["updatedAt"] = utcnow()
        if not getattr(service, "sim_managed", False):
            if td_arn:
                service.task_definition = td_arn
            return service
        primary = next((d for d in service.deployments if d["status"] == "PRIMARY"), None)
        current_td = primary["taskDefinition"] if primary else service.task_definition
        if (td_arn and td_arn != current_td) or force:
            now = utcnow()
            for d in service.deployments:
                if d["status"] == "PRIMARY":
                    d["status"] = "ACTIVE"
                    d["updatedAt"] = now
            new_td = td_arn or current_td
            service.deployments.insert(0, make_deployment(service, new_deployment_id(), new_td, now))
            service.task_definition = new_td
            if SIM.deployment_listener is not None:
                SIM.deployment_listener.deployment_started(self, service, service.deployments[0])
    return service


def _patched_list_tasks(
    self,
    cluster_str=None,
    container_instance=None,
    family=None,
    started_by=None,
    service_name=None,
    desiredStatus=None,  # noqa: N803 - moto's own parameter name
):
    """ListTasks: filter by serviceName (moto ignores it) and default desiredStatus to RUNNING as ECS does."""
    tasks = _ORIGINALS["list_tasks"](self, cluster_str, container_instance, family, started_by, None, desiredStatus)
    if service_name:
        group = "service:" + service_name.split("/")[-1]
        tasks = [t for t in tasks if getattr(t, "group", None) == group]
    if not desiredStatus:
        tasks = [t for t in tasks if t.desired_status == "RUNNING"]
    return tasks


def _patched_delete_service(self, cluster_name, service_name, force):
    service = _ORIGINALS["delete_service"](self, cluster_name, service_name, force)
    with SIM.lock:
        for t in SIM.tasks_of(self, service):
            if t.desired_status == "RUNNING":
                SIM.begin_stop(t, "Service deleted", "ServiceSchedulerInitiated")
                SIM.finish_stop(t)
    return service


LIST_TASK_DEFINITIONS_DEFAULT_PAGE = 100
TASK_DEFINITION_STATUSES = ("ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS")


def _list_task_definitions_token(query: dict, last: tuple[str, int]) -> str:
    import base64
    import json

    doc = {"q": query, "after": [last[0], last[1]]}
    return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode().rstrip("=")


def _list_task_definitions_cursor(token: str, query: dict) -> tuple[str, int]:
    import base64
    import json

    try:
        doc = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        family, revision = doc["after"]
        if doc["q"] != query:
            raise ValueError("token of another query")
        return str(family), int(revision)
    except Exception:  # noqa: BLE001 - any malformed token is the caller's error
        raise InvalidParameterException("Invalid nextToken.") from None


def _patched_list_task_definitions_response(self):
    """ListTaskDefinitions as ECS answers it (moto 5.2.5 ignores sort, maxResults and nextToken and
    returns every revision oldest first): `familyPrefix` is the full family name (exact match, as
    in ECS), `status` ACTIVE by default, `sort` ASC (family name, then revision ascending) or DESC
    (both reversed), pages of `maxResults` (1..100, default 100) with an opaque `nextToken`."""
    from moto.core.responses import ActionResult

    family = self._get_param("familyPrefix")
    status = self._get_param("status") or "ACTIVE"
    sort = self._get_param("sort") or "ASC"
    max_results = self._get_param("maxResults")
    token = self._get_param("nextToken")
    if status not in TASK_DEFINITION_STATUSES:
        raise InvalidParameterException(f"status must be one of {', '.join(TASK_DEFINITION_STATUSES)}.")
    if sort not in ("ASC", "DESC"):
        raise InvalidParameterException("sort must be one of ASC, DESC.")
    if max_results is None:
        page = LIST_TASK_DEFINITIONS_DEFAULT_PAGE
    else:
        try:
            page = int(max_results)
        except (TypeError, ValueError):
            raise InvalidParameterException("maxResults must be between 1 and 100.") from None
        if not 1 <= page <= 100:
            raise InvalidParameterException("maxResults must be between 1 and 100.")
    query = {"familyPrefix": family, "status": status, "sort": sort}
    with SIM.lock:
        rows = sorted(
            (td.family, int(td.revision), td.arn)
            for revisions in self.ecs_backend.task_definitions.values()
            for td in revisions.values()
            if (family is None or td.family == family) and td.status == status
        )
    if sort == "DESC":
        rows.reverse()
    if token:
        after = _list_task_definitions_cursor(token, query)
        # A cursor (the last key returned), not an offset: revisions registered between pages
        # neither repeat nor shift the next page.
        rows = [r for r in rows if ((r[0], r[1]) > after if sort == "ASC" else (r[0], r[1]) < after)]
    out: dict[str, Any] = {"taskDefinitionArns": [arn for _, _, arn in rows[:page]]}
    if len(rows) > page:
        last = rows[page - 1]
        out["nextToken"] = _list_task_definitions_token(query, (last[0], last[1]))
    return ActionResult(out)


def _patched_task_definition_init(self, *args, **kwargs):
    """ECS answers every task definition with the time it was registered (`registeredAt`, in
    DescribeTaskDefinition and RegisterTaskDefinition); moto 5.2.5 leaves it out."""
    _ORIGINALS["task_definition_init"](self, *args, **kwargs)
    self.registered_at = utcnow()


def install() -> None:
    if _ORIGINALS:
        return
    from . import ecs_deployments, ecs_strategies  # service deployments/revisions, events; native strategies

    ecs_deployments.install()
    ecs_strategies.install()
    # Monkeypatching moto (the stand-in's purpose): mypy flags assigning to a method (method-assign).
    _ORIGINALS["task_definition_init"] = ecs_models.TaskDefinition.__init__
    ecs_models.TaskDefinition.__init__ = _patched_task_definition_init  # type: ignore[method-assign]
    _ORIGINALS["list_task_definitions_response"] = ecs_responses.EC2ContainerServiceResponse.list_task_definitions
    ecs_responses.EC2ContainerServiceResponse.list_task_definitions = _patched_list_task_definitions_response  # type: ignore[method-assign]
    _ORIGINALS["create_service_response"] = ecs_responses.EC2ContainerServiceResponse.create_service
    _ORIGINALS["list_tasks"] = ecs_models.EC2ContainerServiceBackend.list_tasks
    _ORIGINALS["delete_service"] = ecs_models.EC2ContainerServiceBackend.delete_service
    _ORIGINALS["update_service"] = ecs_models.EC2ContainerServiceBackend.update_service
    ecs_responses.EC2ContainerServiceResponse.create_service = _patched_create_service_response  # type: ignore[method-assign]
    ecs_models.EC2ContainerServiceBackend.update_service = _patched_update_service  # type: ignore[method-assign]
    ecs_models.EC2ContainerServiceBackend.list_tasks = _patched_list_tasks  # type: ignore[method-assign]
    ecs_models.EC2ContainerServiceBackend.delete_service = _patched_delete_service  # type: ignore[method-assign]
