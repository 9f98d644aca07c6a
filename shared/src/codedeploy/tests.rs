use super::*;

fn ev(name: &str, status: &str) -> EventView {
    EventView {
        name: name.into(),
        status: status.into(),
        diagnostics: None,
    }
}

fn view(status: &str, events: Vec<EventView>) -> DeploymentView {
    DeploymentView {
        id: "d-ABCDEFGH1".into(),
        status: status.into(),
        events,
        ..Default::default()
    }
}

const NOW: i64 = 1_800_000_000;

#[test]
fn the_console_names_unless_the_service_tags_name_others() {
    assert_eq!(
        group_for("prod", "web", &[]),
        Group {
            application: "AppECS-prod-web".into(),
            deployment_group: "DgpECS-prod-web".into()
        }
    );
    let tags = vec![
        (TAG_APPLICATION.to_owned(), "shop".to_owned()),
        (TAG_DEPLOYMENT_GROUP.to_owned(), " web-bg ".to_owned()),
    ];
    assert_eq!(
        group_for("prod", "web", &tags),
        Group {
            application: "shop".into(),
            deployment_group: "web-bg".into()
        }
    );
}

#[test]
fn the_appspec_names_revision_container_port_and_every_hook() {
    let spec: serde_json::Value =
        serde_json::from_str(&appspec("arn:td/web:8", "app", 8080, Some("berth-hook"))).unwrap();
    let props = &spec["Resources"][0]["TargetService"]["Properties"];
    assert_eq!(props["TaskDefinition"], "arn:td/web:8");
    assert_eq!(
        props["LoadBalancerInfo"],
        serde_json::json!({"ContainerName": "app", "ContainerPort": 8080})
    );
    let hooks: Vec<String> = spec["Hooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_object().unwrap().keys().next().unwrap().clone())
        .collect();
    assert_eq!(hooks, CODEDEPLOY_HOOKS);
    assert!(spec["Hooks"].as_array().unwrap().iter().all(|h| h
        .as_object()
        .unwrap()
        .values()
        .all(|v| v == "berth-hook")));
    let bare: serde_json::Value =
        serde_json::from_str(&appspec("arn:td/web:7", "app", 8080, None)).unwrap();
    assert!(
        bare.get("Hooks").is_none(),
        "a rollback's redeploy runs no hooks"
    );
}

#[test]
fn a_retry_recognises_its_own_deployment_by_description() {
    let d = description("dep-1", "arn:aws:ecs:us-east-1:1:task-definition/web:8");
    assert_eq!(d, "berth:dep-1 web:8");
    assert!(is_ours(Some(&d), "dep-1"));
    assert!(!is_ours(Some(&d), "dep-12"));
    assert!(!is_ours(None, "dep-1"));
}

#[test]
fn an_active_deployment_is_in_progress_until_the_deadline() {
    let mut v = view(
        "InProgress",
        vec![
            ev("BeforeInstall", "Succeeded"),
            ev("AllowTraffic", "InProgress"),
        ],
    );
    v.green_traffic_weight = Some(10.0);
    let d = decide(&v, false, None, None, NOW + 10, NOW);
    assert_eq!(d.status, StabilityStatus::InProgress);
    assert!(
        d.detail
            .contains("at AllowTraffic; green receives 10% of production traffic"),
        "{}",
        d.detail
    );
    let late = decide(&v, false, None, None, NOW - 1, NOW);
    assert_eq!(
        (late.status, late.reason),
        (StabilityStatus::Failed, Some(FailureReason::Timeout))
    );
}

#[test]
fn a_failed_hook_is_named_with_the_recorded_verdict() {
    let mut v = view(
        "Failed",
        vec![
            ev("BeforeInstall", "Succeeded"),
            ev("AfterAllowTestTraffic", "Failed"),
            ev("AllowTraffic", "Skipped"),
        ],
    );
    v.rollback_deployment_id = Some("d-ROLLBACK1".into());
    v.error_message = Some("lifecycle hook failed".into());
    let verdict = VerdictRecord {
        deployment_id: v.id.clone(),
        hook: "AfterAllowTestTraffic".into(),
        status: "Failed".into(),
        detail: "AfterAllowTestTraffic: probe health got HTTP 503, expected 200".into(),
    };
    let d = decide(&v, false, Some("Succeeded"), Some(&verdict), NOW + 10, NOW);
    assert_eq!(
        (d.status, d.reason),
        (StabilityStatus::Failed, Some(FailureReason::HookFailed))
    );
    assert_eq!(
        d.detail,
        "CodeDeploy deployment d-ABCDEFGH1 Failed at AfterAllowTestTraffic: AfterAllowTestTraffic: probe health got HTTP 503, expected 200; \
         CodeDeploy rolled back to blue (deployment d-ROLLBACK1) [BeforeInstall Succeeded, AfterAllowTestTraffic Failed]"
    );
    // A verdict of another deployment is not evidence: CodeDeploy's words instead.
    let other = VerdictRecord {
        deployment_id: "d-OTHER".into(),
        ..verdict
    };
    let d = decide(&v, false, Some("Succeeded"), Some(&other), NOW + 10, NOW);
    assert!(
        d.detail
            .contains("at AfterAllowTestTraffic: lifecycle hook failed"),
        "{}",
        d.detail
    );
}

#[test]
fn a_stop_by_someone_else_is_stopped() {
    let mut v = view("Stopped", vec![]);
    v.error_message = Some("The deployment was stopped by a user".into());
    let d = decide(&v, false, None, None, NOW + 10, NOW);
    assert_eq!(d.reason, Some(FailureReason::Stopped));
}

#[test]
fn a_rollback_completes_when_codedeploys_rollback_deployment_succeeds() {
    let mut v = view("Stopped", vec![]);
    v.rollback_deployment_id = Some("d-RB".into());
    assert_eq!(
        decide(&v, true, Some("InProgress"), None, NOW + 10, NOW).status,
        StabilityStatus::InProgress
    );
    assert_eq!(
        decide(&v, true, Some("Succeeded"), None, NOW + 10, NOW).status,
        StabilityStatus::Completed
    );
    assert_eq!(
        decide(&v, true, Some("Failed"), None, NOW + 10, NOW).status,
        StabilityStatus::Failed
    );
    let late = decide(&v, true, Some("InProgress"), None, NOW - 1, NOW);
    assert_eq!(late.reason, Some(FailureReason::Timeout));
    // Stopping still under way.
    assert_eq!(
        decide(&view("InProgress", vec![]), true, None, None, NOW + 10, NOW).status,
        StabilityStatus::InProgress
    );
    // No rollback deployment at all: a person must look.
    let none = decide(&view("Failed", vec![]), true, None, None, NOW + 10, NOW);
    assert_eq!(none.status, StabilityStatus::Failed);
    assert!(
        none.detail.contains("started no rollback deployment"),
        "{}",
        none.detail
    );
}
