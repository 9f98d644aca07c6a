//! The checked-in files derived here must be what their sources give today; BERTH_BLESS=1 rewrites them.

use std::path::PathBuf;

use berth::error::{ErrorName, ExecutionErrorName, Group};
use serde_json::{json, Map, Value};

use crate::render::render;

const BLESS: &str = "BERTH_BLESS=1 cargo test -p berth-statemachine";
const SOURCE: &str = "statemachine/deploy.src.json";
const ASL: &str = "statemachine/deploy.asl.json";
const SERVICE_ASL: &str = "statemachine/service.asl.json";
const NAMES: &str = "statemachine/error-names.json";
const README: &str = "README.md";
/// README's error-name table sits between a line starting with this and [`TABLE_END`].
const TABLE_BEGIN: &str = "<!-- error names:";
const TABLE_END: &str = "<!-- end of error names -->";

fn path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(path(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// Fail unless `relative` holds what `from` gives; under `BERTH_BLESS=1`, write it instead.
fn check(relative: &str, want: &str, from: &str) {
    berth::testing::assert_current(env!("CARGO_MANIFEST_DIR"), relative, want, from, BLESS);
}

fn rendered() -> crate::render::Rendered {
    render(&read(SOURCE))
        .unwrap_or_else(|problems| panic!("{SOURCE} is refused:\n  {}", problems.join("\n  ")))
}

fn rendered_asl() -> String {
    rendered().deploy
}

fn rendered_service_asl() -> String {
    rendered()
        .service
        .unwrap_or_else(|| panic!("{SOURCE} defines no ServiceMachine"))
}

/// berth's names by group, and the execution outcomes: what the Python and node tests read.
fn error_names_json() -> String {
    let names = |it: &mut dyn Iterator<Item = &'static str>| it.collect::<Vec<_>>();
    let lambda: Map<String, Value> = Group::ALL
        .iter()
        .map(|&g| {
            let list = names(&mut ErrorName::of(g).map(ErrorName::as_str));
            (g.as_str().to_owned(), json!(list))
        })
        .collect();
    let execution = names(&mut ExecutionErrorName::ALL.iter().map(|n| n.as_str()));
    let doc = json!({
        "//": format!("berth's error names (shared/src/error.rs): what each Lambda may raise, by group, and what a failed execution reports. Generated: {BLESS}"),
        "lambda": lambda,
        "execution": execution,
    });
    serde_json::to_string_pretty(&doc).unwrap() + "\n"
}

/// README with its error-name table as the enum declares it today.
fn readme_with_table(readme: &str) -> String {
    let begin = readme
        .lines()
        .position(|l| l.starts_with(TABLE_BEGIN))
        .unwrap_or_else(|| panic!("{README} has no line starting with {TABLE_BEGIN}"));
    let end = readme
        .lines()
        .position(|l| l == TABLE_END)
        .filter(|&end| end > begin)
        .unwrap_or_else(|| panic!("{README} has no {TABLE_END} after {TABLE_BEGIN}"));
    let lines: Vec<&str> = readme.lines().collect();
    let mut out: Vec<String> = lines[..=begin].iter().map(|l| l.to_string()).collect();
    out.push("| name | group | meaning |".into());
    out.push("|---|---|---|".into());
    for n in ErrorName::ALL {
        out.push(format!(
            "| `{n}` | {} | {} |",
            n.group().as_str(),
            n.about()
        ));
    }
    out.extend(lines[end..].iter().map(|l| l.to_string()));
    let mut text = out.join("\n");
    if readme.ends_with('\n') {
        text.push('\n');
    }
    text
}

#[test]
fn deploy_asl_json_is_rendered_from_its_source() {
    check(ASL, &rendered_asl(), SOURCE);
}

#[test]
fn service_asl_json_is_rendered_from_its_source() {
    check(SERVICE_ASL, &rendered_service_asl(), SOURCE);
}

#[test]
fn error_names_json_lists_the_enum() {
    check(NAMES, &error_names_json(), "shared/src/error.rs");
}

#[test]
fn readme_error_table_lists_the_enum() {
    check(
        README,
        &readme_with_table(&read(README)),
        "shared/src/error.rs",
    );
}

/// The point of the source: one retry policy, used by every Lambda task (a copy would drift).
#[test]
fn every_lambda_task_names_the_one_retry_policy() {
    let source: Value = serde_json::from_str(&read(SOURCE)).unwrap();
    let mut tasks = Vec::new();
    lambda_tasks(&source["States"], &mut tasks);
    lambda_tasks(&source["ServiceMachine"]["States"], &mut tasks);
    assert!(tasks.len() >= 9, "{tasks:?}");
    for (name, state) in tasks {
        assert_eq!(state["Retry"], json!("lambda"), "{name}");
    }
    // the watch states invoke check-stability with a task token: the same retries, less the
    // States.Timeout that is their fallback poll
    for name in ["WatchRollout", "WatchRollback"] {
        assert_eq!(
            source["ServiceMachine"]["States"][name]["Retry"],
            json!("watch"),
            "{name}"
        );
    }
}

/// A watch state waits for its task token, answered by check-stability (at once or on an ECS
/// event via wake-rollout); its timeout is the fallback poll, which looks again from the same
/// state, and nothing else loops.
#[test]
fn the_watch_states_wait_for_their_token_and_poll_slowly_by_timing_out() {
    let asl: Value = serde_json::from_str(&rendered_service_asl()).unwrap();
    for (name, rollout, after, failed, again, unanswered) in [
        (
            "WatchRollout",
            "$.update",
            "RolloutDecision",
            "StopBeforeRollback",
            "LookAgain",
            "RolloutUnanswered",
        ),
        (
            "WatchRollback",
            "$.rollback.rollout",
            "RollbackDecision",
            "RollbackFailed",
            "LookAgainAtRollback",
            "RollbackUnanswered",
        ),
    ] {
        let w = &asl["States"][name];
        assert_eq!(
            w["Resource"], "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "{name}"
        );
        assert_eq!(
            w["Parameters"]["FunctionName"],
            "${CheckStabilityFunctionArn}"
        );
        assert_eq!(w["Parameters"]["Payload"]["taskToken.$"], "$$.Task.Token");
        assert_eq!(w["Parameters"]["Payload"]["rollout.$"], rollout);
        assert_eq!(w["TimeoutSecondsPath"], format!("{rollout}.watch.seconds"));
        assert_eq!(w["Next"], after);
        let catch = w["Catch"].as_array().expect("a Catch");
        assert_eq!(
            catch[0],
            json!({"ErrorEquals": ["States.Timeout"], "ResultPath": null, "Next": again})
        );
        assert_eq!(
            catch[2],
            json!({"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": failed})
        );
        // a check that could not be made is looked at again until the rollout's deadline, then
        // fails as the rollout would have: every error that says nothing about the rollout
        assert_eq!(catch[1]["ResultPath"], "$.unanswered");
        assert_eq!(catch[1]["Next"], unanswered);
        let not_made = catch[1]["ErrorEquals"].to_string();
        for e in [
            "Lambda.Unknown",
            "Sandbox.Timedout",
            "Lambda.TooManyRequestsException",
            "Throttled",
        ] {
            assert!(not_made.contains(e), "{name}: {e} not in {not_made}");
        }
        for e in ["States.ALL", "States.Timeout", "AwsError"] {
            assert!(!not_made.contains(e), "{name}: {e} in {not_made}");
        }
        let pass = &asl["States"][unanswered];
        assert_eq!(pass["Parameters"]["at.$"], "$$.State.EnteredTime");
        let choice = &asl["States"][pass["Next"].as_str().unwrap()];
        assert_eq!(choice["Choices"][0]["Variable"], "$.unanswered.at");
        assert_eq!(
            choice["Choices"][0]["TimestampLessThanPath"],
            format!("{rollout}.deadline")
        );
        let wait = &asl["States"][choice["Choices"][0]["Next"].as_str().unwrap()];
        assert_eq!(
            (&wait["Type"], &wait["Next"]),
            (&json!("Wait"), &json!(name))
        );
        let past = &asl["States"][choice["Default"].as_str().unwrap()];
        assert_eq!(
            (&past["ResultPath"], &past["Next"]),
            (&json!("$.error"), &json!(failed))
        );
        // the fallback poll goes back to the same watch through a Pass state (moto's interpreter
        // does not follow a Catch to its own state)
        assert_eq!(
            asl["States"][again],
            json!({"Type": "Pass", "Comment": asl["States"][again]["Comment"], "Next": name})
        );
        let retried = w["Retry"].to_string();
        assert!(!retried.contains("States.Timeout"), "{name}: {retried}");
    }
}

/// The deployment runs each service in its own execution and keeps only its report.
#[test]
fn each_service_runs_in_its_own_execution() {
    let asl: Value = serde_json::from_str(&rendered_asl()).unwrap();
    let each = &asl["States"]["DeployEachService"];
    let deploy = &each["ItemProcessor"]["States"]["DeployService"];
    assert_eq!(
        deploy["Resource"],
        "arn:aws:states:::states:startExecution.sync:2"
    );
    assert_eq!(
        deploy["Parameters"]["StateMachineArn"],
        "${ServiceStateMachineArn}"
    );
    assert_eq!(deploy["Parameters"]["Name.$"], "$.item.executionName");
    assert_eq!(
        each["ItemSelector"],
        json!({"item.$": "States.JsonMerge($$.Map.Item.Value, $.plan.common, false)"})
    );
    assert_eq!(deploy["OutputPath"], "$.Output");
    assert_eq!(
        asl["States"]["Summarize"]["Parameters"],
        json!({"reports.$": "$.results"})
    );
    let service: Value = serde_json::from_str(&rendered_service_asl()).unwrap();
    for end in [
        "Deployed",
        "Superseded",
        "NotStarted",
        "RolledBack",
        "RollbackFailed",
    ] {
        assert_eq!(service["States"][end]["Next"], "Report", "{end}");
    }
    assert_eq!(
        service["States"]["Report"]["Resource"],
        "${SummarizeFunctionArn}"
    );
}

fn lambda_tasks<'a>(states: &'a Value, out: &mut Vec<(&'a str, &'a Value)>) {
    for (name, state) in states.as_object().into_iter().flatten() {
        let resource = state["Resource"].as_str().unwrap_or("");
        if state["Type"] == "Task" && resource.starts_with("${") {
            out.push((name, state));
        }
        lambda_tasks(&state["ItemProcessor"]["States"], out);
    }
}

/// UpdateService is where a failure may or may not have changed the service: the refused names
/// end the deployment NOT_STARTED, anything else rolls back.
#[test]
fn update_service_ends_refusals_cleanly_and_rolls_back_the_rest() {
    let asl: Value = serde_json::from_str(&rendered_service_asl()).unwrap();
    let update = &asl["States"]["UpdateService"];
    let refused: Vec<&str> = ErrorName::of(Group::Refused).map(|n| n.as_str()).collect();
    assert_eq!(
        update["Catch"],
        json!([
            {"ErrorEquals": refused, "ResultPath": "$.error", "Next": "NotStarted"},
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "StopBeforeRollback"}
        ])
    );
    // which goes to Rollback, through the stop of a stop-then-start deploy when it had one
    let stop = &asl["States"]["StopBeforeRollback"];
    assert_eq!(stop["Default"], "Rollback");
    assert_eq!(stop["Choices"][0]["Next"], "BeginStopForRollback");
    assert_eq!(
        asl["States"]["FailedTasksStopped"]["Choices"][0]["Next"],
        "Rollback"
    );
}

#[test]
fn the_readme_table_replaces_only_its_own_lines() {
    let readme = format!("# x\n\nbefore\n{TABLE_BEGIN} generated -->\nstale\n{TABLE_END}\nafter\n");
    let out = readme_with_table(&readme);
    assert!(out.starts_with("# x\n\nbefore\n<!-- error names: generated -->\n| name |"));
    assert!(out.ends_with(&format!("|\n{TABLE_END}\nafter\n")), "{out}");
    assert!(!out.contains("stale"));
    assert_eq!(readme_with_table(&out), out);
}

/// The approval gate sits between the turn's GO and RegisterRevision, so nothing is registered or
/// changed until someone approves; every other way out of it ends NOT_STARTED, a timeout as
/// `NotApproved`.
#[test]
fn the_approval_gate_waits_before_anything_changes() {
    let asl: Value = serde_json::from_str(&rendered_service_asl()).unwrap();
    let states = &asl["States"];
    let go = states["TurnDecision"]["Choices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["StringEquals"] == "GO")
        .unwrap();
    assert_eq!(go["Next"], "NeedsApproval");
    let needs = &states["NeedsApproval"];
    assert_eq!(needs["Choices"][0]["Variable"], "$.approval");
    assert_eq!(needs["Choices"][0]["Next"], "AwaitApproval");
    assert_eq!(needs["Default"], "RegisterRevision");

    let gate = &states["AwaitApproval"];
    assert_eq!(
        gate["Resource"],
        "arn:aws:states:::events:putEvents.waitForTaskToken"
    );
    assert_eq!(gate["TimeoutSecondsPath"], "$.approval.timeoutSeconds");
    assert_eq!(gate["ResultPath"], "$.approved");
    assert_eq!(gate["Next"], "RegisterRevision");
    let detail = &gate["Parameters"]["Entries"][0]["Detail"];
    assert_eq!(detail["phase"], "AWAITING_APPROVAL");
    assert_eq!(detail["approval"]["taskToken.$"], "$$.Task.Token");
    assert_eq!(
        gate["Catch"],
        json!([
            {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "ApprovalTimedOut"},
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotStarted"}
        ])
    );
    let timed_out = &states["ApprovalTimedOut"];
    assert_eq!(
        timed_out["Parameters"]["Error"],
        ErrorName::NotApproved.as_str()
    );
    assert_eq!(timed_out["ResultPath"], "$.error");
    assert_eq!(timed_out["Next"], "NotStarted");
}
