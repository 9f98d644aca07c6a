//! `berth plan`: a dry run. What a request, or an ECR push, would deploy: the services (found by
//! plan-deployment's own `plan`, as the Plan state finds them), per service the revision it runs
//! against the one berth would deploy (built by the copy register-revision registers), and the
//! checks that would run. It only reads: nothing is registered, updated or started.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::TaskDefinition;
use berth::config::Settings;
use berth::ecs::{controller, describe_service, describe_task_definition};
use berth::error::Group;
use berth::image::ImageRef;
use berth::model::{CanaryConfig, DeploymentItem, ExecutionRef, PlanInput};
use berth::taskdef::{copied_containers, diff, pick_container, short_name, Change};
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::CliError;
use crate::progress::{short_image, wire};

/// The digest of an image not pushed yet (`--repository R --tag T` without `--digest`): Plan needs
/// one, the output names it as the push's.
pub const PENDING_DIGEST: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";
const PENDING_SHOWN: &str = "<digest of the push>";

/// One service: what runs, what would run, and how berth would check it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServicePlan {
    pub cluster: String,
    pub service: String,
    /// `ECS` (rolling) or `CODE_DEPLOY` (blue/green).
    pub controller: String,
    /// The revision the service runs now (ARN).
    pub current: String,
    /// The existing revision deployed as it is (a rollback), or `None`: berth registers a copy.
    pub deploys_existing: Option<String>,
    /// What differs between the two revisions (container, field, from, to).
    pub changes: Vec<Change>,
    /// Per container: the digest running now and the one that would run.
    pub digests: Vec<Digest>,
    pub checks: Checks,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Digest {
    pub container: String,
    /// What the running tasks report (or the image's own digest).
    pub from: Option<String>,
    /// The new image's digest; `None` for a mutable tag (resolved when the tasks start).
    pub to: Option<String>,
}

/// The checks the deployment would run (the item Plan builds).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Checks {
    pub timeout_seconds: u64,
    pub poll_interval_seconds: u64,
    pub rollback_timeout_seconds: u64,
    pub force_new_deployment: bool,
    pub canary: Option<CanaryConfig>,
    /// The approval gate, as Plan put it in the item.
    pub approval: Option<Value>,
    /// The image-scan gate (the request's `scan` or the service's `berth:scan` tags).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan: Option<berth::scan::ScanPolicy>,
    /// The freeze calendars that hold the deployment (the service's tags, the installation's).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub freeze: Vec<berth::gates::FreezeConfig>,
}

/// The whole dry run.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// `console`, `rollback` or `ecr-push`, as the Plan state would say.
    pub source: String,
    /// Why nothing would be deployed.
    pub skipped: Option<String>,
    pub services: Vec<ServicePlan>,
    /// Always false: `berth plan` changes nothing.
    pub changed: bool,
}

/// `berth plan`: a request (`--cluster C --service S --image REF | --task-definition REV`) or a
/// push (`--image REF`, or `--repository R [--tag T] [--digest D]`).
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["image", "task_definition", "repository"])))]
pub struct PlanArgs {
    /// The request's cluster; for a push, the one cluster searched (default: the
    /// BERTH_CLUSTERS the stack searches, else every cluster).
    #[arg(long)]
    pub cluster: Option<String>,
    /// Plan a request for this service; without it, what a push would deploy.
    #[arg(long, requires = "cluster")]
    pub service: Option<String>,
    /// The image to deploy (a request), or the pushed image (its repository, tag and digest).
    #[arg(long)]
    pub image: Option<String>,
    /// An existing revision to deploy as it is (a request, as `berth rollback --to` sends it).
    #[arg(long, requires = "service", value_name = "REVISION")]
    pub task_definition: Option<String>,
    /// The pushed repository: what a push of `--tag` (and `--digest`) to it would deploy.
    #[arg(long, conflicts_with = "service")]
    pub repository: Option<String>,
    #[arg(long, requires = "repository")]
    pub tag: Option<String>,
    #[arg(long, requires = "repository")]
    pub digest: Option<String>,
    /// The request's settings (a request only: a push takes them from the service's tags).
    #[command(flatten)]
    pub request: crate::request::RequestArgs,
}

/// The execution input the arguments describe, checked as Plan checks it.
pub fn input(a: &PlanArgs, state_machine: &str) -> Result<Value, CliError> {
    use crate::request::Deploys;
    match (&a.service, &a.cluster) {
        (Some(service), Some(cluster)) => {
            let deploys = match (&a.image, &a.task_definition) {
                (Some(image), _) => Deploys::Image(image.clone()),
                (None, Some(revision)) => Deploys::Revision(revision.clone()),
                (None, None) => {
                    return Err(CliError::refused(
                        "plan of a request: give --image or --task-definition",
                    ))
                }
            };
            crate::request::build(&a.request.options(cluster, service, deploys)?)
        }
        _ => {
            if a.request.any() {
                return Err(CliError::refused(
                    "a push takes its container, timeouts and canary from the service's tags: \
                     give --service (a request) to set them",
                ));
            }
            match (&a.image, &a.repository) {
                (Some(image), _) => push_of_image(state_machine, image),
                (None, Some(repository)) => {
                    if let Some(d) = &a.digest {
                        berth::image::ImageRef::validate_digest(d).map_err(|e| {
                            CliError::refused(format!("{}: {}", e.name(), e.message()))
                        })?;
                    }
                    push_event(
                        state_machine,
                        repository,
                        a.tag.as_deref(),
                        a.digest.as_deref(),
                    )
                }
                (None, None) => Err(CliError::refused(
                    "a push is planned from --image or --repository",
                )),
            }
        }
    }
}

/// `berth plan`: the dry run, printed. Exit 0 (or 5 when Plan would refuse the input).
pub async fn run(
    a: &PlanArgs,
    state_machine: &str,
    aws: &crate::cli::Clients,
    format: crate::cli::Format,
    out: &mut dyn crate::cli::Console,
) -> Result<crate::exit::Exit, CliError> {
    let request = input(a, state_machine)?;
    let mut settings = Settings::from_env()
        .map_err(|e| CliError::failed(format!("{}: {}", e.name(), e.message())))?;
    if a.service.is_none() {
        if let Some(cluster) = &a.cluster {
            settings.clusters = vec![cluster.clone()];
        }
    }
    let report = plan(
        &aws.ecs,
        &aws.cloudwatch,
        &aws.ecr,
        &settings,
        state_machine,
        request,
    )
    .await?;
    out.result(&match format {
        crate::cli::Format::Text => render(&report),
        crate::cli::Format::Json => crate::cli::json(&report),
    });
    Ok(crate::exit::Exit::Deployed)
}

/// The ECR "Image Action" event a push of `repository[:tag]@digest` would send, in the account
/// and region of the state machine (the template's rule matches pushes of its own account).
pub fn push_event(
    state_machine: &str,
    repository: &str,
    tag: Option<&str>,
    digest: Option<&str>,
) -> Result<Value, CliError> {
    let parts: Vec<&str> = state_machine.split(':').collect();
    let (region, account) = match parts.as_slice() {
        [_, _, _, region, account, ..] => (*region, *account),
        _ => {
            return Err(CliError::failed(format!(
                "{state_machine} is not a state machine ARN"
            )))
        }
    };
    Ok(json!({
        "version": "0", "id": "berth-plan", "detail-type": "ECR Image Action",
        "source": "aws.ecr", "account": account, "region": region, "time": berth::time::format(berth::time::now()),
        "resources": [], "detail": {
            "result": "SUCCESS", "action-type": "PUSH", "repository-name": repository,
            "image-digest": digest.unwrap_or(PENDING_DIGEST), "image-tag": tag.unwrap_or_default()
        }
    }))
}

/// The push event for `--image REF` without `--service`: the reference's repository, tag and digest.
pub fn push_of_image(state_machine: &str, image: &str) -> Result<Value, CliError> {
    let r = ImageRef::parse(image)
        .map_err(|e| CliError::refused(format!("{}: {}", e.name(), e.message())))?;
    push_event(
        state_machine,
        r.repository(),
        r.tag.as_deref(),
        r.digest.as_deref(),
    )
}

fn refused_or_failed(e: berth::Error) -> CliError {
    let message = format!("{}: {}", e.name(), e.message());
    if e.name().group() == Group::Refused {
        CliError::refused(format!("refused: {message}"))
    } else {
        CliError::failed(message)
    }
}

/// Run Plan's own `plan` on `request` (a console request or a push event), then read each service.
pub async fn plan(
    ecs: &aws_sdk_ecs::Client,
    cloudwatch: &aws_sdk_cloudwatch::Client,
    ecr: &aws_sdk_ecr::Client,
    settings: &Settings,
    state_machine: &str,
    request: Value,
) -> Result<Report, CliError> {
    let now = berth::time::now();
    let input = PlanInput {
        request,
        execution: ExecutionRef {
            id: format!(
                "{}:berth-plan",
                state_machine.replacen(":stateMachine:", ":execution:", 1)
            ),
            name: "berth-plan".into(),
            start_time: berth::time::format(now),
        },
    };
    let aws = plan_deployment::handler::Aws {
        ecs,
        cloudwatch,
        ecr,
    };
    let planned = plan_deployment::handler::plan(&aws, settings, &input, now)
        .await
        .map_err(refused_or_failed)?;
    let mut services = Vec::with_capacity(planned.deployments.len());
    for item in &planned.deployments {
        services.push(service_plan(ecs, item).await?);
    }
    Ok(Report {
        source: planned.source,
        skipped: planned.skipped,
        services,
        changed: false,
    })
}

/// The revision berth would deploy for `item`: the named one, or the copy register-revision
/// would register (the same `copied_containers`, image pinned by digest when it has one).
pub fn would_deploy(
    current: &TaskDefinition,
    item: &DeploymentItem,
    existing: Option<&TaskDefinition>,
) -> Result<TaskDefinition, CliError> {
    if let Some(td) = existing {
        return Ok(td.clone());
    }
    let image = ImageRef::parse(&item.image).map_err(refused_or_failed)?;
    let container = pick_container(current, item.container.as_deref())
        .map_err(refused_or_failed)?
        .name()
        .unwrap_or_default()
        .to_owned();
    let mut new = current.clone();
    new.container_definitions = Some(copied_containers(current, &[(container, image.pinned())]));
    new.task_definition_arn = None;
    new.revision = 0;
    Ok(new)
}

/// Each container's digest now (`running`: container -> digest its tasks report) and after.
pub fn digests(
    current: &TaskDefinition,
    new: &TaskDefinition,
    running: &BTreeMap<String, String>,
) -> Vec<Digest> {
    let digest_of = |image: Option<&str>| image.and_then(|i| ImageRef::parse(i).ok()?.digest);
    new.container_definitions()
        .iter()
        .map(|c| {
            let name = c.name().unwrap_or_default().to_owned();
            let before = current
                .container_definitions()
                .iter()
                .find(|b| b.name() == c.name());
            let from = running
                .get(&name)
                .cloned()
                .or_else(|| digest_of(before.and_then(|b| b.image())));
            let unchanged = before.and_then(|b| b.image()) == c.image();
            let to = digest_of(c.image()).or(if unchanged { from.clone() } else { None });
            Digest {
                container: name,
                from,
                to,
            }
        })
        .collect()
}

async fn service_plan(
    ecs: &aws_sdk_ecs::Client,
    item: &DeploymentItem,
) -> Result<ServicePlan, CliError> {
    let svc = describe_service(ecs, &item.cluster, &item.service)
        .await
        .map_err(refused_or_failed)?;
    let current_arn = svc.task_definition().unwrap_or_default().to_owned();
    let (current, _) = describe_task_definition(ecs, &current_arn)
        .await
        .map_err(refused_or_failed)?;
    let existing = match &item.task_definition {
        Some(arn) => Some(
            describe_task_definition(ecs, arn)
                .await
                .map_err(refused_or_failed)?
                .0,
        ),
        None => None,
    };
    let new = would_deploy(&current, item, existing.as_ref())?;
    let status = crate::status::read(ecs, &item.cluster, &item.service).await?;
    let running: BTreeMap<String, String> = status
        .running
        .iter()
        .filter(|r| r.task_definition == current_arn)
        .filter_map(|r| Some((r.container.clone(), r.digest.clone()?)))
        .collect();
    let pending = |s: &str| s.replace(PENDING_DIGEST, PENDING_SHOWN);
    let changes = diff(&current, &new)
        .into_iter()
        .map(|c| Change {
            to: pending(&c.to),
            ..c
        })
        .collect();
    let digests = digests(&current, &new, &running)
        .into_iter()
        .map(|d| Digest {
            to: d.to.map(|t| pending(&t)),
            ..d
        })
        .collect();
    let doc = serde_json::to_value(item).unwrap_or_default();
    Ok(ServicePlan {
        cluster: item.cluster.clone(),
        service: item.service.clone(),
        controller: controller(&svc).to_owned(),
        current: current_arn,
        deploys_existing: item.task_definition.clone(),
        changes,
        digests,
        checks: Checks {
            timeout_seconds: item.timeout_seconds,
            poll_interval_seconds: item.poll_interval_seconds,
            rollback_timeout_seconds: item.rollback_timeout_seconds,
            force_new_deployment: item.force_new_deployment,
            canary: item.canary.clone(),
            approval: doc.get("approval").filter(|a| !a.is_null()).cloned(),
            scan: item.scan.clone(),
            freeze: item.freeze.clone(),
        },
    })
}

fn canary_line(c: &CanaryConfig) -> String {
    let metrics: Vec<String> = c
        .metrics
        .iter()
        .map(|m| match (&m.compare, m.threshold) {
            (Some(k), _) => format!(
                "{} {} vs baseline (tolerance {}%{}{}{})",
                m.name,
                wire(&k.direction),
                k.tolerance * 100.0,
                if k.critical { ", critical" } else { "" },
                if k.must_have_data {
                    ", must have data"
                } else {
                    ""
                },
                if k.dry_run { ", dry run" } else { "" }
            ),
            (None, t) => format!(
                "{} {} {}",
                m.name,
                wire(&m.comparison),
                t.map(|t| t.to_string()).unwrap_or_default()
            ),
        })
        .collect();
    let mut parts = vec![format!(
        "bake {}s, evaluated every {}s over {}s",
        c.bake_seconds, c.interval_seconds, c.window_seconds
    )];
    if let Some(a) = &c.analysis {
        parts.push(format!(
            "analysis against {} at confidence {}, pass {} / marginal {}",
            match a.baseline.source {
                berth::model::BaselineSource::BeforeDeploy => "the window before the deploy".into(),
                berth::model::BaselineSource::Dimensions => a
                    .baseline
                    .dimensions
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(","),
            },
            a.confidence,
            a.pass_score,
            a.marginal_score
        ));
    }
    if !metrics.is_empty() {
        parts.push(format!("metrics [{}]", metrics.join(", ")));
    }
    if !c.alarms.is_empty() {
        parts.push(format!("alarms [{}]", c.alarms.join(", ")));
    }
    parts.push(format!("inconclusive -> {}", wire(&c.on_inconclusive)));
    parts.join(", ")
}

/// The dry run for a person.
pub fn render(r: &Report) -> String {
    let mut out = match &r.skipped {
        Some(why) => format!(
            "plan ({}): nothing to deploy: {why}\nnothing was changed\n",
            r.source
        ),
        None => format!(
            "plan ({}): {} service(s) would be deployed; nothing was changed\n",
            r.source,
            r.services.len()
        ),
    };
    for s in &r.services {
        let target = match &s.deploys_existing {
            Some(arn) => format!("{} as it is (nothing registered)", short_name(arn)),
            None => format!(
                "a new revision of {}",
                berth::taskdef::family_of(&s.current).unwrap_or("?")
            ),
        };
        let how = if s.controller == "CODE_DEPLOY" {
            "CodeDeploy blue/green"
        } else {
            "ECS rolling"
        };
        out.push_str(&format!(
            "{}/{}: {} -> {target} ({how})\n",
            s.cluster,
            s.service,
            short_name(&s.current)
        ));
        if s.changes.is_empty() {
            out.push_str("  no change to the task definition\n");
        }
        for c in &s.changes {
            let (from, to) = if c.field == "image" {
                (short_image(&c.from), short_image(&c.to))
            } else {
                (
                    crate::progress::cut(&c.from, 120),
                    crate::progress::cut(&c.to, 120),
                )
            };
            match &c.container {
                Some(name) => {
                    out.push_str(&format!("  container {name} {}: {from} -> {to}\n", c.field))
                }
                None => out.push_str(&format!("  task definition {}: {from} -> {to}\n", c.field)),
            }
        }
        for d in s.digests.iter().filter(|d| d.from != d.to) {
            out.push_str(&format!(
                "  container {} digest: {} -> {}\n",
                d.container,
                d.from.as_deref().unwrap_or("unknown"),
                d.to.as_deref()
                    .unwrap_or("resolved when the tasks start (mutable tag)")
            ));
        }
        let k = &s.checks;
        out.push_str(&format!(
            "  checks: stability every {}s up to {}s; on failure rollback ({}s to stabilise){}\n",
            k.poll_interval_seconds,
            k.timeout_seconds,
            k.rollback_timeout_seconds,
            if k.force_new_deployment {
                ", new tasks forced"
            } else {
                ""
            }
        ));
        out.push_str(&format!(
            "  canary: {}\n",
            k.canary.as_ref().map(canary_line).unwrap_or("none".into())
        ));
        if let Some(a) = &k.approval {
            let wait = a
                .get("timeoutSeconds")
                .and_then(Value::as_u64)
                .map(|t| format!(" (waits up to {t}s)"))
                .unwrap_or_default();
            out.push_str(&format!(
                "  approval: required before anything changes{wait}\n"
            ));
        }
        if let Some(p) = &k.scan {
            out.push_str(&format!(
                "  image scan: refused at {} or above; no scan -> {}; a running scan waited for up to {}s\n",
                p.threshold,
                match p.on_no_scan {
                    berth::scan::NoScan::Refuse => "refused",
                    berth::scan::NoScan::Allow => "allowed",
                },
                p.max_wait_seconds
            ));
        }
        for f in &k.freeze {
            out.push_str(&format!(
                "  freeze ({}): {} in {}, {}\n",
                f.source,
                f.windows.join(" / "),
                f.time_zone,
                match f.on_freeze {
                    berth::gates::OnFreeze::Wait => "waits until it ends",
                    berth::gates::OnFreeze::Refuse => "refuses (Frozen)",
                }
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use aws_sdk_ecs::types::ContainerDefinition;

    use super::*;

    const OLD: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const NEW: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn td(images: &[(&str, &str)]) -> TaskDefinition {
        TaskDefinition::builder()
            .family("web")
            .revision(3)
            .task_definition_arn("arn:aws:ecs:us-east-1:123456789012:task-definition/web:3")
            .set_container_definitions(Some(
                images
                    .iter()
                    .map(|(n, i)| ContainerDefinition::builder().name(*n).image(*i).build())
                    .collect(),
            ))
            .build()
    }

    fn item(image: &str) -> DeploymentItem {
        serde_json::from_value(json!({
            "deploymentId": "d", "cluster": "prod", "service": "web", "container": "app",
            "image": image, "repository": "web", "forceNewDeployment": false,
            "timeoutSeconds": 600, "pollIntervalSeconds": 5, "rollbackTimeoutSeconds": 900,
            "execution": {"id": "arn:aws:states:us-east-1:1:execution:m:berth-plan"},
            "turnDeadline": "2026-11-30T00:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn a_new_image_changes_that_container_only_pinned_by_digest() {
        let current = td(&[("app", "web:v1"), ("log", "fluent:1")]);
        let new = would_deploy(&current, &item(&format!("r.example/web:v2@{NEW}")), None).unwrap();
        let changes = diff(&current, &new);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(
            (
                changes[0].container.as_deref(),
                changes[0].field.as_str(),
                changes[0].to.as_str()
            ),
            (
                Some("app"),
                "image",
                format!("r.example/web@{NEW}").as_str()
            )
        );
        let running = BTreeMap::from([("app".to_owned(), OLD.to_owned())]);
        let d = digests(&current, &new, &running);
        assert_eq!(d[0].from.as_deref(), Some(OLD));
        assert_eq!(d[0].to.as_deref(), Some(NEW));
        // an unchanged container keeps what it runs
        assert_eq!(
            (d[1].container.as_str(), d[1].from.as_ref()),
            ("log", d[1].to.as_ref())
        );
    }

    #[test]
    fn a_mutable_tag_has_no_digest_until_the_tasks_start() {
        let current = td(&[("app", &format!("web@{OLD}"))]);
        let new = would_deploy(&current, &item("web:v2"), None).unwrap();
        let d = digests(&current, &new, &BTreeMap::new());
        assert_eq!(
            (d[0].from.as_deref(), d[0].to.as_deref()),
            (Some(OLD), None)
        );
    }

    #[test]
    fn an_existing_revision_is_compared_as_it_is() {
        let current = td(&[("app", &format!("web@{NEW}"))]);
        let mut old = td(&[("app", &format!("web@{OLD}"))]);
        old.cpu = Some("256".into());
        let new = would_deploy(&current, &item("ignored"), Some(&old)).unwrap();
        let fields: Vec<String> = diff(&current, &new).into_iter().map(|c| c.field).collect();
        assert_eq!(fields, ["image", "cpu"]);
    }

    #[test]
    fn a_push_event_is_in_the_state_machines_account_and_region() {
        let sm = "arn:aws:states:us-east-1:123456789012:stateMachine:berth-deploy";
        let e = push_of_image(
            sm,
            &format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/web:v3@{NEW}"),
        )
        .unwrap();
        let push = berth::ecr::classify(&e).unwrap().unwrap();
        assert_eq!(
            (push.repository.as_str(), push.digest.as_str()),
            ("team/web", NEW)
        );
        assert_eq!(push.tag.as_deref(), Some("v3"));
        assert_eq!(
            (push.account.as_str(), push.region.as_str()),
            ("123456789012", "us-east-1")
        );
        let pending = push_event(sm, "web", Some("v4"), None).unwrap();
        assert_eq!(
            berth::ecr::classify(&pending).unwrap().unwrap().digest,
            PENDING_DIGEST
        );
    }

    #[test]
    fn the_text_names_the_change_the_checks_and_that_nothing_changed() {
        let report = Report {
            source: "console".into(),
            skipped: None,
            services: vec![ServicePlan {
                cluster: "prod".into(),
                service: "web".into(),
                controller: "ECS".into(),
                current: "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3".into(),
                deploys_existing: None,
                changes: vec![Change {
                    container: Some("app".into()),
                    field: "image".into(),
                    from: format!("r.example/web@{OLD}"),
                    to: format!("r.example/web@{NEW}"),
                }],
                digests: vec![Digest {
                    container: "app".into(),
                    from: Some(OLD.into()),
                    to: Some(NEW.into()),
                }],
                checks: Checks {
                    timeout_seconds: 600,
                    poll_interval_seconds: 5,
                    rollback_timeout_seconds: 900,
                    force_new_deployment: false,
                    canary: None,
                    approval: Some(json!({"timeoutSeconds": 3600})),
                    scan: Some(berth::scan::ScanPolicy::default()),
                    freeze: vec![berth::gates::FreezeConfig {
                        source: "service web tag berth:freeze".into(),
                        time_zone: "Europe/Berlin".into(),
                        windows: vec!["Fri 18:00 - Mon 06:00".into(), "daily 22:00 - 06:00".into()],
                        on_freeze: berth::gates::OnFreeze::Refuse,
                    }],
                },
            }],
            changed: false,
        };
        let text = render(&report);
        assert_eq!(
            text,
            format!(
                "plan (console): 1 service(s) would be deployed; nothing was changed\n\
                 prod/web: web:3 -> a new revision of web (ECS rolling)\n  \
                 container app image: web@sha256:111111111111 -> web@sha256:222222222222\n  \
                 container app digest: {OLD} -> {NEW}\n  \
                 checks: stability every 5s up to 600s; on failure rollback (900s to stabilise)\n  \
                 canary: none\n  \
                 approval: required before anything changes (waits up to 3600s)\n  \
                 image scan: refused at CRITICAL or above; no scan -> refused; a running scan waited for up to 600s\n  \
                 freeze (service web tag berth:freeze): Fri 18:00 - Mon 06:00 / daily 22:00 - 06:00 in Europe/Berlin, refuses (Frozen)\n"
            )
        );
    }

    #[test]
    fn the_plan_shows_an_analysis_and_its_compared_metrics() {
        let c: CanaryConfig = serde_json::from_value(json!({
            "analysis": {"baseline": {"source": "beforeDeploy"}},
            "metrics": [{"name": "p99", "metric": {"namespace": "AWS/ApplicationELB", "metricName": "TargetResponseTime"},
                         "compare": {"direction": "increase", "critical": true, "dryRun": true}}]
        }))
        .unwrap();
        assert_eq!(
            canary_line(&c),
            "bake 300s, evaluated every 60s over 300s, analysis against the window before the deploy \
             at confidence 0.99, pass 90 / marginal 75, metrics [p99 increase vs baseline (tolerance 10%, \
             critical, dry run)], inconclusive -> rollback"
        );
    }
}
