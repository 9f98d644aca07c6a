"""The peer for scripts/bench-init: a Lambda custom runtime written with boto3, doing at init what
berth-lambda does for the same state (a client per AWS service the state uses, ECS warmed up with
one ListClusters call), then asking the Runtime API for its first invocation.

Run as a process: `python tests/bench/boto3_peer.py` with BERTH_STATE and AWS_LAMBDA_RUNTIME_API set.
"""

import contextlib
import os
import urllib.request

import boto3

# The AWS services each state's init builds a client for (functions/<state>/src/lib.rs; "events" is
# berth::events::Publisher's EventBridge client). tests/bench/test_init_time.py keeps it complete.
CLIENTS = {
    "acquire-turn": ["ecs", "stepfunctions", "events"],
    "check-gates": ["ecr"],
    "check-stability": ["ecs", "codedeploy", "stepfunctions", "ssm"],
    "codedeploy-hook": ["codedeploy", "ssm", "cloudwatch"],
    "ecs-hook": ["cloudwatch"],
    "evaluate-canary": ["cloudwatch", "ecs"],
    "plan-deployment": ["ecs", "cloudwatch", "ecr"],
    "reconcile": ["ecr", "stepfunctions", "ecs"],
    "register-revision": ["ecs"],
    "release": [],
    "rollback": ["ecs", "codedeploy", "events"],
    "run-migration": ["ecs"],
    "start-deployment": ["stepfunctions"],
    "stop-service": ["ecs"],
    "summarize": ["ecs", "events"],
    "update-service": ["ecs", "codedeploy", "events"],
    "wake-rollout": ["ecs", "codedeploy", "stepfunctions", "ssm"],
}
# The states whose ECS client makes berth::aws::ecs_client's warm-up call (ListClusters) at init.
WARMS_ECS = {
    "check-stability",
    "plan-deployment",
    "reconcile",
    "register-revision",
    "rollback",
    "run-migration",
    "stop-service",
    "update-service",
    "wake-rollout",
}


def main() -> None:
    session = boto3.session.Session()
    # boto3-stubs types client() per literal service name; these are given at run time.
    state = os.environ["BERTH_STATE"]
    clients = {name: session.client(name) for name in CLIENTS[state]}  # type: ignore[call-overload]
    if state in WARMS_ECS:
        # as berth's warm-up: failures are the real call's to report
        with contextlib.suppress(Exception):
            clients["ecs"].list_clusters(maxResults=1)
    api = os.environ["AWS_LAMBDA_RUNTIME_API"]
    urllib.request.urlopen(f"http://{api}/2018-06-01/runtime/invocation/next", timeout=30).read()


if __name__ == "__main__":
    main()
