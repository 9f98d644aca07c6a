"""The state machine and the SAM template: real validators, and the contracts between them and the Lambdas."""

import copy
import json
import re
import subprocess
from pathlib import Path

import pytest

# From the IAM contract: load_template, the one CloudFormation-aware YAML loader; lambda_states,
# berth-lambda's states! table as the contract reads it; authorization_data, AWS's IAM data.
from .test_iam_contract import authorization_data, lambda_states, load_template

ROOT = Path(__file__).resolve().parent.parent
ASL_PATH = ROOT / "statemachine" / "deploy.asl.json"
# One service's deployment, started by the deployment's Map (one child execution per service).
SERVICE_ASL_PATH = ROOT / "statemachine" / "service.asl.json"
# Each machine: its file and its template resource.
MACHINES = {"DeployStateMachine": ASL_PATH, "ServiceStateMachine": SERVICE_ASL_PATH}
TEMPLATE_PATH = ROOT / "template.yaml"
VENV_BIN = ROOT / ".berth" / "venv" / "bin"
NODE_BIN = ROOT / "node_modules" / ".bin"

# berth's error names by group, as shared/src/error.rs declares them (written by the Rust test that
# also renders the ASL, `BERTH_BLESS=1 cargo test -p berth-statemachine`, and failing while stale).
ERROR_NAMES_PATH = ROOT / "statemachine" / "error-names.json"
LAMBDA_SERVICE_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}


def asl():
    return json.loads(ASL_PATH.read_text())


def service_asl():
    return json.loads(SERVICE_ASL_PATH.read_text())


def every_state():
    """Every state of both machines."""
    yield from all_states(asl()["States"])
    yield from all_states(service_asl()["States"])


def template():
    return load_template()


def all_states(states):
    for name, state in states.items():
        yield name, state
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from all_states(state[key]["States"])
        for branch in state.get("Branches", []):
            yield from all_states(branch["States"])


def error_names():
    return json.loads(ERROR_NAMES_PATH.read_text())


def lambda_error_names():
    """Every name a berth Lambda can raise (`ErrorName` in shared/src/error.rs), all groups."""
    return {n for names in error_names()["lambda"].values() for n in names}


def transient_names():
    return LAMBDA_SERVICE_ERRORS | set(error_names()["lambda"]["transient"])


def run(cmd):
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("path", MACHINES.values(), ids=lambda p: p.name)
def test_statelint_accepts_the_state_machine(path):
    r = run([str(VENV_BIN / "statelint"), "--ignore=URI,FLOAT", str(path)])
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("path", MACHINES.values(), ids=lambda p: p.name)
def test_asl_validator_accepts_the_state_machine(path):
    r = run([str(NODE_BIN / "asl-validator"), "--json-path", str(path)])
    assert r.returncode == 0, r.stdout + r.stderr


def test_cfn_lint_accepts_the_template():
    r = run([str(VENV_BIN / "cfn-lint"), str(TEMPLATE_PATH)])
    assert r.returncode == 0, r.stdout + r.stderr


def test_sam_validate_lint_accepts_the_template():
    env = {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "SAM_CLI_TELEMETRY": "0",
        "HOME": str(ROOT / ".berth"),
    }
    r = subprocess.run(
        [str(VENV_BIN / "sam"), "validate", "--lint", "--region", "eu-west-1", "-t", str(TEMPLATE_PATH)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_validators_catch_a_broken_state_machine(tmp_path):
    """Guards the guards: a dangling Next must fail both validators."""
    broken = asl()
    broken["States"]["AnythingToDeploy"]["Default"] = "NoSuchState"
    path = tmp_path / "broken.asl.json"
    path.write_text(json.dumps(broken))
    assert run([str(VENV_BIN / "statelint"), "--ignore=URI,FLOAT", str(path)]).returncode != 0
    assert run([str(NODE_BIN / "asl-validator"), "--json-path", str(path)]).returncode != 0


def test_every_substitution_has_a_function_and_every_function_is_used():
    t = template()
    resources = t["Resources"]
    in_machines = set()
    for logical, path in MACHINES.items():
        machine = resources[logical]["Properties"]
        assert machine["DefinitionUri"] == f"statemachine/{path.name}"
        used = set(re.findall(r"\$\{([A-Za-z0-9]+)\}", path.read_text()))
        provided = set(machine["DefinitionSubstitutions"])
        assert used == provided, (
            f"{path.name} uses {sorted(used - provided)} not substituted; {sorted(provided - used)} unused"
        )
        # A function's ARN, or a Ref: the parameter EventBusName, the service machine's ARN.
        refs = {k: v["Ref"] for k, v in machine["DefinitionSubstitutions"].items() if "Ref" in v}
        assert refs in ({"EventBusName": "EventBusName"}, {"ServiceStateMachineArn": "ServiceStateMachine"}), refs
        getatts = {k: v for k, v in machine["DefinitionSubstitutions"].items() if k not in refs}
        for key, value in getatts.items():
            logical_fn = value["GetAtt"].split(".")[0]
            assert resources[logical_fn]["Type"] == "AWS::Serverless::Function", key
        in_machine = {v["GetAtt"].split(".")[0] for v in getatts.values()}
        # and the state machine may invoke exactly the functions it uses
        invoke = {
            p["LambdaInvokePolicy"]["FunctionName"]["Ref"] for p in machine["Policies"] if "LambdaInvokePolicy" in p
        }
        assert invoke == in_machine, logical
        in_machines |= in_machine
    assert "EventBusName" in t["Parameters"]
    functions = {k for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
    # start-deployment and wake-rollout are EventBridge targets: they start or answer executions
    # instead of running in them; reconcile is the schedule's target, starting executions as
    # start-deployment does; the hook functions are invoked by CodeDeploy and by ECS.
    assert functions - in_machines == {
        "StartDeploymentFunction",
        "WakeRolloutFunction",
        "ReconcileFunction",
        "CodeDeployHookFunction",
        "EcsHookFunction",
    }


LAMBDA_BINARY = "berth-lambda"


def workspace_packages() -> dict[str, Path]:
    """Cargo package name -> its directory, for the workspace's top-level and functions/ crates."""
    out = {}
    for manifest in sorted(ROOT.glob("*/Cargo.toml")) + sorted(ROOT.glob("functions/*/Cargo.toml")):
        m = re.search(r'^name\s*=\s*"([^"]+)"', manifest.read_text(), re.M)
        if m:
            out[m.group(1)] = manifest.parent
    return out


def build_problems(t: dict, table: list[tuple[str, str]], packages: dict[str, Path]) -> list[str]:
    """What is wrong with how template `t` builds its functions and picks each one's code: every
    function builds the one binary with cargo-lambda from one identical build definition (so SAM
    builds it once), and its BERTH_STATE names a crate of functions/ and the entry of the binary's
    `states!` table (`table`: [(state, crate)]) that runs that crate; every state of the table is
    used by exactly one function and every crate of functions/ by one state."""
    problems = []
    glob = t["Globals"]["Function"]
    build_keys = ("CodeUri", "Runtime", "Architectures", "Handler", "PackageType")
    definitions = {}
    states: dict[str, list[str]] = {}
    for name, res in t["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        meta, props = res.get("Metadata", {}), res["Properties"]
        if meta.get("BuildMethod") != "rust-cargolambda":
            problems.append(f"{name}: BuildMethod {meta.get('BuildMethod')!r}, not rust-cargolambda")
        binary = meta.get("BuildProperties", {}).get("Binary")
        if binary != LAMBDA_BINARY:
            problems.append(f"{name}: builds Binary {binary!r}, not {LAMBDA_BINARY}")
        definitions[name] = json.dumps([meta] + [props.get(k, glob.get(k)) for k in build_keys], sort_keys=True)
        state = (props.get("Environment") or {}).get("Variables", {}).get("BERTH_STATE")
        if not isinstance(state, str):
            problems.append(f"{name}: no literal Environment.Variables.BERTH_STATE")
            continue
        states.setdefault(state, []).append(name)
    if len(set(definitions.values())) > 1:
        problems.append(f"functions differ in their build definition (SAM would build several times): {definitions}")
    package = packages.get(LAMBDA_BINARY)
    if package is None or not (package / "src" / "main.rs").exists():
        problems.append(f"{LAMBDA_BINARY} is no binary crate of the workspace")
    crates = {d.name: n.replace("-", "_") for n, d in packages.items() if d.parent == ROOT / "functions"}
    runs: dict[str, list[str]] = {}
    for state, crate in table:
        runs.setdefault(state, []).append(crate)
    for state, listed in runs.items():
        if len(listed) > 1:
            problems.append(f"states! lists {state} {len(listed)} times")
    for state, names in sorted(states.items()):
        if len(names) > 1:
            problems.append(f"{' and '.join(sorted(names))} all have BERTH_STATE {state}")
        if state not in crates:
            problems.append(f"{names[0]}: BERTH_STATE {state} names no crate in functions/")
        if state not in runs:
            problems.append(f"{names[0]}: BERTH_STATE {state} is no state of {LAMBDA_BINARY}'s states! table")
        elif state in crates and len(runs[state]) == 1 and runs[state][0] != crates[state]:
            problems.append(
                f"{names[0]}: states! runs {runs[state][0]} for {state}, not functions/{state} ({crates[state]})"
            )
    for state in sorted(set(runs) - set(states)):
        problems.append(f"states! serves {state}, which no function of the template uses")
    for crate in sorted(set(crates) - set(states)):
        problems.append(f"functions/{crate} is no function's BERTH_STATE")
    return problems


def berth_lambda_states() -> list[tuple[str, str]]:
    return lambda_states(ROOT / "lambda" / "src" / "main.rs")


def test_every_function_is_a_crate_built_by_cargo_lambda_for_arm64():
    t = template()
    glob = t["Globals"]["Function"]
    assert glob["Runtime"] == "provided.al2023"
    assert glob["Architectures"] == ["arm64"]
    table = berth_lambda_states()
    assert build_problems(t, table, workspace_packages()) == []


def test_the_build_contract_fails_on_a_wrong_binary_state_or_table():
    t, table, packages = template(), berth_lambda_states(), workspace_packages()

    def variables(doc: dict, logical: str) -> dict:
        return doc["Resources"][logical]["Properties"]["Environment"]["Variables"]

    other = copy.deepcopy(t)
    other["Resources"]["RollbackFunction"]["Metadata"]["BuildProperties"]["Binary"] = "rollback"
    assert build_problems(other, table, packages)[0] == "RollbackFunction: builds Binary 'rollback', not berth-lambda"
    assert any("differ in their build definition" in p for p in build_problems(other, table, packages))
    typo = copy.deepcopy(t)
    variables(typo, "SummarizeFunction")["BERTH_STATE"] = "sumarize"
    assert build_problems(typo, table, packages) == [
        "SummarizeFunction: BERTH_STATE sumarize names no crate in functions/",
        "SummarizeFunction: BERTH_STATE sumarize is no state of berth-lambda's states! table",
        "states! serves summarize, which no function of the template uses",
        "functions/summarize is no function's BERTH_STATE",
    ]
    twice = copy.deepcopy(t)
    variables(twice, "SummarizeFunction")["BERTH_STATE"] = "rollback"
    assert "RollbackFunction and SummarizeFunction all have BERTH_STATE rollback" in build_problems(
        twice, table, packages
    )
    swapped = [(s, "rollback" if s == "summarize" else c) for s, c in table]
    assert build_problems(t, swapped, packages) == [
        "SummarizeFunction: states! runs rollback for summarize, not functions/summarize (summarize)"
    ]
    assert build_problems(t, table + [("summarize", "summarize")], packages) == ["states! lists summarize 2 times"]


def test_every_lambda_error_is_retried_or_caught_at_every_task():
    names = lambda_error_names()
    assert {"InvalidInput", "Throttled", "ServiceNotFound"} <= names
    transient = transient_names()
    assert {"Throttled", "AwsUnavailable"} <= transient
    for state_name, state in every_state():
        if state["Type"] != "Task":
            continue
        if state["Resource"].startswith("arn:aws:states:::") and ":lambda:" not in state["Resource"]:
            # an AWS API call of the state machine's own (no Lambda: aws-sdk, or the approval
            # gate's events:putEvents.waitForTaskToken): it must never fail the run
            assert any("States.ALL" in c["ErrorEquals"] for c in state.get("Catch", [])), state_name
            continue
        retried = {e for r in state.get("Retry", []) for e in r["ErrorEquals"]}
        caught = {e for c in state.get("Catch", []) for e in c["ErrorEquals"]}
        assert transient <= retried, f"{state_name} does not retry {transient - retried}"
        assert "Lambda.Unknown" in retried | caught or "States.ALL" in caught, state_name
        # a Lambda killed at its timeout (the handler's budget should prevent it) is retried once:
        # every state is idempotent per deployment
        assert "Sandbox.Timedout" in retried, state_name
        uncovered = names - retried - caught
        assert not uncovered or "States.ALL" in caught, f"{state_name} lets {uncovered} fail the execution"
        # a name in ErrorEquals that no Lambda raises is a typo
        for e in retried | caught:
            # Sandbox.Timedout: what Step Functions names a Lambda killed at its timeout today
            assert e.startswith(("States.", "Lambda.")) or e in names or e == "Sandbox.Timedout", (
                f"{state_name}: unknown error name {e}"
            )
        # States.ALL must come last (ASL rule; also what makes the specific catches reachable)
        catches = state.get("Catch", [])
        for c in catches[:-1]:
            assert "States.ALL" not in c["ErrorEquals"], state_name


def test_touching_the_service_routes_failures_to_rollback():
    states = dict(all_states(service_asl()["States"]))

    def catch_all_next(s: str) -> str:
        return next(c["Next"] for c in states[s]["Catch"] if "States.ALL" in c["ErrorEquals"])

    # before any change: a clean end
    assert catch_all_next("AcquireTurn") == "NotStarted"
    assert catch_all_next("RegisterRevision") == "NotStarted"
    # the approval gate is before any change: rejected, timed out or failed, nothing changed
    assert catch_all_next("AwaitApproval") == "NotStarted"
    assert states["AwaitApproval"]["Next"] == "RegisterRevision"
    assert states["ApprovalTimedOut"]["Next"] == "NotStarted"
    # once UpdateService may have run: roll back (through the stop of a stop-then-start deploy,
    # whose new tasks stop before the previous revision starts again)
    for s in ("UpdateService", "StartNewTasks", "StopOldTasks", "WatchRollout", "EvaluateShift", "EvaluateCanary"):
        assert catch_all_next(s) == "StopBeforeRollback", s
    assert states["StopBeforeRollback"]["Default"] == "Rollback"
    assert states["FailedTasksStopped"]["Choices"][0]["Next"] == "Rollback"
    for s in ("StopFailedTasks", "Rollback", "WatchRollback"):
        assert catch_all_next(s) == "RollbackFailed", s
    assert states["RolloutDecision"]["Default"] == "StopBeforeRollback"
    assert states["CanaryDecision"]["Default"] == "StopBeforeRollback"
    # mid-shift only a ROLLBACK verdict acts; anything else looks again after the poll interval
    assert states["ShiftDecision"]["Default"] == "WaitForShift"
    assert states["WaitForShift"]["Next"] == "WatchRollout"


def test_wait_loops_read_their_interval_from_the_input():
    for name, state in every_state():
        if state["Type"] == "Wait":
            # SecondsPath, or TimestampPath for a wait until an instant a state computed (a freeze
            # window's end): either way read from the input, never a literal
            assert "SecondsPath" in state or "TimestampPath" in state, (
                f"{name} must use SecondsPath (or TimestampPath) so tests and users can set the pace"
            )


def test_execution_error_names_match_the_rust_contract():
    execution = set(error_names()["execution"])
    assert execution == {"DeploymentRolledBack", "RollbackFailed", "DeploymentNotStarted"}
    assert not execution & lambda_error_names()
    fail = asl()["States"]["DeploymentFailed"]
    assert fail["ErrorPath"] == "$.summary.error" and fail["CausePath"] == "$.summary.cause"


def test_no_mutating_action_has_a_star_resource():
    mutating = re.compile(
        r"^(ecs:(Register|Update|Tag|Create|Delete|Deregister|Run|Start|Stop)|iam:|states:Start|codedeploy:(Create|Stop|Put))"
    )
    allowed_star = {"logs:", "xray:"}  # AWS requires '*' for vended-log delivery and X-Ray
    # Actions AWS authorizes on no resource type (e.g. codedeploy:StopDeployment,
    # PutLifecycleEventHookExecutionStatus) must be on '*': AWS denies them on any ARN. Read from
    # AWS's authorization data as cfn-lint bundles it (tests/test_iam_contract.py).
    auth = authorization_data()

    def only_star(action):
        prefix, op = action.split(":", 1)
        return not auth[prefix]["Actions"][op.lower()].get("Resources")

    for name, res in template()["Resources"].items():
        for policy in res.get("Properties", {}).get("Policies", []) or []:
            for st in policy.get("Statement", []) if isinstance(policy, dict) else []:
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                if st["Resource"] == "*":
                    bad = [
                        a
                        for a in actions
                        if mutating.match(a) and not a.startswith(tuple(allowed_star)) and not only_star(a)
                    ]
                    assert not bad, f"{name} {st.get('Sid')}: {bad} on '*'"
                if "iam:PassRole" in actions:
                    assert st["Condition"]["StringEquals"]["iam:PassedToService"] == "ecs-tasks.amazonaws.com"
