"""The main job, locally: a sample service on ECS (the stand-in), an ECR push of a good image
deployed to a stable service, then a push of an image whose tasks fail their load-balancer health
checks, detected and rolled back. Each deployment is followed with the operator's CLI (`berth
watch`), and the demo ends with `berth history` and `berth status`. Run through `scripts/demo`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from .harness import REGISTRY, ROOT, Stack, digest_of, ecr_push_event

CLI = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target") / "debug" / "berth"


def berth_cli(stack: Stack, *args: str) -> int:
    """Run the `berth` CLI against the local stack, its output straight to the terminal."""
    print(f"   $ berth {' '.join(args)}", flush=True)
    return subprocess.run([str(CLI), *args], env=stack.cli_env(), check=False).returncode


def main() -> int:
    t_start = time.monotonic()
    say = lambda line: print(line, flush=True)  # noqa: E731
    # scripts/demo has built berth-lambda and the CLI (debug, just those two packages: quicker on a
    # fresh clone than the test run's whole-workspace build).
    stack = Stack(log=lambda line: say(f"  setup: {line}"), tick_seconds=0.25, built=True)
    say("== berth local demo: nothing here talks to AWS; ECS, Step Functions and CloudWatch are local stand-ins")
    stack.start()
    try:
        v1, v2, v3 = digest_of("demo web v1"), digest_of("demo web v2"), digest_of("demo web v3 broken")
        say(f"\n== a sample service: cluster prod, service web, 3 tasks of {REGISTRY}/web@{v1[:19]}…")
        svc = stack.make_service("web", f"{REGISTRY}/web@{v1}", desired=3)
        say(f"   running {stack.describe(svc)['taskDefinition'].split('/')[-1]}, service tagged berth:repository=web")

        results = []
        for title, digest, tag, behaviour in (
            ("push web:v2 (a good image)", v2, "v2", "healthy"),
            ("push web:v3 (tasks start, then fail load-balancer health checks)", v3, "v3", "unhealthy-lb"),
        ):
            stack.control("images", {"image": digest, "behaviour": behaviour})
            say(f"\n== {title}: ECR Image Action event -> EventBridge rule -> start-deployment")
            t0 = time.monotonic()
            started = stack.deliver_ecr_event(ecr_push_event("web", digest, tag))
            assert started is not None, "the template's EventBridge rule did not match the push"
            say(f"   start-deployment: {started['detail']} (execution {started.get('executionName')})")
            code = berth_cli(stack, "watch", started["executionArn"], "--refresh-seconds", "0.5")
            done = stack.wait_execution(started["executionArn"], timeout=300)
            say(f"   (berth watch exited {code})")
            running = {d for _, _, d in stack.running_images(svc)}
            td = stack.describe(svc)["taskDefinition"].split("/")[-1]
            say(
                f"   => {done['status']} in {time.monotonic() - t0:.1f}s; service runs {td} "
                f"with digest {', '.join(d[:19] + '…' for d in running)}"
            )
            results.append((title, done, td, running, code))

        say("\n== what the operator sees afterwards")
        berth_cli(stack, "history", "web", "--cluster", "prod")
        berth_cli(stack, "status", "web", "--cluster", "prod")

        say("\n== summary")
        ok = True
        good, bad = results
        ok &= good[1]["status"] == "SUCCEEDED" and good[3] == {v2}
        ok &= bad[1]["status"] == "FAILED" and bad[1].get("error") == "DeploymentRolledBack" and bad[3] == {v2}
        ok &= (good[4], bad[4]) == (0, 3)  # berth watch: deployed, rolled back (cli/src/exit.rs)
        say(f"   web:v2  {good[1]['status']:9}  -> running {good[2]}")
        say(f"   web:v3  {bad[1]['status']:9}  {bad[1].get('error')}: {bad[1].get('cause')}")
        say(f"   the service is back on {bad[2]}, the exact revision and digest that ran before web:v3")
        say(f"   total {time.monotonic() - t_start:.0f}s; logs in {stack.tmp}")
        return 0 if ok else 1
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
