// Throw-away check that the real Rust clients (aws-sdk-codedeploy 1.124, aws-sdk-ecs 1.157) parse
// the stand-in's CodeDeploy simulator answers. Built as a crate outside the workspace with the
// workspace's Cargo.lock; run with AWS_ENDPOINT_URL=http://127.0.0.1:PORT and the env vars below,
// prepared by tests/standin/rust_codedeploy_driver.py (which also checks the printed lines).
//
//   DEP_ID     a deployment waiting on its AfterAllowTestTraffic hook
//   EXEC_ID    that hook's LifecycleEventHookExecutionId
//   FAILED_ID  a deployment whose BeforeAllowTraffic hook timed out (rolled back)
//   GREEN_TD   a registered task definition ARN for a new deployment
//   BLUE_TD    another one, not the service's current task definition (UpdateService must refuse it)
use aws_sdk_codedeploy::types::{
    AppSpecContent, DeploymentStatus, LifecycleEventStatus, RevisionLocation, RevisionLocationType,
};
use std::time::Duration;

fn env(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| panic!("{k} not set"))
}

#[tokio::main]
async fn main() {
    let conf = aws_config::from_env().region("us-east-1").load().await;
    let cd = aws_sdk_codedeploy::Client::new(&conf);
    let ecs = aws_sdk_ecs::Client::new(&conf);
    let (dep, exec, failed, green, blue) = (env("DEP_ID"), env("EXEC_ID"), env("FAILED_ID"), env("GREEN_TD"), env("BLUE_TD"));

    let info = cd.get_deployment().deployment_id(&dep).send().await.expect("get_deployment");
    let i = info.deployment_info().unwrap();
    println!(
        "DEPLOYMENT {:?} {:?} {:?} {:?} {:?} create={:?} start={:?} overview_inprogress={:?} style={:?}/{:?} revtype={:?} sha={:?}",
        i.deployment_id(), i.status(), i.compute_platform(), i.application_name(), i.deployment_config_name(),
        i.create_time().map(|t| t.secs()), i.start_time().map(|t| t.secs()),
        i.deployment_overview().map(|o| o.in_progress()),
        i.deployment_style().and_then(|s| s.deployment_type()), i.deployment_style().and_then(|s| s.deployment_option()),
        i.revision().and_then(|r| r.revision_type()),
        i.revision().and_then(|r| r.app_spec_content()).and_then(|a| a.sha256()).map(|s| s.len()),
    );
    let g = cd.get_deployment_group().application_name("web-app").deployment_group_name("web-dg").send().await.expect("get_deployment_group");
    let gi = g.deployment_group_info().unwrap();
    let svc = gi.ecs_services().first().unwrap();
    println!(
        "GROUP {:?} {:?} {:?}:{:?} tgs={:?} rollback={:?}",
        gi.compute_platform(), gi.deployment_config_name(), svc.cluster_name(), svc.service_name(),
        gi.load_balancer_info().map(|l| l.target_group_pair_info_list()[0].target_groups().iter().map(|t| t.name().unwrap_or_default().to_string()).collect::<Vec<_>>()),
        gi.auto_rollback_configuration().map(|a| (a.enabled(), a.events().to_vec())),
    );
    let targets = cd.list_deployment_targets().deployment_id(&dep).send().await.expect("list_deployment_targets");
    println!("TARGETS {:?}", targets.target_ids());
    let t = cd.get_deployment_target().deployment_id(&dep).target_id(&targets.target_ids()[0]).send().await.expect("get_deployment_target");
    let e = t.deployment_target().unwrap().ecs_target().unwrap();
    println!("TARGET {:?} {:?} {:?} updated={:?}", t.deployment_target().unwrap().deployment_target_type(), e.target_id(), e.status(), e.last_updated_at().map(|x| x.secs()));
    for ev in e.lifecycle_events() {
        println!("EVENT {:?} {:?} start={:?}", ev.lifecycle_event_name(), ev.status(), ev.start_time().map(|x| x.secs()));
    }
    for ts in e.task_sets_info() {
        println!("TASKSET {:?} {:?} {:?} weight={:?} tg={:?} running={} desired={}", ts.task_set_label(), ts.status(), ts.identifer(), ts.traffic_weight(), ts.target_group().and_then(|g| g.name()), ts.running_count(), ts.desired_count());
    }
    let hook = e.lifecycle_events().iter().find(|x| x.status() == Some(&LifecycleEventStatus::InProgress));
    println!("HOOK_IN_PROGRESS {:?}", hook.and_then(|h| h.lifecycle_event_name()));

    let appspec = format!(
        r#"{{"version":0.0,"Resources":[{{"TargetService":{{"Type":"AWS::ECS::Service","Properties":{{"TaskDefinition":"{green}","LoadBalancerInfo":{{"ContainerName":"web","ContainerPort":80}}}}}}}}]}}"#
    );
    let revision = RevisionLocation::builder()
        .revision_type(RevisionLocationType::AppSpecContent)
        .app_spec_content(AppSpecContent::builder().content(&appspec).build())
        .build();
    match cd.create_deployment().application_name("web-app").deployment_group_name("web-dg").revision(revision.clone()).send().await {
        Ok(_) => println!("LIMIT unexpected success"),
        Err(err) => { let se = err.into_service_error(); println!("LIMIT is_deployment_limit_exceeded_exception={}", se.is_deployment_limit_exceeded_exception()); }
    }
    let listed = cd.list_deployments().application_name("web-app").deployment_group_name("web-dg")
        .include_only_statuses(DeploymentStatus::InProgress).send().await.expect("list_deployments");
    println!("LISTED {:?}", listed.deployments());

    let put = cd.put_lifecycle_event_hook_execution_status().deployment_id(&dep).lifecycle_event_hook_execution_id(&exec)
        .status(LifecycleEventStatus::Succeeded).send().await.expect("put_lifecycle_event_hook_execution_status");
    println!("PUT {:?}", put.lifecycle_event_hook_execution_id().map(|x| x == exec));
    match cd.put_lifecycle_event_hook_execution_status().deployment_id(&dep).lifecycle_event_hook_execution_id(&exec)
        .status(LifecycleEventStatus::Succeeded).send().await {
        Ok(_) => println!("PUT_AGAIN unexpected success"),
        Err(err) => { let se = err.into_service_error(); println!("PUT_AGAIN is_lifecycle_event_already_completed_exception={}", se.is_lifecycle_event_already_completed_exception()); }
    }
    let mut done = None;
    for _ in 0..200 {
        let d = cd.get_deployment().deployment_id(&dep).send().await.expect("get_deployment");
        let s = d.deployment_info().unwrap().status().cloned();
        if s == Some(DeploymentStatus::Succeeded) || s == Some(DeploymentStatus::Failed) { done = Some(d); break; }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let d = done.expect("deployment did not finish");
    let i = d.deployment_info().unwrap();
    println!("FINISHED {:?} complete={:?}", i.status(), i.complete_time().map(|t| t.secs()));
    let s = ecs.describe_services().cluster("prod").services("web").send().await.expect("describe_services");
    let s = &s.services()[0];
    println!("SERVICE td_is_green={} tasksets={:?}", s.task_definition() == Some(green.as_str()), s.task_sets().iter().map(|t| (t.status().map(str::to_string), t.task_definition() == Some(green.as_str()), t.running_count())).collect::<Vec<_>>());

    let f = cd.batch_get_deployments().deployment_ids(&failed).send().await.expect("batch_get_deployments");
    let fi = &f.deployments_info()[0];
    println!("FAILED {:?} code={:?} msg_has_timed_out={} rollback={:?}", fi.status(), fi.error_information().and_then(|e| e.code()),
        fi.error_information().and_then(|e| e.message()).is_some_and(|m| m.contains("timed out")),
        fi.rollback_info().and_then(|r| r.rollback_deployment_id()).map(|x| x.len()));
    let ft = cd.get_deployment_target().deployment_id(&failed).target_id("prod:web").send().await.expect("get_deployment_target failed");
    for ev in ft.deployment_target().unwrap().ecs_target().unwrap().lifecycle_events() {
        if let Some(diag) = ev.diagnostics() {
            println!("DIAG {:?} {:?} {:?} {:?} end={:?}", ev.lifecycle_event_name(), ev.status(), diag.error_code(), diag.script_name(), ev.end_time().map(|t| t.secs()));
        }
    }

    // A canary deployment, stopped with rollback.
    let c = cd.create_deployment().application_name("web-app").deployment_group_name("web-dg")
        .deployment_config_name("CodeDeployDefault.ECSCanary10Percent15Minutes")
        .revision(revision).send().await.expect("create_deployment");
    let cid = c.deployment_id().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stop = cd.stop_deployment().deployment_id(&cid).auto_rollback_enabled(true).send().await.expect("stop_deployment");
    println!("STOP {:?} {:?}", stop.status(), stop.status_message());
    let mut stopped = None;
    for _ in 0..100 {
        let d = cd.get_deployment().deployment_id(&cid).send().await.expect("get_deployment");
        if d.deployment_info().unwrap().status() == Some(&DeploymentStatus::Stopped) { stopped = Some(d); break; }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let d = stopped.expect("not stopped");
    let i = d.deployment_info().unwrap();
    println!("STOPPED {:?} code={:?} rollback_id_len={:?}", i.status(), i.error_information().and_then(|e| e.code()), i.rollback_info().and_then(|r| r.rollback_deployment_id()).map(|x| x.len()));
    match cd.stop_deployment().deployment_id(&cid).send().await {
        Ok(_) => println!("STOP_AGAIN unexpected success"),
        Err(err) => { let se = err.into_service_error(); println!("STOP_AGAIN is_deployment_already_completed_exception={}", se.is_deployment_already_completed_exception()); }
    }
    match ecs.update_service().cluster("prod").service("web").task_definition(&blue).send().await {
        Ok(_) => println!("ECS_UPDATE unexpected success"),
        Err(err) => { let se = err.into_service_error(); println!("ECS_UPDATE is_invalid_parameter_exception={} {:?}", se.is_invalid_parameter_exception(), se.meta().message()); }
    }
    println!("DONE");
}
