"""The peer for scripts/bench-init: a Lambda custom runtime written with boto3, doing at init what
berth-lambda does for the same state (a client per AWS service the state uses, ECS warmed up with
one ListClusters call), then asking the Runtime API for its first invocation.

Run as a process: `python tests/bench/boto3_peer.py` with BERTH_STATE and AWS_LAMBDA_RUNTIME_API set.
"""

import contextlib
import os
import urllib.request

import boto3

# The AWS services each state's init builds a client for (functions/<state>/src/lib.rs).
CLIENTS = {
    "plan-deployment": ["ecs", "cloudwatch"],
    "acquire-turn": ["stepfunctions"],
    "register-revision": ["ecs"],
    "update-service": ["ecs", "codedeploy"],
    "check-stability": ["ecs", "codedeploy", "ssm"],
    "evaluate-canary": ["cloudwatch"],
    "rollback": ["ecs", "codedeploy"],
    "summarize": ["ecs"],
    "start-deployment": ["stepfunctions"],
    "codedeploy-hook": ["codedeploy", "ssm", "cloudwatch"],
    "ecs-hook": ["cloudwatch"],
}


def main() -> None:
    session = boto3.session.Session()
    # boto3-stubs types client() per literal service name; these are given at run time.
    clients = {name: session.client(name) for name in CLIENTS[os.environ["BERTH_STATE"]]}  # type: ignore[call-overload]
    if "ecs" in clients:
        # as berth's warm-up: failures are the real call's to report
        with contextlib.suppress(Exception):
            clients["ecs"].list_clusters(maxResults=1)
    api = os.environ["AWS_LAMBDA_RUNTIME_API"]
    urllib.request.urlopen(f"http://{api}/2018-06-01/runtime/invocation/next", timeout=30).read()


if __name__ == "__main__":
    main()
