use aws_sdk_sfn::operation::send_task_failure::SendTaskFailureOutput;
use aws_sdk_sfn::operation::send_task_success::{SendTaskSuccessError, SendTaskSuccessOutput};
use aws_sdk_sfn::types::error::TaskTimedOut;
use aws_smithy_mocks::mock;
use berth::testing::mock_client;
use serde_json::json;

use super::*;

const EXEC: &str = "arn:aws:states:eu-west-1:123456789012:execution:berth-deploy:berth-cli-web-1";

fn detail(service: &str) -> Value {
    json!({"phase": "AWAITING_APPROVAL", "cluster": "prod", "service": service,
           "image": "web@sha256:aa", "deploymentId": format!("berth-cli-web-1/prod/{service}"),
           "execution": EXEC,
           "approval": {"taskToken": format!("token-{service}"), "timeoutSeconds": 600,
                        "answer": "berth approve berth-cli-web-1 | berth reject berth-cli-web-1"}})
}

/// The gate's TaskScheduled event as GetExecutionHistory returns it: parameters are a JSON string.
fn scheduled(detail: Value) -> Event {
    let params = json!({"Entries": [{"Source": "berth", "DetailType": "berth Deployment State Change",
                                     "Detail": detail}]});
    serde_json::from_value(json!({
        "type": "TaskScheduled", "timestamp": 1000.0,
        "taskScheduledEventDetails": {"resourceType": "events", "resource": "putEvents.waitForTaskToken",
                                      "region": "eu-west-1", "parameters": params.to_string()}
    }))
    .unwrap()
}

fn gate_exited(service: &str) -> Event {
    serde_json::from_value(json!({
        "type": "TaskStateExited", "timestamp": 1010.0,
        "stateExitedEventDetails": {"name": "AwaitApproval",
            "output": json!({"cluster": "prod", "service": service, "approved": {"by": "alice"}}).to_string()}
    }))
    .unwrap()
}

#[test]
fn the_token_is_read_from_the_gates_scheduled_parameters() {
    // GIVEN the gate's scheduled event, with the detail as an object or as the string it is sent as
    for d in [detail("web"), Value::String(detail("web").to_string())] {
        // WHEN read THEN the gate names the service, its token, its timeout and how to answer
        let g = Gate::of(&scheduled(d)).expect("a gate");
        assert_eq!(
            (
                g.cluster.as_str(),
                g.service.as_str(),
                g.task_token.as_str()
            ),
            ("prod", "web", "token-web")
        );
        assert_eq!(g.execution, EXEC);
        assert_eq!(g.timeout_seconds, 600);
        assert_eq!(
            g.waiting_line(),
            "web: waiting for approval (up to 600s): berth approve berth-cli-web-1 | berth reject berth-cli-web-1"
        );
    }
}

#[test]
fn a_lambda_task_or_another_event_is_no_gate() {
    let lambda: Event = serde_json::from_value(json!({
        "type": "TaskScheduled", "timestamp": 1.0,
        "taskScheduledEventDetails": {"resource": "invoke", "parameters": "{\"FunctionName\": \"x\"}"}
    }))
    .unwrap();
    assert_eq!(Gate::of(&lambda), None);
    let mut other_phase = detail("web");
    other_phase["phase"] = json!("DEPLOYED");
    assert_eq!(Gate::of(&scheduled(other_phase)), None);
    let mut no_token = detail("web");
    no_token["approval"]["taskToken"] = json!("");
    assert_eq!(Gate::of(&scheduled(no_token)), None);
    assert_eq!(Gate::of(&gate_exited("web")), None);
}

#[test]
fn a_gate_waits_until_its_state_exits_for_that_service() {
    // GIVEN two services' gates, one of which was answered
    let events = vec![
        scheduled(detail("web")),
        scheduled(detail("api")),
        gate_exited("api"),
    ];
    // WHEN the waiting gates are read THEN only web's waits
    let waiting: Vec<String> = waiting(&events).into_iter().map(|g| g.service).collect();
    assert_eq!(waiting, vec!["web"]);
    // AND once web's exits, none does
    let mut all = events;
    all.push(gate_exited("web"));
    assert!(super::waiting(&all).is_empty());
}

#[test]
fn a_rejection_says_who_and_why() {
    assert_eq!(
        rejection_cause("alice", Some(" not today ")),
        "rejected by alice: not today"
    );
    assert_eq!(rejection_cause("alice", Some("")), "rejected by alice");
    assert_eq!(rejection_cause("alice", None), "rejected by alice");
}

fn gate() -> Gate {
    Gate::of(&scheduled(detail("web"))).unwrap()
}

#[tokio::test]
async fn reject_sends_not_approved_with_the_cause_to_the_gates_token() {
    let rule = mock!(Client::send_task_failure)
        .match_requests(|r| {
            r.task_token() == Some("token-web")
                && r.error() == Some("NotApproved")
                && r.cause() == Some("rejected by alice: bad image")
        })
        .then_output(|| SendTaskFailureOutput::builder().build());
    let sfn = mock_client!(aws_sdk_sfn, [&rule]);
    let a = answer(
        &sfn,
        &gate(),
        Decision::Rejected,
        "alice",
        Some("bad image"),
    )
    .await
    .unwrap();
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(
        render(&[a]),
        "rejected prod/web <- web@sha256:aa by alice: bad image; it ends NotApproved, nothing changed: berth watch berth-cli-web-1\n"
    );
}

#[tokio::test]
async fn approve_sends_who_and_why_as_the_gates_output() {
    let rule = mock!(Client::send_task_success)
        .match_requests(|r| {
            let out: ApprovalAnswer = serde_json::from_str(r.output().unwrap_or("")).unwrap();
            r.task_token() == Some("token-web")
                && out.by == "alice"
                && out.reason.as_deref() == Some("ok")
                && !out.at.is_empty()
        })
        .then_output(|| SendTaskSuccessOutput::builder().build());
    let sfn = mock_client!(aws_sdk_sfn, [&rule]);
    let a = answer(&sfn, &gate(), Decision::Approved, "alice", Some("ok"))
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
    assert!(render(&[a])
        .starts_with("approved prod/web <- web@sha256:aa by alice: ok; the deployment goes on"),);
}

#[tokio::test]
async fn a_gate_that_timed_out_meanwhile_is_said_so() {
    let rule = mock!(Client::send_task_success).then_error(|| {
        SendTaskSuccessError::TaskTimedOut(TaskTimedOut::builder().message("timed out").build())
    });
    let sfn = mock_client!(aws_sdk_sfn, [&rule]);
    let e = answer(&sfn, &gate(), Decision::Approved, "alice", None)
        .await
        .unwrap_err();
    assert_eq!(e.exit, crate::exit::Exit::Failed);
    assert!(
        e.message.starts_with(
            "prod/web: the approval gate no longer waits (answered or timed out meanwhile)"
        ),
        "{}",
        e.message
    );
}

#[test]
fn the_progress_lines_show_the_gate_and_its_answer() {
    assert_eq!(
        crate::progress::describe(&scheduled(detail("web"))).unwrap(),
        "web: waiting for approval (up to 600s): berth approve berth-cli-web-1 | berth reject berth-cli-web-1"
    );
    assert_eq!(
        crate::progress::describe(&gate_exited("web")).unwrap(),
        "web: approved by alice"
    );
    let timed_out: Event = serde_json::from_value(json!({
        "type": "PassStateExited", "timestamp": 1.0,
        "stateExitedEventDetails": {"name": "ApprovalTimedOut", "output": json!({"service": "web",
            "error": {"Error": "NotApproved", "Cause": "nobody answered the approval gate within 600 s (timed out)"}}).to_string()}
    }))
    .unwrap();
    assert_eq!(
        crate::progress::describe(&timed_out).unwrap(),
        "web: not approved: nobody answered the approval gate within 600 s (timed out)"
    );
}
