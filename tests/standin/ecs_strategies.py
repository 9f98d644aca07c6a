"""ECS's built-in BLUE_GREEN, LINEAR and CANARY deployment strategies for simulated ECS services.

A service whose `deploymentConfiguration.strategy` is one of them deploys an update (a deployment
with a source revision) as a *run*: the green revision is scaled to the full desired count beside
blue, then the lifecycle stages follow one per tick at most (so each is observable), test and
production traffic weights move per stage, bakes wait `ecs_minute_seconds` per minute, lifecycle
hooks are invoked (AWS_LAMBDA through the stand-in's Lambda route, in a thread, never under the
simulator's lock; PAUSE hooks wait for ContinueServiceDeployment), and a FAILED hook, a
ContinueServiceDeployment(ROLLBACK), a hook timeout or StopServiceDeployment roll back to blue.
The run lives on moto's Service (`sim_strategy`); the service deployment record (ecs_deployments)
shows `lifecycleStage`, `lifecycleHookDetails` and the weights on its revisions.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import uuid
from datetime import datetime, timedelta

from moto.core.utils import utcnow
from moto.ecs import responses as ecs_responses
from moto.ecs.exceptions import EcsClientException, InvalidParameterException

from .ecs_deployments import TRACKER, ServiceDeploymentNotFoundException, _lookup_record, emit
from .ecs_sim import PENDING_STATES, SIM

STRATEGIES = ("BLUE_GREEN", "LINEAR", "CANARY")
DEFAULT_CALLBACK_DELAY = 30  # seconds, when a hook answers IN_PROGRESS without callBackDelay
DEFAULT_PAUSE_TIMEOUT_MINUTES = 14 * 24 * 60


class Hook:
    """One lifecycle hook's execution at one stage (re-invoked while it answers IN_PROGRESS)."""

    def __init__(self, cfg: dict, stage: str, hook_stage: str):
        self.cfg = cfg
        self.stage = stage  # the deployment's lifecycleStage while it runs
        self.hook_stage = (
            hook_stage  # what the payload says (PRE_PRODUCTION_TRAFFIC_SHIFT has no lifecycleStage of its own)
        )
        self.hook_id = str(uuid.uuid4())
        self.execution_id = str(uuid.uuid4())
        self.target_type = cfg.get("targetType") or "AWS_LAMBDA"
        self.status = "IN_PROGRESS" if self.target_type == "AWS_LAMBDA" else "AWAITING_ACTION"
        self.details = cfg.get("hookDetails")
        self.next_call = 0.0  # monotonic time of the next invocation
        self.calling = False
        self.result: tuple | None = None  # (ok, answer dict | error text), set by the invoking thread
        self.invocations = 0
        self.started = time.monotonic()
        self.expires: float | None = None  # monotonic, from timeoutConfiguration
        self.expires_at: datetime | None = None  # wall clock, for lifecycleHookDetails
        self.reason: str | None = None

    def view(self) -> dict:
        out = {"hookId": self.hook_id, "targetType": self.target_type, "status": self.status}
        if self.cfg.get("hookTargetArn"):
            out["targetArn"] = self.cfg["hookTargetArn"]
        if self.expires_at is not None:
            out["expiresAt"] = self.expires_at
            out["timeoutAction"] = (self.cfg.get("timeoutConfiguration") or {}).get("action") or "ROLLBACK"
        return out


class Run:
    def __init__(self, backend, service, dep: dict, rec: dict, strategy: str, cfg: dict):
        self.backend = backend
        self.rec = rec
        self.strategy = strategy
        self.cfg = cfg
        self.green_id = dep["id"]
        self.green_rev = dep["sim_revision"]
        last = getattr(service, "sim_last_completed_revision", None)
        sources = rec["sourceServiceRevisions"]
        self.blue_rev = last if last in sources else sources[0]
        self.blue_ids = [d["id"] for d in service.deployments if d is not dep]
        self.blue_id = next(
            (d["id"] for d in service.deployments if d is not dep and d.get("sim_revision") == self.blue_rev),
            self.blue_ids[0],
        )
        self.prod = {self.blue_rev: 100.0, self.green_rev: 0.0}
        self.test = {self.blue_rev: 100.0, self.green_rev: 0.0}
        self.steps = plan(strategy, cfg, len(sources) > 1)
        self.i = -1
        self.entered_at = 0.0
        self.hooks: list[Hook] = []
        self.hook_queue: list[Hook] = []
        self.rolling_back = False
        self.log: list[dict] = []  # every stage entered and hook outcome, for /_berth/state


def plan(strategy: str, cfg: dict, reconcile: bool) -> list[dict]:
    """The stages in order; a step is {stage, hookStage, prod (green %) or None, test, wait}."""
    steps: list[dict] = []
    if reconcile:
        steps.append({"stage": "RECONCILE_SERVICE"})
    steps += [
        {"stage": "PRE_SCALE_UP"},
        {"stage": "SCALE_UP", "wait": "scale_up", "hooks": False},
        {"stage": "POST_SCALE_UP"},
        {"stage": "TEST_TRAFFIC_SHIFT", "test": 100.0},
        {"stage": "POST_TEST_TRAFFIC_SHIFT"},
        {"stage": "PRODUCTION_TRAFFIC_SHIFT", "hookStage": "PRE_PRODUCTION_TRAFFIC_SHIFT"},
    ]
    if strategy == "CANARY":
        c = cfg.get("canaryConfiguration") or {}
        shifts = [float(c.get("canaryPercent", 10.0)), 100.0]
        bake = float(c.get("canaryBakeTimeInMinutes", 10))
    elif strategy == "LINEAR":
        c = cfg.get("linearConfiguration") or {}
        step = float(c.get("stepPercent", 10.0))
        shifts, p = [], 0.0
        while p + step < 100.0 - 1e-9:
            p = round(p + step, 6)
            shifts.append(p)
        shifts.append(100.0)
        bake = float(c.get("stepBakeTimeInMinutes", 6))
    else:
        shifts, bake = [100.0], 0.0
    for n, pct in enumerate(shifts):
        steps.append(
            {"stage": "PRODUCTION_TRAFFIC_SHIFT", "prod": pct, "bakeMinutes": bake if n < len(shifts) - 1 else 0.0}
        )
    steps += [
        {"stage": "POST_PRODUCTION_TRAFFIC_SHIFT"},
        {"stage": "BAKE_TIME", "bakeMinutes": float(cfg.get("bakeTimeInMinutes") or 0), "hooks": False},
        {"stage": "CLEAN_UP", "wait": "clean_up", "hooks": False},
    ]
    return steps


class Runner:
    """SIM.strategy_runner: ticks services with a run in flight (instead of the rolling controller)."""

    @staticmethod
    def validate(cfg: dict | None) -> None:
        validate(cfg)

    def __init__(self) -> None:
        self.port: int | None = None  # the front port (hooks go through the Lambda route)

    @staticmethod
    def strategy_of(cfg: dict) -> str | None:
        s = (cfg or {}).get("strategy")
        return s if s in STRATEGIES else None

    def maybe_start(self, backend, service, dep: dict, rec: dict) -> None:
        """Called by the tracker for every new service deployment."""
        strategy = self.strategy_of(rec["deploymentConfiguration"])
        old = getattr(service, "sim_strategy", None)
        service.sim_strategy = None
        service.sim_listener_weights = None
        if old is not None:
            old.rolling_back = True  # threads of a superseded run report into nothing
        if strategy is None or not rec["sourceServiceRevisions"]:
            return  # ROLLING, or a first deployment (nothing to shift traffic from): the rolling controller
        run = Run(backend, service, dep, rec, strategy, rec["deploymentConfiguration"])
        service.sim_strategy = run
        # blue keeps its full size beside green until CLEAN_UP
        rec["_requested"] = {run.green_rev: service.desired_count, run.blue_rev: service.desired_count}
        self.publish(service, run)

    # ------------------------------------------------------------ the tick

    def tick(self, backend, service) -> None:
        run: Run = service.sim_strategy  # SIM ticks a service here only while it has a run
        tgs = SIM.target_groups(service)
        by_id = {d["id"]: d for d in service.deployments}
        tasks = SIM.tasks_of(backend, service)
        newly = len(SIM.advance_tasks(service, tasks, lambda t: by_id.get(t.started_by), lambda t: tgs))
        if newly:
            for tg in tgs:
                SIM.event(service, f"(service {service.name}) registered {newly} targets in (target-group {tg})")
        green = by_id.get(run.green_id)
        if green is not None and not run.rolling_back:
            live = [
                t
                for t in SIM.tasks_of(backend, service)
                if t.started_by == green["id"] and t.desired_status == "RUNNING"
            ]
            if len(live) < service.desired_count:
                SIM.launch(backend, service, green, service.desired_count - len(live))
        if run.rolling_back:
            self.tick_rollback(backend, service, run)
        else:
            self.advance(backend, service, run)
        self.counts(backend, service)
        if tgs:
            split = self.revision_target_groups(service, run)
            if split:
                SIM.feed_split(backend, service, SIM.tasks_of(backend, service), split)
            else:
                SIM.feed_metrics(backend, service, SIM.tasks_of(backend, service), tgs)
        TRACKER.sync(backend, service)
        if getattr(service, "sim_strategy", None) is run and run.rec["status"] not in (
            "PENDING",
            "IN_PROGRESS",
            "ROLLBACK_REQUESTED",
            "ROLLBACK_IN_PROGRESS",
        ):
            service.sim_strategy = None
            service.sim_listener_weights = None

    @staticmethod
    def revision_target_groups(service, run: Run) -> dict | None:
        """With an alternate target group (loadBalancers[].advancedConfiguration
        .alternateTargetGroupArn, as ECS blue/green wants), each revision has its own target group
        while the run is in flight: blue's tasks behind `targetGroupArn`, green's behind the
        alternate, each taking its production weight of the traffic. {tg: (deployment ids, share)};
        None without one (then both revisions share the target group, as before)."""
        for lb in service.load_balancers or []:
            alternate = (lb.get("advancedConfiguration") or {}).get("alternateTargetGroupArn")
            if alternate and lb.get("targetGroupArn"):
                green = run.prod.get(run.green_rev, 0.0) / 100.0
                blue_ids = {d["id"] for d in service.deployments if d["id"] != run.green_id}
                return {lb["targetGroupArn"]: (blue_ids, 1.0 - green), alternate: ({run.green_id}, green)}
        return None

    def counts(self, backend, service) -> None:
        tasks = SIM.tasks_of(backend, service)
        now = utcnow()
        for d in service.deployments:
            mine = [t for t in tasks if t.started_by == d["id"] and t.desired_status == "RUNNING"]
            running = sum(1 for t in mine if t.last_status == "RUNNING")
            pending = sum(1 for t in mine if t.last_status in PENDING_STATES)
            if (running, pending) != (d.get("runningCount"), d.get("pendingCount")):
                d["runningCount"], d["pendingCount"], d["updatedAt"] = running, pending, now
        service.running_count = sum(1 for t in tasks if t.desired_status == "RUNNING" and t.last_status == "RUNNING")
        service.pending_count = sum(
            1 for t in tasks if t.desired_status == "RUNNING" and t.last_status in PENDING_STATES
        )

    def advance(self, backend, service, run: Run) -> None:
        if run.rec["status"] == "PENDING":
            return  # the tracker moves it to IN_PROGRESS at the end of this tick
        if run.i < 0 or self.step_done(backend, service, run):
            if run.i + 1 >= len(run.steps):
                self.complete(backend, service, run)
                return
            run.i += 1
            self.enter(backend, service, run)

    def enter(self, backend, service, run: Run) -> None:
        step = run.steps[run.i]
        run.entered_at = time.monotonic()
        if "test" in step:
            run.test = {run.blue_rev: 100.0 - step["test"], run.green_rev: step["test"]}
        if "prod" in step:
            run.prod = {run.blue_rev: 100.0 - step["prod"], run.green_rev: step["prod"]}
        hook_stage = step.get("hookStage", step["stage"])
        run.hook_queue = []
        if step.get("hooks", True):
            for cfg in run.cfg.get("lifecycleHooks") or []:
                if hook_stage in (cfg.get("lifecycleStages") or []):
                    run.hook_queue.append(Hook(cfg, step["stage"], hook_stage))
        run.hooks = []
        run.rec["lifecycleStage"] = step["stage"]
        run.rec["updatedAt"] = utcnow()
        run.log.append(
            {
                "stage": step["stage"],
                "hookStage": hook_stage,
                "prod": dict(run.prod),
                "test": dict(run.test),
                "at": time.time(),
            }
        )
        if step["stage"] == "CLEAN_UP":
            blue = [
                t
                for t in SIM.tasks_of(backend, service)
                if t.started_by != run.green_id and t.desired_status == "RUNNING"
            ]
            if blue:
                SIM.stop_tasks(service, blue, {"id": run.green_id}, SIM.target_groups(service))
        self.publish(service, run)

    def step_done(self, backend, service, run: Run) -> bool:
        step = run.steps[run.i]
        if not self.hooks_done(backend, service, run):
            return False
        minute = SIM.ecs_minute_seconds
        if step.get("bakeMinutes") and time.monotonic() - run.entered_at < step["bakeMinutes"] * minute:
            return False
        if step.get("wait") == "scale_up":
            healthy = [
                t
                for t in SIM.tasks_of(backend, service)
                if t.started_by == run.green_id
                and t.desired_status == "RUNNING"
                and t.last_status == "RUNNING"
                and t.sim_healthy
            ]
            return len(healthy) >= service.desired_count
        if step.get("wait") == "clean_up":
            return not any(
                t.started_by != run.green_id and t.last_status != "STOPPED" for t in SIM.tasks_of(backend, service)
            )
        return True

    # ------------------------------------------------------------ hooks

    def hooks_done(self, backend, service, run: Run) -> bool:
        """Run the stage's hooks one after another; True when all SUCCEEDED. A failure rolls back."""
        now = time.monotonic()
        while True:
            if not run.hooks or run.hooks[-1].status == "SUCCEEDED":
                if not run.hook_queue:
                    self.publish(service, run)
                    return True
                hook = run.hook_queue.pop(0)
                run.hooks.append(hook)
                self.arm(hook)
            hook = run.hooks[-1]
            if hook.expires is not None and now >= hook.expires and hook.status in ("IN_PROGRESS", "AWAITING_ACTION"):
                hook.status = "TIMED_OUT"
                action = (hook.cfg.get("timeoutConfiguration") or {}).get("action") or "ROLLBACK"
                self.note(run, hook, f"timed out ({action})")
                if action == "CONTINUE":
                    hook.status = "SUCCEEDED"
                    continue
                self.rollback(backend, service, run, f"Lifecycle hook {hook.hook_id} at {hook.hook_stage} timed out.")
                return False
            if hook.target_type == "PAUSE":
                self.publish(service, run)
                if hook.status == "SUCCEEDED":
                    continue
                if hook.status == "FAILED":
                    self.rollback(
                        backend,
                        service,
                        run,
                        hook.reason or f"Lifecycle hook {hook.hook_id} at {hook.hook_stage}: ROLLBACK.",
                    )
                return False
            if hook.result is not None:
                ok, answer = hook.result
                hook.result = None
                status = answer.get("hookStatus") if ok and isinstance(answer, dict) else None
                if status == "SUCCEEDED":
                    hook.status = "SUCCEEDED"
                    self.note(run, hook, "SUCCEEDED")
                    continue
                if status == "IN_PROGRESS":
                    delay = answer.get("callBackDelay", DEFAULT_CALLBACK_DELAY)
                    try:
                        delay = float(delay)
                    except (TypeError, ValueError):
                        delay = DEFAULT_CALLBACK_DELAY
                    if "hookDetails" in answer:
                        hook.details = answer["hookDetails"]
                    hook.next_call = now + delay * SIM.ecs_minute_seconds / 60.0
                    self.note(run, hook, f"IN_PROGRESS (callBackDelay {delay:g})")
                else:
                    hook.status = "FAILED"
                    why = f"answered {json.dumps(answer)[:300]}" if ok else str(answer)
                    self.note(run, hook, f"FAILED: {why}")
                    self.rollback(
                        backend,
                        service,
                        run,
                        f"Lifecycle hook {hook.hook_id} ({hook.cfg.get('hookTargetArn')}) "
                        f"at {hook.hook_stage} failed: {why}",
                    )
                    return False
            if not hook.calling and hook.status == "IN_PROGRESS" and now >= hook.next_call:
                self.call(service, run, hook)
            self.publish(service, run)
            return False

    def arm(self, hook: Hook) -> None:
        timeout = (hook.cfg.get("timeoutConfiguration") or {}).get("timeoutInMinutes")
        if timeout is None and hook.target_type == "PAUSE":
            timeout = DEFAULT_PAUSE_TIMEOUT_MINUTES
        if timeout is not None:
            hook.expires = hook.started + float(timeout) * SIM.ecs_minute_seconds
            hook.expires_at = utcnow() + timedelta(minutes=float(timeout))

    def payload(self, service, run: Run, hook: Hook) -> dict:
        details = {
            "serviceArn": service.arn,
            "targetServiceRevisionArn": run.green_rev,
            "testTrafficWeights": dict(run.test),
            "productionTrafficWeights": dict(run.prod),
        }
        return {
            "executionId": hook.execution_id,
            "lifecycleStage": hook.hook_stage,
            "resourceArn": run.rec["serviceDeploymentArn"],
            **details,  # AWS's docs show these at the top level, AWS's sample reads executionDetails
            "executionDetails": details,
            "hookDetails": hook.details,
        }

    def call(self, service, run: Run, hook: Hook) -> None:
        import requests

        hook.calling = True
        hook.invocations += 1
        body = json.dumps(self.payload(service, run, hook)).encode()
        fn = hook.cfg.get("hookTargetArn") or ""
        port = self.port
        if port is None:
            from . import codedeploy_sim

            port = codedeploy_sim.SIM.port  # the server sets it at start-up
        url = f"http://127.0.0.1:{port}/2015-03-31/functions/{urllib.parse.quote(fn, safe='')}/invocations"

        def invoke():
            try:
                r = requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=960)
                if r.status_code != 200:
                    result = (False, f"Lambda Invoke answered HTTP {r.status_code}: {r.text[:300]}")
                elif r.headers.get("X-Amz-Function-Error"):
                    result = (False, f"function error {r.text[:300]}")
                else:
                    try:
                        result = (True, r.json())
                    except ValueError:
                        result = (False, f"answer is not JSON: {r.text[:300]}")
            except Exception as e:  # noqa: BLE001 - any failure of the invoke fails the hook
                result = (False, f"Lambda Invoke failed: {e}")
            with SIM.lock:
                hook.result = result
                hook.calling = False

        threading.Thread(target=invoke, name=f"ecs-hook-{hook.hook_id[:8]}", daemon=True).start()

    def note(self, run: Run, hook: Hook, what: str) -> None:
        run.log.append(
            {
                "hookId": hook.hook_id,
                "hookStage": hook.hook_stage,
                "target": hook.cfg.get("hookTargetArn"),
                "type": hook.target_type,
                "outcome": what,
                "invocations": hook.invocations,
                "at": time.time(),
            }
        )

    def continue_hook(self, backend, service, run: Run, hook_id: str, action: str) -> None:
        hook = next((h for h in run.hooks if h.hook_id == hook_id), None)
        if hook is None:
            raise InvalidParameterException(
                f"The hook {hook_id} is not a hook of this service deployment's current stage."
            )
        if hook.target_type != "PAUSE" or hook.status != "AWAITING_ACTION":
            raise EcsClientException(f"The hook {hook_id} is {hook.status}, not AWAITING_ACTION.")
        if action == "ROLLBACK":
            hook.status = "FAILED"
            hook.reason = f"Lifecycle hook {hook_id} at {hook.hook_stage}: rolled back by ContinueServiceDeployment."
        else:
            hook.status = "SUCCEEDED"
        self.note(run, hook, f"ContinueServiceDeployment {action}")
        self.publish(service, run)

    # ------------------------------------------------------------ end of a run

    def complete(self, backend, service, run: Run) -> None:
        green = next((d for d in service.deployments if d["id"] == run.green_id), None)
        if green is None:
            return
        now = utcnow()
        service.deployments[:] = [green]
        green["status"] = "PRIMARY"
        green["rolloutState"] = "COMPLETED"
        green["rolloutStateReason"] = f"ECS deployment {green['id']} completed."
        green["updatedAt"] = now
        service.sim_last_completed = (green["id"], green["taskDefinition"])
        run.rec["_requested"] = {run.green_rev: service.desired_count, run.blue_rev: 0}
        SIM.event(service, f"(service {service.name}) (deployment {green['id']}) deployment completed.")
        SIM.event(service, f"(service {service.name}) has reached a steady state.")

    def rollback(self, backend, service, run: Run, reason: str) -> None:
        """Production and test traffic back to blue, green scaled in, blue PRIMARY again."""
        if run.rolling_back:
            return
        run.rolling_back = True
        now = utcnow()
        blue = next((d for d in service.deployments if d["id"] == run.blue_id), None)
        green = next((d for d in service.deployments if d["id"] == run.green_id), None)
        if blue is None:  # blue's deployment is gone (never expected): nothing left to roll back to
            return
        for d in service.deployments:
            d["status"] = "ACTIVE"
        blue["status"] = "PRIMARY"
        blue["rolloutState"] = "IN_PROGRESS"
        blue["rolloutStateReason"] = (
            f"ECS deployment {run.green_id} rolling back to deploymentId {blue['id']}: {reason}"
        )
        blue["updatedAt"] = now
        if green is not None:
            green["rolloutState"] = "FAILED"
            green["rolloutStateReason"] = reason
            green["updatedAt"] = now
        service.task_definition = blue["taskDefinition"]
        for h in run.hooks:
            if h.status in ("IN_PROGRESS", "AWAITING_ACTION"):
                h.status = "FAILED"
        emit(backend, service, "SERVICE_DEPLOYMENT_FAILED", run.green_id, reason, now)
        TRACKER._start_rollback(backend, service, run.rec, blue, run.blue_rev, reason, now)
        run.rec["_requested"] = {run.blue_rev: service.desired_count, run.green_rev: 0}
        SIM.event(service, f"(service {service.name}) rolling back to deployment {blue['id']}.")
        run.log.append({"rollback": reason, "at": time.time()})
        self.publish(service, run)

    def tick_rollback(self, backend, service, run: Run) -> None:
        if run.rec["status"] == "ROLLBACK_REQUESTED":
            return
        run.prod = {run.blue_rev: 100.0, run.green_rev: 0.0}
        run.test = {run.blue_rev: 100.0, run.green_rev: 0.0}
        self.publish(service, run)
        tasks = SIM.tasks_of(backend, service)
        green_live = [t for t in tasks if t.started_by == run.green_id and t.desired_status == "RUNNING"]
        if green_live:
            SIM.stop_tasks(service, green_live, {"id": run.blue_id}, SIM.target_groups(service))
        blue = next((d for d in service.deployments if d["id"] == run.blue_id), None)
        if blue is None:
            return
        live = [t for t in tasks if t.started_by == blue["id"] and t.desired_status == "RUNNING"]
        if len(live) < service.desired_count:
            SIM.launch(backend, service, blue, service.desired_count - len(live))
        if any(t.started_by != blue["id"] and t.last_status != "STOPPED" for t in tasks):
            return
        healthy = sum(1 for t in live if t.last_status == "RUNNING" and t.sim_healthy)
        if healthy < service.desired_count:
            return
        service.deployments[:] = [blue]
        blue["rolloutState"] = "COMPLETED"
        blue["rolloutStateReason"] = f"ECS deployment {blue['id']} completed."
        blue["updatedAt"] = utcnow()
        SIM.event(service, f"(service {service.name}) (deployment {blue['id']}) deployment completed.")
        SIM.event(service, f"(service {service.name}) has reached a steady state.")

    def stop(self, backend, service, run: Run) -> None:
        """StopServiceDeployment(ROLLBACK) of a run."""
        self.rollback(backend, service, run, "Service deployment rolled back by StopServiceDeployment.")

    # ------------------------------------------------------------ what the APIs show

    def publish(self, service, run: Run) -> None:
        rec = run.rec
        rec["_weights"] = {"prod": dict(run.prod), "test": dict(run.test)}
        rec["lifecycleHookDetails"] = [h.view() for h in run.hooks]
        # what the listener probe (/_berth/listener/...) routes by while the run is in flight
        prod: dict[str | None, float] = {}
        for rev, w in run.prod.items():
            td = revision_td(service, rev)
            prod[td] = prod.get(td, 0.0) + w
        test_rev = max(run.test.items(), key=lambda kv: kv[1])[0]
        service.sim_listener_weights = {"prod": prod, "test": revision_td(service, test_rev)}


def revision_td(service, rev: str) -> str | None:
    return (getattr(service, "sim_revisions", {}).get(rev) or {}).get("taskDefinition")


def validate(cfg: dict | None) -> None:
    """CreateService/UpdateService refuse what ECS documents as invalid (messages are the stand-in's)."""
    cfg = cfg or {}
    strategy = cfg.get("strategy")
    if strategy is not None and strategy not in ("ROLLING", *STRATEGIES):
        raise InvalidParameterException(
            f"Invalid deployment strategy {strategy}: ROLLING, BLUE_GREEN, LINEAR or CANARY."
        )
    lin = cfg.get("linearConfiguration") or {}
    if "stepPercent" in lin and not 3.0 <= float(lin["stepPercent"]) <= 100.0:
        raise InvalidParameterException("linearConfiguration.stepPercent must be between 3.0 and 100.0.")
    can = cfg.get("canaryConfiguration") or {}
    if "canaryPercent" in can and not 0.1 <= float(can["canaryPercent"]) <= 100.0:
        raise InvalidParameterException("canaryConfiguration.canaryPercent must be between 0.1 and 100.0.")
    for key, value in (
        ("bakeTimeInMinutes", cfg.get("bakeTimeInMinutes")),
        ("stepBakeTimeInMinutes", lin.get("stepBakeTimeInMinutes")),
        ("canaryBakeTimeInMinutes", can.get("canaryBakeTimeInMinutes")),
    ):
        if value is not None and not 0 <= int(value) <= 1440:
            raise InvalidParameterException(f"{key} must be between 0 and 1440.")
    for h in cfg.get("lifecycleHooks") or []:
        kind = h.get("targetType") or "AWS_LAMBDA"
        stages = h.get("lifecycleStages") or []
        if not stages:
            raise InvalidParameterException("A lifecycle hook needs lifecycleStages.")
        if kind == "AWS_LAMBDA" and not h.get("hookTargetArn"):
            raise InvalidParameterException("An AWS_LAMBDA lifecycle hook needs a hookTargetArn.")
        if kind == "PAUSE" and {"TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"} & set(stages):
            raise InvalidParameterException(
                "A PAUSE lifecycle hook cannot run at TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT."
            )


RUNNER = Runner()


def continue_service_deployment(self):
    from moto.core.responses import ActionResult

    arn = self._get_param("serviceDeploymentArn")
    hook_id = self._get_param("hookId")
    action = self._get_param("action") or "CONTINUE"
    if action not in ("CONTINUE", "ROLLBACK"):
        raise InvalidParameterException("action must be CONTINUE or ROLLBACK.")
    if not hook_id:
        raise InvalidParameterException("hookId must be specified.")
    with SIM.lock:
        svc, rec = _lookup_record(self.ecs_backend, arn)
        if rec is None:
            raise ServiceDeploymentNotFoundException()
        run = getattr(svc, "sim_strategy", None)
        if run is None or run.rec is not rec:
            raise EcsClientException(
                f"The service deployment {arn} is {rec['status']}: it has no hook awaiting action."
            )
        RUNNER.continue_hook(self.ecs_backend, svc, run, hook_id, action)
    return ActionResult({"serviceDeploymentArn": arn})


_INSTALLED = False


def install(port: int | None = None) -> None:
    global _INSTALLED
    if port is not None:
        RUNNER.port = port
    if _INSTALLED:
        return
    _INSTALLED = True
    SIM.strategy_runner = RUNNER
    TRACKER.strategy_runner = RUNNER
    # An operation moto's ECS does not have: added to its response class, which dispatches by name
    # (setattr, B010: mypy refuses assigning an attribute the class does not declare).
    cls = ecs_responses.EC2ContainerServiceResponse
    setattr(cls, "continue_service_deployment", continue_service_deployment)  # noqa: B010


__all__ = ["RUNNER", "install", "plan"]
