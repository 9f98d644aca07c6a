"""Rollouts at scale, measured on the local stand-in: berth beside ecs-deploy (PyPI), same rollouts.

    scripts/bench [--runs N] [--services N] [--rollout-seconds S] [--poll-seconds P]
                  [--build release|debug] [--quick] [--no-peer] [--no-fan-out] [--instances N]

One stack (tests/e2e/harness.py: the stand-in with its ECS simulator, berth-lambda under
cargo-lambda's emulator, the real state machine run by moto's ASL interpreter). Each run resets it,
creates one service (2 tasks, rolling controller, circuit breaker on) and deploys one new image
whose tasks the simulator keeps PENDING (behaviour "slow") so that ECS's rolling rollout takes
`--rollout-seconds` plus i/N of berth's poll interval in run i of N (the same for both tools: ECS
finishes at every phase of berth's polls, as real rollouts do):

* berth: the ECR push goes through the template's rule to start-deployment, and the execution runs
  at berth's default poll interval (15 s, the template's PollIntervalSeconds) unless
  `--poll-seconds` says otherwise;
* ecs-deploy 1.17.0 (`ecs deploy CLUSTER SERVICE --image app IMAGE`, polling each second, its
  default): in requirements-dev.txt, and installed into the project's venv if missing.

Detection lag is the time from the simulator's rollout completion (the deployment turning
COMPLETED, read from the stand-in's state) to each tool's verdict: berth's WatchRollout state
answering COMPLETED (its history event; woken by ECS's deployment event through wake-rollout),
ecs-deploy's process exit. Transitions are the states entered in berth's execution history (what
Step Functions bills), history events all its events.
AWS calls are counted at the stand-in by API (its throttle layer counts every call,
tests/standin/throttle.py), less the calls the benchmark makes itself. Lambda invokes are
`lambda:InvokeFunction` calls: the state machine's Tasks and EventBridge's start-deployment.

The fan-out run pushes one image of a repository that N services name (`berth:repository`), with
the simulator's quickest rollout, and reports the one execution's status, history events against
Step Functions' 25,000, its transitions, total time, ECS calls per second, and the size of each
service's document in the Map's result (Step Functions' 256 KiB payload limit).

Numbers are wall-clock on a shared machine: noisy while something else builds.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import boto3

from tests.e2e.harness import BUILDS, REGION, REGISTRY, VENV_BIN, Stack, digest_of, ecr_push_event, wait_until

HISTORY_LIMIT = 25_000
DEFAULT_POLL_SECONDS = 15  # template.yaml PollIntervalSeconds
PEER = "ecs-deploy==1.17.0"
# Each loop of a rollout watch: WatchRollout (entered again at each fallback poll, or after an
# answer that only loops) and RolloutDecision.
POLL_STATES = ("WatchRollout", "RolloutDecision")
# The template's FallbackPollSeconds default: a watch with no ECS event looks again after it.
FALLBACK_SECONDS = 300
# The states a service's iteration of the Map ends in.
END_STATES = ("Deployed", "Superseded", "NotStarted", "RolledBack", "RollbackFailed")
PAYLOAD_LIMIT = 256 * 1024
REPORT_LIMIT = 400  # shared/src/summary.rs REPORT_CAUSE_LIMIT
OLD, NEW = digest_of("bench v1"), digest_of("bench v2")
# Goals of issue P8 ("Rollouts at scale").
GOAL_LAG_SECONDS = 2.0
GOAL_TRANSITIONS_10_MIN = 30
GOAL_SERVICES = 500
# ECS's documented API buckets (burst, refill per second), shared account-wide: shared/ARCHITECTURE.md
# ("ECS API buckets"), from "Request throttling for the Amazon ECS API".
ECS_BUCKETS = {"ecs:RegisterTaskDefinition": [20, 1], "ecs:UpdateService": [50, 5], "ecs:DescribeServices": [100, 20]}


def image(repo: str, digest: str) -> str:
    return f"{REGISTRY}/{repo}@{digest}"


def epoch(value) -> float:
    """Seconds since the epoch of a datetime (naive = UTC, as the simulator's) or an ISO string."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


class BenchStack(Stack):
    """The e2e stack with the template's deadlines (the harness shortens them to 900 s, which a
    long simulated rollout would exceed)."""

    def lambda_env(self) -> dict:
        env = super().lambda_env()
        env["BERTH_TIMEOUT_SECONDS"] = "1800"
        env["BERTH_ROLLBACK_TIMEOUT_SECONDS"] = "900"
        return env


# ---------------------------------------------------------------------- counting calls


class OwnCalls:
    """The benchmark's own AWS calls (boto3 clients of the default session), keyed as the stand-in
    counts them (`ecs:DescribeServices`), so they can be subtracted. Lambda invokes are not its own:
    the harness invokes start-deployment as EventBridge would, and that invoke is berth's."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None
        self.session = boto3.DEFAULT_SESSION
        self.session.events.register("before-call", self._count)

    def _count(self, model, **_kwargs) -> None:
        service = model.service_model.signing_name
        service = {"monitoring": "cloudwatch"}.get(service, service)
        if (service, model.name) == ("lambda", "Invoke"):
            return
        key = f"{service}:{model.name}"
        self.counts[key] = self.counts.get(key, 0) + 1

    def clear(self) -> None:
        self.counts.clear()

    def close(self) -> None:
        self.session.events.unregister("before-call", self._count)


def reset_counts(stack: Stack, own: OwnCalls) -> None:
    stack.control("throttle", method="DELETE")
    own.clear()


def read_counts(stack: Stack, own: OwnCalls) -> dict[str, int]:
    seen = {api: c["calls"] for api, c in stack.control("throttle", method="GET")["calls"].items()}
    out = {api: n - own.counts.get(api, 0) for api, n in seen.items()}
    return {api: n for api, n in sorted(out.items()) if n > 0}


# ---------------------------------------------------------------------- the simulated rollout


def ticks_for(stack: Stack, seconds: float) -> int:
    """Simulator ticks a new task stays PENDING so that the rollout takes about `seconds`."""
    return max(0, round(seconds / stack.tick_seconds) - 6)


def make_services(stack: Stack, names: list[str], repository: str, desired: int = 2, cluster: str = "prod") -> None:
    """Services on the rolling controller (circuit breaker on), one VPC and cluster for all, a task
    definition family each, tagged for berth; waits until every one runs its first revision."""
    ecs = stack.client("ecs")
    _vpc, subnet, sg = stack.network(repository)
    ecs.create_cluster(clusterName=cluster)
    for name in names:
        td = stack.cluster_and_task_definition(cluster, name, image(repository, OLD))
        ecs.create_service(
            cluster=cluster,
            serviceName=name,
            taskDefinition=td,
            desiredCount=desired,
            launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}},
            deploymentConfiguration={
                "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
            },
            tags=[{"key": "berth:repository", "value": repository}, {"key": "berth:container", "value": "app"}],
        )
    wanted = set(names)

    def all_steady():
        done = {
            s["service"]
            for s in stack.control("state", method="GET")["services"]
            if s["service"] in wanted
            and len(s["deployments"]) == 1
            and s["deployments"][0].get("rolloutState") == "COMPLETED"
        }
        return done == wanted

    wait_until(all_steady, 60 + len(names), f"{len(names)} service(s) to start")


def completion(stack: Stack, service: str, old_td: str | None) -> dict | None:
    """The simulator's record of the service's new deployment once it is COMPLETED: when it
    started and completed (epoch seconds)."""
    for s in stack.control("state", method="GET")["services"]:
        if s["service"] != service:
            continue
        for d in s["deployments"]:
            if d.get("rolloutState") == "COMPLETED" and d["taskDefinition"] != old_td:
                return {"started": epoch(d["createdAt"]), "completed": epoch(d["updatedAt"])}
    return None


def task_definition_of(stack: Stack, service: str) -> str:
    return next(
        s["taskDefinition"] for s in stack.control("state", method="GET")["services"] if s["service"] == service
    )


def prepare(stack: Stack, own: OwnCalls, service: str, rollout_seconds: float) -> str:
    stack.reset()
    make_services(stack, [service], service)
    stack.control("images", {"image": NEW, "behaviour": "slow", "slow_ticks": ticks_for(stack, rollout_seconds)})
    old_td = task_definition_of(stack, service)
    reset_counts(stack, own)
    return old_td


def history(stack: Stack, arn: str) -> list[dict]:
    """The execution's events and its service executions' (each with `execution`)."""
    return stack.history(arn)


def count_history(events: list[dict]) -> dict:
    """Transitions (states entered), events, and how many of each belong to the rollout poll loop
    (each event is charged to the state most recently entered in its Map iteration)."""
    transitions = [e for e in events if e["type"].endswith("StateEntered")]
    state_of_event: dict[tuple, str] = {}
    loop_events = 0
    for e in events:
        d = e.get("stateEnteredEventDetails")
        ex = e.get("execution")
        name = d["name"] if d else state_of_event.get((ex, e.get("previousEventId", 0)), "")
        state_of_event[(ex, e["id"])] = name
        if name in POLL_STATES:
            loop_events += 1
    polls = sum(1 for e in transitions if e["stateEnteredEventDetails"]["name"] == "WatchRollout")
    loop_transitions = sum(1 for e in transitions if e["stateEnteredEventDetails"]["name"] in POLL_STATES)
    return {
        "transitions": len(transitions),
        "events": len(events),
        "polls": polls,
        "loop_transitions": loop_transitions,
        "loop_events": loop_events,
    }


def verdict_time(events: list[dict]) -> float | None:
    """When WatchRollout first answered COMPLETED (its StateExited event)."""
    for e in events:
        d = e.get("stateExitedEventDetails")
        if d and d["name"] == "WatchRollout":
            status = (json.loads(d.get("output") or "{}").get("stability") or {}).get("status")
            if status == "COMPLETED":
                return epoch(e["timestamp"])
    return None


def berth_run(stack: Stack, own: OwnCalls, rollout_seconds: float, timeout: float) -> dict:
    service = "bench"
    old_td = prepare(stack, own, service, rollout_seconds)
    started = stack.deliver_ecr_event(ecr_push_event(service, NEW, "v2"))
    if not started or not started.get("started"):
        raise RuntimeError(f"the push started no execution: {started}")
    arn = started["executionArn"]
    sfn = stack.client("stepfunctions")
    done, deadline, sim, last_check = None, time.monotonic() + timeout, None, 0.0
    while done is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{arn} still running after {timeout:.0f}s\n{stack.logs()}")
        sim = sim or completion(stack, service, old_td)
        if time.monotonic() - last_check >= 0.5:
            last_check = time.monotonic()
            desc = sfn.describe_execution(executionArn=arn)
            if desc["status"] != "RUNNING":
                done = desc
        time.sleep(0.1)
    calls = read_counts(stack, own)
    if done["status"] != "SUCCEEDED":
        raise RuntimeError(f"berth's execution {done['status']}: {done.get('error')}: {done.get('cause')}")
    sim = sim or completion(stack, service, old_td)
    events = history(stack, arn)
    verdict = verdict_time(events)
    if sim is None or verdict is None:
        raise RuntimeError(f"no completed rollout ({sim}) or no COMPLETED verdict ({verdict}) in {arn}")
    return {
        "rollout": sim["completed"] - sim["started"],
        "lag": verdict - sim["completed"],
        "lag_end": epoch(done["stopDate"]) - sim["completed"],
        "duration": epoch(done["stopDate"]) - epoch(done["startDate"]),
        "calls": calls,
        **count_history(events),
    }


def ensure_peer(log=print) -> str:
    """ecs-deploy's `ecs` command in the project's venv, installed from PyPI if missing."""
    ecs = VENV_BIN / "ecs"
    if not ecs.exists():
        log(f"installing {PEER} into .berth/venv")
        subprocess.run([str(VENV_BIN / "python"), "-m", "pip", "install", "-q", PEER], check=True)
    return str(ecs)


def peer_run(stack: Stack, own: OwnCalls, rollout_seconds: float, timeout: float, ecs_cmd: str) -> dict:
    service = "peer"
    old_td = prepare(stack, own, service, rollout_seconds)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "AWS_ENDPOINT_URL": stack.url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
    )
    cmd = [ecs_cmd, "deploy", "prod", service, "--image", "app", image(service, NEW), "--timeout", str(int(timeout))]
    t0 = time.time()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sim = None
    while proc.poll() is None:
        sim = sim or completion(stack, service, old_td)
        time.sleep(0.05)
    exited = time.time()
    assert proc.stdout is not None  # stdout=PIPE
    out = proc.stdout.read()
    calls = read_counts(stack, own)
    if proc.returncode != 0:
        raise RuntimeError(f"ecs-deploy exited {proc.returncode}:\n{out[-3000:]}")
    sim = sim or completion(stack, service, old_td)
    if sim is None:
        raise RuntimeError(f"ecs-deploy succeeded before the simulator completed the rollout:\n{out[-3000:]}")
    return {
        "rollout": sim["completed"] - sim["started"],
        "lag": exited - sim["completed"],
        "lag_end": exited - sim["completed"],
        "duration": exited - t0,
        "calls": calls,
    }


def fan_out_run(stack: Stack, own: OwnCalls, services: int, timeout: float) -> dict:
    repository = "fan"
    stack.reset()
    names = [f"fan-{i:03d}" for i in range(services)]
    t0 = time.monotonic()
    make_services(stack, names, repository)
    setup = time.monotonic() - t0
    reset_counts(stack, own)
    # From here the stand-in throttles ECS as AWS does (its documented buckets), so the run shows
    # whether berth stays within them (throttled calls are counted and retried).
    stack.control("throttle", {"buckets": ECS_BUCKETS})
    started = stack.deliver_ecr_event(ecr_push_event(repository, NEW, "v2"))
    if not started or not started.get("started"):
        raise RuntimeError(f"the push started no execution: {started}")
    arn = started["executionArn"]
    sfn = stack.client("stepfunctions")
    deadline = time.monotonic() + timeout
    samples = []  # (monotonic, ECS calls so far), every 2 s: the peak rate
    while True:
        seen = stack.control("throttle", method="GET")["calls"]
        samples.append((time.monotonic(), sum(c["calls"] for api, c in seen.items() if api.startswith("ecs:"))))
        desc = sfn.describe_execution(executionArn=arn)
        if desc["status"] != "RUNNING":
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"{arn} still running after {timeout:.0f}s")
        time.sleep(2)
    throttled = {
        api: c["throttled"] for api, c in stack.control("throttle", method="GET")["calls"].items() if c["throttled"]
    }
    stack.control("throttle", {})
    calls = read_counts(stack, own)
    events = history(stack, arn)
    counted = count_history(events)
    outcomes = []
    for e in events:
        d = e.get("mapStateExitedEventDetails") or e.get("stateExitedEventDetails")
        if d and d.get("name") == "DeployEachService":
            outcomes = [r.get("outcome") for r in json.loads(d["output"]).get("results", [])]
    # Each service's report as its execution ends (the Map's result holds one per service).
    ends = [
        len(e["stateExitedEventDetails"].get("output") or "")
        for e in events
        if e["type"].endswith("StateExited") and e["stateExitedEventDetails"]["name"] == "DeployService"
    ]
    per_execution: dict[str, int] = {}
    for e in events:
        per_execution[e["execution"]] = per_execution.get(e["execution"], 0) + 1
    wanted = set(names)
    running_new = sum(
        1
        for s in stack.control("state", method="GET")["services"]
        if s["service"] in wanted
        and s["taskDefinition"].endswith(":2")
        and [d.get("rolloutState") for d in s["deployments"]] == ["COMPLETED"]
    )
    duration = epoch(desc["stopDate"]) - epoch(desc["startDate"])
    ecs_calls = sum(n for api, n in calls.items() if api.startswith("ecs:"))
    rates = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in itertools.pairwise(samples) if b[0] > a[0]]
    return {
        "services": services,
        "status": desc["status"],
        "deployed": outcomes.count("DEPLOYED"),
        "has_results": bool(outcomes),
        "error": desc.get("error"),
        "cause": desc.get("cause"),
        "running_new": running_new,
        "result_bytes": med(ends) if ends else 0.0,
        "parent_events": per_execution.get(arn, 0),
        "child_events_max": max((v for k, v in per_execution.items() if k != arn), default=0),
        "setup": setup,
        "duration": duration,
        "calls": calls,
        "ecs_calls": ecs_calls,
        "throttled": throttled,
        "ecs_rate": ecs_calls / duration if duration else 0.0,
        "ecs_peak": max(rates, default=0.0),
        **counted,
    }


# ---------------------------------------------------------------------- report


def med(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{med(values):.1f} s ({min(values):.1f}-{max(values):.1f})" if len(values) > 1 else f"{values[0]:.1f} s"


def extrapolate(run: dict, rollout_seconds: float, poll: int = FALLBACK_SECONDS) -> tuple[float, float]:
    """Transitions and history events of one service whose rollout takes `rollout_seconds`:
    the fixed part measured, plus one watch loop when it starts and one per fallback poll (`poll`
    seconds without an answer), at the measured cost per loop."""
    polls = 1 + math.floor(rollout_seconds / poll)
    per_t = run["loop_transitions"] / run["polls"]
    per_e = run["loop_events"] / run["polls"]
    return (
        run["transitions"] - run["loop_transitions"] + polls * per_t,
        run["events"] - run["loop_events"] + polls * per_e,
    )


def typical(runs: list[dict]) -> dict | None:
    """The median of each count over the runs (calls per API included)."""
    if not runs:
        return None
    keys = ("transitions", "events", "polls", "loop_transitions", "loop_events")
    out: dict[str, Any] = {k: med([r[k] for r in runs]) for k in keys if k in runs[0]}
    apis = {api for r in runs for api in r["calls"]}
    out["calls"] = {api: med([r["calls"].get(api, 0) for r in runs]) for api in sorted(apis)}
    return out


def num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def report(args, berth: list[dict], peer: list[dict], fan: dict | None, out=print) -> dict:
    """Prints the tables; returns the headline numbers."""
    poll = args.poll_seconds
    ours, theirs = typical(berth), typical(peer)
    rollout = med([r["rollout"] for r in berth + peer])
    out("")
    out(
        f"rollout: one service, 2 tasks, simulated rolling rollouts of {rollout:.1f} s (median; "
        f"{args.rollout_seconds:g} s + i/N of the poll interval in run i of N); "
        f"{len(berth)} berth run(s), {len(peer)} ecs-deploy run(s); berth polls every {poll} s"
        f"{' (its default)' if poll == DEFAULT_POLL_SECONDS else ''}, ecs-deploy every 1 s (its default)"
    )
    out(f"{'median over the runs':<44} {'berth':>22} {'ecs-deploy':>22}")

    def row(label, fn):
        cell = lambda t: "-" if t is None else num(fn(t))  # noqa: E731
        out(f"{label:<44} {cell(ours):>22} {cell(theirs):>22}")

    out(
        f"{'detection lag (min-max)':<44} {spread([r['lag'] for r in berth]):>22} "
        f"{spread([r['lag'] for r in peer]):>22}"
    )
    out(
        f"{'rollout end to execution/process end':<44} {spread([r['lag_end'] for r in berth]):>22} "
        f"{spread([r['lag_end'] for r in peer]):>22}"
    )
    out(
        f"{'wall time of the deploy':<44} {spread([r['duration'] for r in berth]):>22} "
        f"{spread([r['duration'] for r in peer]):>22}"
    )
    if ours:
        for label, key in (
            ("state transitions", "transitions"),
            ("history events", "events"),
            ("rollout polls (CheckRollout)", "polls"),
        ):
            out(f"{label:<44} {num(ours[key]):>22} {'-':>22}")
    row("Lambda invokes", lambda t: t["calls"].get("lambda:InvokeFunction", 0))
    apis = sorted({api for t in (ours, theirs) if t for api in t["calls"] if api != "lambda:InvokeFunction"})
    for prefix in sorted({a.split(":")[0] for a in apis}):
        row(f"{prefix} calls", lambda t, p=prefix: sum(n for a, n in t["calls"].items() if a.startswith(p + ":")))
        for api in (a for a in apis if a.startswith(prefix + ":")):
            row(f"  {api}", lambda t, a=api: t["calls"].get(a, 0))
    headline: dict = {}
    if ours:
        t10, e10 = extrapolate(ours, 600)
        t30, e30 = extrapolate(ours, 1800)
        per_t, per_e = ours["loop_transitions"] / ours["polls"], ours["loop_events"] / ours["polls"]
        out(
            f"\nper watch loop: {per_t:.0f} transitions, {per_e:.0f} history events, 1 Lambda invoke; ECS's event "
            f"answers the watch, a fallback poll every {FALLBACK_SECONDS} s otherwise: a 10-minute rollout takes "
            f"{t10:.0f} transitions and {e10:.0f} history events (goal: <= {GOAL_TRANSITIONS_10_MIN} transitions), "
            f"a 30-minute one {t30:.0f} and {e30:.0f}"
        )
        headline.update(
            lag=med([r["lag"] for r in berth]),
            transitions=ours["transitions"],
            events=ours["events"],
            transitions_10_min=t10,
            events_10_min=e10,
            events_30_min=e30,
        )
    if peer:
        headline["peer_lag"] = med([r["lag"] for r in peer])
    if fan:
        n = fan["services"]
        per_service = fan["events"] / n
        out(
            f"\nfan-out: one push of a repository that {n} services run (Map MaxConcurrency 40, one service "
            f"execution each), the simulator's quickest rollout, poll {poll} s, "
            f"{args.instances} process(es) per Lambda function"
        )
        outcomes = (
            f"{fan['deployed']}/{n} DEPLOYED in the Map's result"
            if fan["has_results"]
            else "no Map result (no per-service outcome)"
        )
        out(
            f"  execution {fan['status']} after {fan['duration']:.1f} s, {outcomes} "
            f"(services set up in {fan['setup']:.1f} s beforehand)"
        )
        if fan["status"] != "SUCCEEDED":
            out(f"  {fan['error']}: {(fan['cause'] or '')[:600]}")
        out(f"  services running the new revision afterwards (simulator): {fan['running_new']}/{n}")
        if fan["result_bytes"]:
            out(
                f"  each service's report in the Map's result: {fan['result_bytes']:.0f} B (at most "
                f"{REPORT_LIMIT} B of sentence), so the result passes Step Functions' 256 KiB at about "
                f"{PAYLOAD_LIMIT / fan['result_bytes']:,.0f} services (goal: {GOAL_SERVICES})"
            )
        out(
            f"  history events: the deployment's execution {fan['parent_events']:,} of {HISTORY_LIMIT:,} "
            f"({fan['parent_events'] / n:.1f} per service: {GOAL_SERVICES} services need about "
            f"{fan['parent_events'] / n * GOAL_SERVICES:,.0f}); each service's own execution at most "
            f"{fan['child_events_max']:,} of {HISTORY_LIMIT:,}"
        )
        out(
            f"  state transitions {fan['transitions']:,}, rollout polls {fan['polls']}, "
            f"Lambda invokes {fan['calls'].get('lambda:InvokeFunction', 0):,}"
        )
        out(
            f"  ECS calls {fan['ecs_calls']:,}: {fan['ecs_rate']:.1f}/s on average, {fan['ecs_peak']:.1f}/s at the "
            f"peak (2 s windows)"
        )
        out(
            f"  ECS throttled as AWS documents it (token buckets, burst / per second: "
            f"{', '.join(f'{k[4:]} {b[0]} / {b[1]}' for k, b in ECS_BUCKETS.items())}); calls the buckets refused, "
            f"which berth retried: {sum(fan['throttled'].values()):,}"
        )
        for api, count in sorted(fan["calls"].items()):
            if api.startswith(("ecs:", "states:")) and count:
                refused = fan["throttled"].get(api, 0)
                out(
                    f"    {api:<36} {count:>7,} ({count / fan['duration']:.1f}/s on average)"
                    + (f", {refused:,} throttled" if refused else "")
                )
        if ours:
            # A service's rollout adds to its own execution's history only; the deployment's holds
            # a fixed number of events per service whatever the rollout's length.
            fits = int(HISTORY_LIMIT // (fan["parent_events"] / n))
            out(
                f"  with 30-minute rollouts each service's execution holds about {e30:.0f} events; the deployment's "
                f"holds {fan['parent_events'] / n:.1f} per service whatever the length, so one push fits about "
                f"{fits:,} services (goal: {GOAL_SERVICES})"
            )
            headline["services_30_min"] = fits
        headline.update(
            fan_events=fan["events"],
            fan_services=n,
            fan_events_500=per_service * GOAL_SERVICES,
            fan_status=fan["status"],
            fan_result_bytes=fan["result_bytes"],
        )
    return headline


def main(argv: list[str] | None = None, log=print) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="rollouts per tool (medians over them); default 5")
    ap.add_argument("--services", type=int, default=100, help="services of the fan-out push; default 100")
    ap.add_argument(
        "--rollout-seconds",
        type=float,
        default=30.0,
        help="how long ECS's simulated rollout takes at least (run i of N: + i/N of the poll interval); default 30",
    )
    ap.add_argument(
        "--poll-seconds",
        type=int,
        default=DEFAULT_POLL_SECONDS,
        help=f"berth's poll interval; default {DEFAULT_POLL_SECONDS} (the template's)",
    )
    ap.add_argument("--build", choices=BUILDS, default="release", help="berth-lambda build; default release")
    ap.add_argument("--built", action="store_true", help="berth-lambda is already built: don't build it")
    ap.add_argument("--quick", action="store_true", help="2 runs, a 10 s rollout, 20 services")
    ap.add_argument("--no-peer", action="store_true", help="skip ecs-deploy")
    ap.add_argument("--no-fan-out", action="store_true", help="skip the fan-out run")
    ap.add_argument(
        "--instances",
        type=int,
        default=4,
        help="processes serving each Lambda function at once (Lambda's concurrent execution "
        "environments; 1 queues each function's invocations, and the queueing counts against "
        "their timeout); default 4",
    )
    ap.add_argument(
        "--fan-out-timeout",
        type=float,
        default=None,
        help="seconds the fan-out may take; default the larger of 75 s per wave of 40 and 5 s per service "
        "(the one-process stand-in deploys about 20 services a minute on 2 loaded cores)",
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.runs, args.rollout_seconds, args.services = (
            min(args.runs, 2),
            min(args.rollout_seconds, 10.0),
            min(args.services, 20),
        )
    timeout = args.rollout_seconds + 5 * args.poll_seconds + 120
    ecs_cmd = None if args.no_peer else ensure_peer(log)
    own = OwnCalls()
    stack = BenchStack(
        log=log, build=args.build, built=args.built, poll_seconds=args.poll_seconds, instances=args.instances
    ).start()
    try:
        berth, peer, fan = [], [], None
        for i in range(args.runs):
            # Run i's rollout is longer by i/N of berth's poll interval (the same for both tools),
            # so that ECS completes at every phase of berth's polls, as real rollouts do; a fixed
            # length would land at one phase and measure one lag.
            seconds = args.rollout_seconds + args.poll_seconds * i / args.runs
            r = berth_run(stack, own, seconds, timeout)
            berth.append(r)
            log(
                f"berth run {i + 1}/{args.runs}: rollout {r['rollout']:.1f} s, lag {r['lag']:.1f} s, "
                f"{r['transitions']} transitions, {r['events']} events"
            )
            if ecs_cmd:
                p = peer_run(stack, own, seconds, timeout, ecs_cmd)
                peer.append(p)
                log(f"ecs-deploy run {i + 1}/{args.runs}: rollout {p['rollout']:.1f} s, lag {p['lag']:.1f} s")
        if not args.no_fan_out:
            waves = math.ceil(args.services / 40)
            fan = fan_out_run(
                stack,
                own,
                args.services,
                args.fan_out_timeout or max(waves * (3 * args.poll_seconds + 30) + 120, 5 * args.services),
            )
            log(f"fan-out: {fan['services']} services, {fan['status']} in {fan['duration']:.1f} s")
        return report(args, berth, peer, fan, out=log)
    finally:
        stack.stop()
        own.close()


if __name__ == "__main__":
    main()
    sys.exit(0)
