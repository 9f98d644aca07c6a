"""Install hardening in template.yaml: validated parameters, the ECR rule's dead-letter queue, the
failure notification, log groups with retention, the execution log group kept on deletion.

Facts about resources SAM generates (the EcrPush rule, the functions' roles) are checked on the
template as SAM's own translator (samtranslator, installed with aws-sam-cli) expands it.
"""

from __future__ import annotations

import copy
import json
import os
import re
from typing import Any

import pytest

from .test_iam_contract import PSEUDO, TEMPLATE_PATH, intrinsic, load_template, resolve

STATUS_CHANGE: dict[str, Any] = {
    # The event Step Functions sends when an execution ends (Step Functions developer guide,
    # "Step Functions events": Execution Status Change).
    "version": "0",
    "id": "315c1398-40ff-a850-213b-158f73e60175",
    "detail-type": "Step Functions Execution Status Change",
    "source": "aws.states",
    "account": "123456789012",
    "time": "2026-11-29T12:00:00Z",
    "region": "eu-west-1",
    "resources": ["arn:aws:states:eu-west-1:123456789012:execution:berth-deploy:web-1"],
    "detail": {
        "executionArn": "arn:aws:states:eu-west-1:123456789012:execution:berth-deploy:web-1",
        "stateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:berth-deploy",
        "name": "web-1",
        "status": "FAILED",
        "startDate": 1796000000000,
        "stopDate": 1796000100000,
        "input": "{}",
        "output": None,
        "error": "DeploymentRolledBack",
        "cause": "prod/web: rollout FAILED; rolled back",
    },
}


@pytest.fixture(scope="module")
def t():
    return load_template()


@pytest.fixture(scope="module")
def translated():
    """template.yaml as SAM translates it (local paths replaced by S3 URIs, as `sam package` does)."""
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    text = TEMPLATE_PATH.read_text()
    text = text.replace("CodeUri: ./", "CodeUri: s3://bucket/code.zip")
    for machine in ("deploy", "service"):
        text = text.replace(
            f"DefinitionUri: statemachine/{machine}.asl.json", f"DefinitionUri: s3://bucket/{machine}.asl.json"
        )

    class NoManagedPolicies:
        def load(self):
            return {}

    region = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = PSEUDO["AWS::Region"]
    try:
        return transform(yaml_parse(text), {}, NoManagedPolicies())
    finally:
        if region is None:
            del os.environ["AWS_DEFAULT_REGION"]
        else:
            os.environ["AWS_DEFAULT_REGION"] = region


def functions(t):
    return {k: v for k, v in t["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}


def by_type(t, rtype):
    return {k: v for k, v in t["Resources"].items() if v["Type"] == rtype}


def get_att(v):
    k, arg = intrinsic(v)
    assert k == "GetAtt", v
    return tuple(arg.split(".", 1)) if isinstance(arg, str) else tuple(arg)


def ref(v):
    k, arg = intrinsic(v)
    assert k == "Ref", v
    return arg


# ------------------------------------------------------------------------ parameters


def test_cluster_name_must_be_an_ecs_cluster_name(t):
    p = t["Parameters"]["ClusterName"]
    assert "Default" not in p
    ok = ["prod", "my_cluster-2", "a" * 255]
    bad = ["", "a" * 256, "prod,staging", "arn:aws:ecs:eu-west-1:123456789012:cluster/prod", "prod/*", "my cluster"]
    assert all(re.fullmatch(p["AllowedPattern"], v) for v in ok)
    assert not any(re.fullmatch(p["AllowedPattern"], v) for v in bad)


def test_task_role_arns_must_be_role_arns_and_at_least_one(t):
    p = t["Parameters"]["TaskRoleArns"]
    assert p["Type"] == "CommaDelimitedList" and "Default" not in p
    # CloudFormation applies a CommaDelimitedList's AllowedPattern to each member.
    ok = [
        "arn:aws:iam::123456789012:role/web-task",
        "arn:aws:iam::123456789012:role/service-role/ecsTaskExecutionRole",
        "arn:aws-cn:iam::123456789012:role/app-*",
    ]
    bad = [
        "",
        " ",
        "web-task",
        "arn:aws:iam::123456789012:user/deployer",
        "arn:aws:iam::12345:role/x",
        "arn:aws:iam::123456789012:role/",
    ]
    assert all(re.fullmatch(p["AllowedPattern"], v) for v in ok)
    assert not any(re.fullmatch(p["AllowedPattern"], v) for v in bad)
    # ... and a rule refuses an empty member (an empty value is [""]).
    asserts = [a["Assert"] for rule in t["Rules"].values() for a in rule["Assertions"]]
    assert {"Fn::Not": [{"Fn::Contains": [{"Ref": "TaskRoleArns"}, ""]}]} in asserts


@pytest.mark.parametrize(
    "name", ["ServiceNames", "TaskDefinitionFamilies", "CodeDeployApplications", "CodeDeployDeploymentGroups"]
)
def test_iam_name_patterns_cannot_escape_their_arn(t, name):
    """A pattern parameter lands inside an ARN: ':' or '/' would widen the grant."""
    pattern = t["Parameters"][name]["AllowedPattern"]
    assert re.fullmatch(pattern, "web-*")
    for bad in ["*:*", "web/*", "a b", "x" * 256]:
        assert not re.fullmatch(pattern, bad), (name, bad)


def test_codedeploy_writes_are_scoped_by_parameters_defaulting_to_the_console_names(t):
    """CreateDeployment and RegisterApplicationRevision: never every group or application."""
    seen = set()
    for logical, fn in functions(t).items():
        for policy in fn["Properties"].get("Policies", []):
            for st in policy["Statement"]:
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                for action in {"codedeploy:CreateDeployment", "codedeploy:RegisterApplicationRevision"} & set(actions):
                    seen.add((logical, action))
                    text = json.dumps(st["Resource"])
                    assert "CodeDeployApplications" in text, (logical, action)
                    if action == "codedeploy:CreateDeployment":
                        assert "CodeDeployDeploymentGroups" in text, (logical, action)
                    for arn in resolve(t, st["Resource"]):
                        assert not arn.endswith(("deploymentgroup:*", "application:*")), (logical, arn)
                    # with the parameters left empty: the ECS console's names for the cluster
                    defaults = resolve(_with_defaults(t), st["Resource"])
                    kind = (
                        "deploymentgroup:AppECS-prod-*/DgpECS-prod-*"
                        if action.endswith("CreateDeployment")
                        else "application:AppECS-prod-*"
                    )
                    assert any(a.endswith(kind) for a in defaults), (logical, defaults)
    assert {a for _, a in seen} == {"codedeploy:CreateDeployment", "codedeploy:RegisterApplicationRevision"}


def _with_defaults(t):
    """The template with the CodeDeploy parameters' conditions decided as an empty value decides
    them (the console-name branch)."""
    t = copy.deepcopy(t)

    def walk(v):
        if isinstance(v, dict):
            k, arg = intrinsic(v)
            if k == "If" and arg[0] in ("HasCodeDeployApplications", "HasCodeDeployDeploymentGroups"):
                return walk(arg[2])
            return {key: walk(x) for key, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    t["Resources"] = walk(t["Resources"])
    return t


# ------------------------------------------------------------------------ the ECR rule's DLQ


def test_the_ecr_push_rule_has_a_dead_letter_queue_it_may_write_to(translated):
    r = translated["Resources"]
    rule = r["StartDeploymentFunctionEcrPush"]
    assert rule["Type"] == "AWS::Events::Rule"
    (target,) = rule["Properties"]["Targets"]
    assert get_att(target["Arn"]) == ("StartDeploymentFunction", "Arn")
    assert get_att(target["DeadLetterConfig"]["Arn"]) == ("EventDeadLetterQueue", "Arn")
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    queue = r["EventDeadLetterQueue"]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"]["MessageRetentionPeriod"] == 1209600
    policies = [
        p
        for p in by_type(translated, "AWS::SQS::QueuePolicy").values()
        if {"Ref": "EventDeadLetterQueue"} in p["Properties"]["Queues"]
    ]
    (policy,) = policies
    (st,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert st["Effect"] == "Allow" and st["Principal"] == {"Service": "events.amazonaws.com"}
    assert st["Action"] == "sqs:SendMessage"
    assert get_att(st["Resource"]) == ("EventDeadLetterQueue", "Arn")
    sources = {get_att(a) for a in st["Condition"]["ArnEquals"]["aws:SourceArn"]}
    assert sources == {("StartDeploymentFunctionEcrPush", "Arn"), ("DeployFailedRule", "Arn")}


def test_the_dead_letter_queue_is_watched(t):
    alarm = t["Resources"]["EventDeadLetterAlarm"]["Properties"]
    assert alarm["Namespace"] == "AWS/SQS" and alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert get_att(alarm["Dimensions"][0]["Value"]) == ("EventDeadLetterQueue", "QueueName")
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and alarm["Threshold"] == 0
    assert [ref(a) for a in alarm["AlarmActions"]] == ["DeployFailuresTopic"]


# ------------------------------------------------------------------------ failure notification


def test_failed_timed_out_and_aborted_executions_of_this_machine_notify_the_topic(t):
    from moto.events.models import EventPattern

    rule = t["Resources"]["DeployFailedRule"]["Properties"]
    pattern = copy.deepcopy(rule["EventPattern"])
    assert [ref(a) for a in pattern["detail"]["stateMachineArn"]] == ["DeployStateMachine"]
    pattern["detail"]["stateMachineArn"] = [STATUS_CHANGE["detail"]["stateMachineArn"]]
    matcher = EventPattern.load(json.dumps(pattern))

    def event(status, machine=STATUS_CHANGE["detail"]["stateMachineArn"]):
        e = copy.deepcopy(STATUS_CHANGE)
        e["detail"].update(status=status, stateMachineArn=machine)
        return e

    for status in ("FAILED", "TIMED_OUT", "ABORTED"):
        assert matcher.matches_event(event(status)), status
    for status in ("SUCCEEDED", "RUNNING", "PENDING_REDRIVE"):
        assert not matcher.matches_event(event(status)), status
    assert not matcher.matches_event(event("FAILED", "arn:aws:states:eu-west-1:123456789012:stateMachine:other"))
    (target,) = rule["Targets"]
    assert ref(target["Arn"]) == "DeployFailuresTopic"
    assert get_att(target["DeadLetterConfig"]["Arn"]) == ("EventDeadLetterQueue", "Arn")


def test_the_topic_accepts_the_rule_and_the_alarm_and_is_an_output(t):
    r = t["Resources"]
    assert r["DeployFailuresTopic"]["Type"] == "AWS::SNS::Topic"
    policy = r["DeployFailuresTopicPolicy"]["Properties"]
    assert [ref(x) for x in policy["Topics"]] == ["DeployFailuresTopic"]
    publishers = {}
    for st in policy["PolicyDocument"]["Statement"]:
        assert st["Action"] == "sns:Publish" and ref(st["Resource"]) == "DeployFailuresTopic"
        publishers[st["Principal"]["Service"]] = get_att(st["Condition"]["ArnEquals"]["aws:SourceArn"])
    assert publishers == {
        "events.amazonaws.com": ("DeployFailedRule", "Arn"),
        "cloudwatch.amazonaws.com": ("EventDeadLetterAlarm", "Arn"),
    }
    assert ref(t["Outputs"]["DeployFailuresTopicArn"]["Value"]) == "DeployFailuresTopic"
    sub = r["DeployFailuresEmail"]
    assert sub["Condition"] == "HasFailureNotificationEmail" and sub["Properties"]["Protocol"] == "email"


# ------------------------------------------------------------------------ logs


def test_every_function_logs_to_its_own_declared_group_with_retention(t, translated):
    groups = set()
    for logical, fn in functions(t).items():
        group = ref(fn["Properties"]["LoggingConfig"]["LogGroup"])
        assert group not in groups, f"{logical} shares {group}"
        groups.add(group)
        res = t["Resources"][group]
        assert res["Type"] == "AWS::Logs::LogGroup"
        assert ref(res["Properties"]["RetentionInDays"]) == "LogRetentionDays"
        # named after the state the function serves (every function runs the same binary)
        state = fn["Properties"]["Environment"]["Variables"]["BERTH_STATE"]
        assert res["Properties"]["LogGroupName"] == {"Sub": f"/aws/lambda/${{AWS::StackName}}/{state}"}
        # Globals still apply: SAM merges the function's LoggingConfig into them
        config = translated["Resources"][logical]["Properties"]["LoggingConfig"]
        assert config["LogFormat"] == "JSON" and config["LogGroup"] == {"Ref": group}


def test_the_execution_log_group_is_kept_and_has_retention(t):
    group = t["Resources"]["DeployLogGroup"]
    assert group["DeletionPolicy"] == "Retain" and group["UpdateReplacePolicy"] == "Retain"
    assert ref(group["Properties"]["RetentionInDays"]) == "LogRetentionDays"
    destinations = t["Resources"]["DeployStateMachine"]["Properties"]["Logging"]["Destinations"]
    assert get_att(destinations[0]["CloudWatchLogsLogGroup"]["LogGroupArn"]) == ("DeployLogGroup", "Arn")


def test_function_roles_hold_nothing_but_their_inline_statements_and_basic_logging(translated):
    """What tests/test_iam_contract.py checks (the Policies statements) is the whole grant."""
    for logical, res in translated["Resources"].items():
        if res["Type"] != "AWS::Lambda::Function":
            continue
        role = translated["Resources"][get_att(res["Properties"]["Role"])[0]]["Properties"]
        assert role["ManagedPolicyArns"] == [
            "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
        ] or role["ManagedPolicyArns"] == [
            {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}
        ], logical


# ------------------------------------------------------------------------ the reconciliation sweep


def test_the_sweep_interval_is_whole_minutes_or_zero_for_off(t):
    p = t["Parameters"]["ReconcileMinutes"]
    assert p["Default"] == "15"
    ok, bad = ["0", "1", "15", "1440"], ["", "-1", "2.5", "15m", "01", "abc", " 15"]
    assert all(re.fullmatch(p["AllowedPattern"], v) for v in ok)
    assert not any(re.fullmatch(p["AllowedPattern"], v) for v in bad), "CloudFormation must refuse these"
    conditions = t["Conditions"]
    assert conditions["ReconcileOn"] == {"Not": [{"Equals": [{"Ref": "ReconcileMinutes"}, "0"]}]}
    assert conditions["ReconcileEveryMinute"] == {"Equals": [{"Ref": "ReconcileMinutes"}, "1"]}


def test_the_schedule_invokes_the_sweep_with_a_role_that_can_do_only_that(t):
    schedule = t["Resources"]["ReconcileSchedule"]
    assert schedule["Type"] == "AWS::Scheduler::Schedule" and schedule["Condition"] == "ReconcileOn"
    props = schedule["Properties"]
    # Scheduler refuses `rate(1 minutes)`: the singular for 1, the plural otherwise
    k, (cond, one, many) = intrinsic(props["ScheduleExpression"])
    assert (k, cond, one) == ("If", "ReconcileEveryMinute", "rate(1 minute)")
    assert intrinsic(many) == ("Sub", "rate(${ReconcileMinutes} minutes)")
    assert get_att(props["Target"]["Arn"]) == ("ReconcileFunction", "Arn")
    assert json.loads(props["Target"]["Input"])["scheduledTime"] == "<aws.scheduler.scheduled-time>"
    role = t["Resources"][get_att(props["Target"]["RoleArn"])[0]]
    assert role["Condition"] == "ReconcileOn"
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "scheduler.amazonaws.com"}]
    granted = [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert [(s["Action"], get_att(s["Resource"])) for s in granted] == [
        ("lambda:InvokeFunction", ("ReconcileFunction", "Arn"))
    ]


def test_the_sweep_deploys_what_the_push_rule_would(t):
    """The function reads the push rule's own parameters, so a tag the rule ignores is ignored."""
    env = t["Resources"]["ReconcileFunction"]["Properties"]["Environment"]["Variables"]
    assert env["BERTH_STATE"] == "reconcile"
    assert ref(env["BERTH_TAG_PATTERN"]) == "TagPattern"
    assert intrinsic(env["BERTH_REPOSITORIES"]) == ("Join", [",", {"Ref": "Repositories"}])
    start = t["Resources"]["StartDeploymentFunction"]["Properties"]["Environment"]["Variables"]
    assert env["BERTH_STATE_MACHINE_ARN"] == start["BERTH_STATE_MACHINE_ARN"]


# ------------------------------------------------------------------------ state machine roles

# What each Step Functions integration berth's ASL uses needs from the machine's role (Step
# Functions developer guide, "How Step Functions generates IAM policies for integrated services":
# the synchronous patterns also read and stop what they started, and manage the managed EventBridge
# rule through which Step Functions learns that it ended).
INTEGRATION_ACTIONS = {
    "arn:aws:states:::ecs:runTask.sync": {
        "ecs:RunTask",
        "ecs:StopTask",
        "ecs:DescribeTasks",
        "iam:PassRole",
        "events:PutTargets",
        "events:PutRule",
        "events:DescribeRule",
    },
    "arn:aws:states:::states:startExecution.sync:2": {
        "states:StartExecution",
        "states:DescribeExecution",
        "states:StopExecution",
        "events:PutTargets",
        "events:PutRule",
        "events:DescribeRule",
    },
    "arn:aws:states:::events:putEvents.waitForTaskToken": {"events:PutEvents"},
    "arn:aws:states:::aws-sdk:ecs:describeServices": {"ecs:DescribeServices"},
    "arn:aws:states:::lambda:invoke.waitForTaskToken": {"lambda:InvokeFunction"},
}
MANAGED_RULES = {
    "arn:aws:states:::ecs:runTask.sync": "StepFunctionsGetEventsForECSTaskRule",
    "arn:aws:states:::states:startExecution.sync:2": "StepFunctionsGetEventsForStepFunctionsExecutionRule",
}


def task_resources(definition: dict) -> set[str]:
    found = set()

    def walk(states: dict):
        for state in states.values():
            if state.get("Type") == "Task":
                found.add(state["Resource"])
            for inner in ("Iterator", "ItemProcessor"):
                if inner in state:
                    walk(state[inner]["States"])
            for branch in state.get("Branches", []):
                walk(branch["States"])

    walk(definition["States"])
    return found


def role_statements(translated, machine: str) -> list[dict]:
    role = translated["Resources"][f"{machine}Role"]["Properties"]
    return [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]


@pytest.mark.parametrize("machine,definition", [("DeployStateMachine", "deploy"), ("ServiceStateMachine", "service")])
def test_each_state_machine_role_grants_what_its_integrations_need(translated, machine, definition):
    asl = json.loads((TEMPLATE_PATH.parent / "statemachine" / f"{definition}.asl.json").read_text())
    statements = role_statements(translated, machine)
    granted = set()
    for s in statements:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        granted |= set(actions)
    for resource in task_resources(asl):
        if resource.startswith("${"):
            continue  # a Lambda function ARN: LambdaInvokePolicy, checked by the IAM contract
        assert resource in INTEGRATION_ACTIONS, f"{machine}: no IAM entry for integration {resource}"
        missing = INTEGRATION_ACTIONS[resource] - granted
        assert not missing, f"{machine}: {resource} needs {sorted(missing)}"
        if resource in MANAGED_RULES:
            rule = [
                s
                for s in statements
                if "events:PutRule" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
                and MANAGED_RULES[resource] in json.dumps(s["Resource"])
            ]
            assert rule, f"{machine}: {resource} needs its managed rule {MANAGED_RULES[resource]}"
