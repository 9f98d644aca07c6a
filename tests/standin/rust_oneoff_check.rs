// Throw-away check that the real Rust client (aws-sdk-ecs 1.157) runs, reads and stops the
// stand-in's one-off tasks (ecs_oneoff.py). Built as a crate outside the workspace with the
// workspace's Cargo.lock; run with AWS_ENDPOINT_URL=http://127.0.0.1:PORT and the env vars below,
// prepared by test_ecs_oneoff.py::test_rust_sdk_runs_reads_and_stops_one_off_tasks (which also
// checks the printed lines).
//
//   TASK_DEF    an awsvpc FARGATE task definition ARN in cluster "prod" (container "migrate")
//   SUBNET      a subnet id; SG a security group id
//   FAIL_DEF    a task definition whose image exits 3
//   PULL_DEF    one whose image cannot be pulled
//   HANG_DEF    one whose image runs until stopped
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, ContainerOverride, LaunchType, NetworkConfiguration,
    Task, TaskOverride,
};
use std::time::Duration;

fn env(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| panic!("{k} not set"))
}

async fn run(ecs: &aws_sdk_ecs::Client, td: &str, net: &NetworkConfiguration) -> String {
    let out = ecs
        .run_task()
        .cluster("prod")
        .task_definition(td)
        .launch_type(LaunchType::Fargate)
        .network_configuration(net.clone())
        .started_by("berth-migrate")
        .overrides(
            TaskOverride::builder()
                .container_overrides(
                    ContainerOverride::builder()
                        .name("migrate")
                        .command("migrate")
                        .command("up")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("run_task");
    let t = &out.tasks()[0];
    println!(
        "RUN {:?} {:?} {:?} {:?}",
        t.last_status(),
        t.group(),
        t.launch_type(),
        t.overrides()
            .map(|o| o.container_overrides()[0].command().to_vec())
    );
    t.task_arn().unwrap().to_string()
}

async fn until_stopped(ecs: &aws_sdk_ecs::Client, arn: &str) -> Task {
    for _ in 0..400 {
        let out = ecs
            .describe_tasks()
            .cluster("prod")
            .tasks(arn)
            .send()
            .await
            .expect("describe_tasks");
        let t = out.tasks()[0].clone();
        if t.last_status() == Some("STOPPED") {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{arn} never stopped");
}

fn show(label: &str, t: &Task) {
    let c = &t.containers()[0];
    println!(
        "{label} {:?} {:?} reason_prefix={:?} exit={:?} container_reason_prefix={:?} started={} stopped={}",
        t.stop_code(),
        t.desired_status(),
        t.stopped_reason().map(|r| r.split(':').next().unwrap_or("")),
        c.exit_code(),
        c.reason().map(|r| r.split(':').next().unwrap_or("")),
        t.started_at().is_some(),
        t.stopped_at().is_some(),
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let conf = aws_config::from_env().region("us-east-1").load().await;
    let ecs = aws_sdk_ecs::Client::new(&conf);
    let net = NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .subnets(env("SUBNET"))
                .security_groups(env("SG"))
                .assign_public_ip(AssignPublicIp::Disabled)
                .build()
                .unwrap(),
        )
        .build();

    let ok = run(&ecs, &env("TASK_DEF"), &net).await;
    show("EXIT0", &until_stopped(&ecs, &ok).await);
    let fail = run(&ecs, &env("FAIL_DEF"), &net).await;
    show("EXIT3", &until_stopped(&ecs, &fail).await);
    let pull = run(&ecs, &env("PULL_DEF"), &net).await;
    show("PULL", &until_stopped(&ecs, &pull).await);

    let hang = run(&ecs, &env("HANG_DEF"), &net).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stop = ecs
        .stop_task()
        .cluster("prod")
        .task(&hang)
        .reason("berth: migration timed out")
        .send()
        .await
        .expect("stop_task");
    let s = stop.task().unwrap();
    println!(
        "STOP {:?} {:?} {:?}",
        s.stop_code(),
        s.desired_status(),
        s.stopped_reason()
    );
    show("HANG", &until_stopped(&ecs, &hang).await);

    let td = ecs
        .describe_task_definition()
        .task_definition(env("TASK_DEF"))
        .send()
        .await
        .expect("describe_task_definition");
    let logs = td.task_definition().unwrap().container_definitions()[0]
        .log_configuration()
        .unwrap();
    println!(
        "LOGS {:?} {:?}",
        logs.log_driver(),
        logs.options().and_then(|o| o.get("awslogs-group"))
    );

    let err = ecs
        .run_task()
        .cluster("prod")
        .task_definition(env("TASK_DEF"))
        .launch_type(LaunchType::Fargate)
        .send()
        .await
        .unwrap_err();
    println!(
        "NO_NETWORK is_invalid_parameter_exception={}",
        err.into_service_error().is_invalid_parameter_exception()
    );
}
