//! Turn a console request or an ECR push into the list of services to deploy, validating
//! everything that can be checked before any service is touched.

use aws_sdk_ecr::types::ImageIdentifier;
use aws_sdk_ecs::types::{Service, TaskDefinition, TaskDefinitionStatus};
use aws_sdk_ecs::Client;
use berth::canary;
use berth::children;
use berth::cloudwatch::require_alarms;
use berth::config::Settings;
use berth::ecr::{self, Push};
use berth::ecs::{
    describe_service, describe_task_definition, require_home, require_supported_controller,
    service_tag, service_tag_raw, services_tagged,
};
use berth::error::{Error, ErrorName, Result};
use berth::gates::{self, FreezeConfig};
use berth::image::ImageRef;
use berth::migration::MigrationConfig;
use berth::model::{
    limits, parse_input, ApprovalConfig, CanaryConfig, DeploymentItem, ExecutionRef, MetricCheck,
    Plan, PlanInput, DEFAULT_APPROVAL_TIMEOUT_SECONDS,
};
use berth::release::{self, ReleaseRef};
use berth::request::{check_console_request, check_release, Deploys, ReleaseRequest};
use berth::scan::ScanPolicy;
use berth::stop_start::StopThenStart;
use berth::taskdef::pick_container;

/// The last segment of a cluster or service given by name or ARN (`.../prod` -> `prod`).
fn short_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}
use berth::time::{self, DateTime};
use serde_json::json;

use berth::tags::keys as tags;

/// The clients Plan reads with; it changes nothing.
pub struct Aws<'a> {
    pub ecs: &'a Client,
    pub cloudwatch: &'a aws_sdk_cloudwatch::Client,
    pub ecr: &'a aws_sdk_ecr::Client,
}

pub async fn run(
    aws: &Aws<'_>,
    settings: &Settings,
    payload: serde_json::Value,
    now: DateTime,
) -> Result<Plan> {
    let input: PlanInput = parse_input("plan-deployment", payload)?;
    let plan = plan(aws, settings, &input, now).await?;
    log(&plan);
    Ok(plan)
}

/// The services the input would deploy, each checked, as the Plan state finds them; it only
/// reads (`berth plan` runs it too, with the CLI's own execution reference).
pub async fn plan(
    aws: &Aws<'_>,
    settings: &Settings,
    input: &PlanInput,
    now: DateTime,
) -> Result<Plan> {
    let plan = if ecr::is_event(&input.request) {
        plan_push(aws.ecs, settings, input, now).await?
    } else if input.request.get("release").is_some() {
        // what can be checked before ECS is read, as `berth release` checks it
        let release = check_release(&input.request)?;
        plan_release(aws, settings, input, release, now).await?
    } else {
        plan_console(aws, settings, input, now).await?
    };
    // A canary that watches a missing alarm could never fail: refuse it before any change.
    for d in &plan.deployments {
        if let Some(c) = &d.canary {
            require_alarms(aws.cloudwatch, &c.alarms)
                .await
                .map_err(|e| prefixed(&d.service, e))?;
        }
    }
    Ok(plan)
}

/// Log what was planned.
fn log(plan: &Plan) {
    match &plan.skipped {
        Some(why) => tracing::info!(source = %plan.source, "nothing to deploy: {why}"),
        None => tracing::info!(
            source = %plan.source,
            services = ?plan.deployments.iter().map(|d| format!("{}/{}", d.cluster, d.service)).collect::<Vec<_>>(),
            "planned"
        ),
    }
}

/// A release by request (`berth::request::check_release_request`): each entry is planned as a
/// request of its own would be; any entry's mistake refuses the whole release, naming the entry.
async fn plan_release(
    aws: &Aws<'_>,
    settings: &Settings,
    input: &PlanInput,
    release: ReleaseRequest,
    now: DateTime,
) -> Result<Plan> {
    let mut deployments: Vec<DeploymentItem> = Vec::with_capacity(release.services.len());
    for (i, entry) in release.services.into_iter().enumerate() {
        let at = |e: Error| Error::new(e.name(), format!("release.services[{i}]: {}", e.message()));
        let one = PlanInput {
            request: entry.request,
            execution: input.execution.clone(),
        };
        let mut plan = plan_console(aws, settings, &one, now).await.map_err(at)?;
        let mut item = plan
            .deployments
            .pop()
            .ok_or_else(|| Error::invalid_input(format!("release.services[{i}]: plans nothing")))?;
        // Each name is this account's and region's (require_home), so the short names identify
        // the service however the entry wrote them (cluster name or ARN).
        let same = |d: &DeploymentItem| {
            short_name(&d.cluster) == short_name(&item.cluster)
                && short_name(&d.service) == short_name(&item.service)
        };
        if deployments.iter().any(same) {
            return Err(Error::invalid_input(format!(
                "release.services[{i}]: {}/{} is listed twice (README, \"Release groups\")",
                item.cluster, item.service
            )));
        }
        item.release = Some(ReleaseRef {
            name: release.name.clone(),
            wave: entry.wave,
        });
        deployments.push(item);
    }
    Ok(Plan {
        source: "console".into(),
        deployments,
        skipped: None,
        releases: Some(vec![release.name]),
    })
}

async fn plan_console(
    aws: &Aws<'_>,
    settings: &Settings,
    input: &PlanInput,
    now: DateTime,
) -> Result<Plan> {
    let ecs = aws.ecs;
    let (req, deploys) = check_console_request(
        &input.request,
        ". Expected {\"cluster\", \"service\", \"image\" or \"taskDefinition\", optional \"container\", \"forceNewDeployment\", \"timeoutSeconds\", \"pollIntervalSeconds\", \"rollbackTimeoutSeconds\", \"canary\", \"approval\", \"migration\", \"stopThenStart\", \"scan\", \"overrideFreeze\"} or an ECR Image Action event (README, \"Starting a deployment by hand\")",
    )?;
    // The service, its controller and its container must exist before anything is registered.
    let service = describe_service(ecs, &req.cluster, &req.service).await?;
    require_supported_controller(&service)?;
    require_home("cluster", &req.cluster, &service)?;
    require_home("service", &req.service, &service)?;
    check_tags(&service)?;
    let td = service.task_definition().unwrap_or_default();
    let (td, _) = describe_task_definition(ecs, td).await?;
    let (task_definition, image, repository) = match &deploys {
        Deploys::Image(image) => {
            pick_container(&td, req.container.as_deref())?;
            require_image(aws.ecr, &service, image).await?;
            let repository = image.repository().to_owned();
            (None, req.image.clone().unwrap_or_default(), repository)
        }
        Deploys::Revision(revision) => {
            require_home("taskDefinition", revision, &service)?;
            let (arn, image) =
                resolve_revision(ecs, &req.service, &td, revision, req.container.as_deref())
                    .await?;
            // The one-deployment-per-service rule and the summary read the item's repository.
            let repository = ImageRef::parse(&image)
                .map(|i| i.repository().to_owned())
                .unwrap_or_else(|_| image.clone());
            (Some(arn), image, repository)
        }
    };

    if let Some(m) = &req.migration {
        check_migration(ecs, &service, &td, req.container.as_deref(), m).await?;
    }

    // The release gates: the request's scan policy, else the service's tags; the freeze
    // calendars of the service and the installation. A rollback by hand goes back to a revision
    // that ran, so only a scan the request asks for holds it up.
    let (scan, freeze) = match &deploys {
        Deploys::Image(_) => {
            let (tagged, freeze) = gates_of(settings, &service)?;
            (req.scan.clone().or(tagged), freeze)
        }
        Deploys::Revision(_) => (req.scan.clone(), vec![]),
    };
    let timeout = req.timeout_seconds.unwrap_or(settings.timeout_seconds);
    Ok(Plan {
        source: if task_definition.is_some() {
            "rollback"
        } else {
            "console"
        }
        .into(),
        deployments: vec![DeploymentItem {
            execution_name: children::execution_name(
                &deployment_id(&input.execution, &req.cluster, &req.service),
                &req.service,
            ),
            fallback_poll_seconds: settings.fallback_poll_seconds,
            deployment_id: deployment_id(&input.execution, &req.cluster, &req.service),
            cluster: req.cluster.clone(),
            service: req.service.clone(),
            container: req.container.clone(),
            image,
            repository,
            task_definition,
            force_new_deployment: req.force_new_deployment,
            timeout_seconds: timeout,
            poll_interval_seconds: req
                .poll_interval_seconds
                .unwrap_or(settings.poll_interval_seconds),
            rollback_timeout_seconds: req
                .rollback_timeout_seconds
                .unwrap_or(settings.rollback_timeout_seconds),
            canary: req.canary.clone(),
            approval: req.approval,
            migration: req.migration.clone(),
            stop_then_start: req.stop_then_start,
            release: None,
            scan,
            freeze,
            override_freeze: req.override_freeze.clone(),
            execution: input.execution.clone(),
            turn_deadline: time::format(time::plus_secs(now, timeout)),
        }],
        skipped: None,
        releases: None,
    })
}

async fn plan_push(
    ecs: &Client,
    settings: &Settings,
    input: &PlanInput,
    now: DateTime,
) -> Result<Plan> {
    let push = match ecr::classify(&input.request)? {
        Ok(push) => push,
        Err(reason) => {
            return Ok(Plan {
                source: "ecr-push".into(),
                deployments: vec![],
                skipped: Some(reason),
                releases: None,
            })
        }
    };
    let mapped = mapped_services(ecs, settings, &push.repository).await?;
    if mapped.is_empty() {
        let searched = if settings.clusters.is_empty() {
            "every cluster".to_string()
        } else {
            settings.clusters.join(", ")
        };
        return Ok(Plan {
            source: "ecr-push".into(),
            deployments: vec![],
            skipped: Some(format!(
                "no ACTIVE service in {searched} is tagged {}={}",
                tags::REPOSITORY,
                push.repository
            )),
            releases: None,
        });
    }
    let mut deployments = Vec::with_capacity(mapped.len());
    for (cluster, service) in mapped {
        let item = item_for_push(settings, &input.execution, &push, &cluster, &service, now)?;
        // The containers the tags name, in the task definition the new revision copies (read only
        // for a service whose tags name one: a push may deploy hundreds).
        if item.migration.is_some() || item.container.is_some() {
            let td = service.task_definition().unwrap_or_default();
            let (td, _) = describe_task_definition(ecs, td).await?;
            let at = |e: Error| prefixed(&item.service, e);
            pick_container(&td, item.container.as_deref()).map_err(at)?;
            if let Some(m) = &item.migration {
                check_migration(ecs, &service, &td, item.container.as_deref(), m)
                    .await
                    .map_err(at)?;
            }
        }
        deployments.push(item);
    }
    let mut releases: Vec<String> = deployments
        .iter()
        .filter_map(|d| d.release.as_ref().map(|r| r.name.clone()))
        .collect();
    releases.sort();
    releases.dedup();
    Ok(Plan {
        source: "ecr-push".into(),
        deployments,
        skipped: None,
        releases: (!releases.is_empty()).then_some(releases),
    })
}

/// Every `berth:*` tag of the service against the table (`berth::tags`), before any is read.
fn check_tags(service: &Service) -> Result<()> {
    berth::tags::check_service(
        service.service_name().unwrap_or("?"),
        service
            .tags()
            .iter()
            .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
    )
}

fn tag<'a>(service: &'a Service, key: &str) -> Option<&'a str> {
    service_tag(service, key)
}

fn tag_number<T: std::str::FromStr>(service: &Service, key: &str) -> Result<Option<T>> {
    tag(service, key)
        .map(|v| {
            v.parse::<T>().map_err(|_| {
                Error::invalid_input(format!(
                    "service {} tag {key}={v:?} is not a number",
                    service.service_name().unwrap_or("?")
                ))
            })
        })
        .transpose()
}

fn item_for_push(
    settings: &Settings,
    execution: &ExecutionRef,
    push: &Push,
    cluster: &str,
    service: &Service,
    now: DateTime,
) -> Result<DeploymentItem> {
    let name = service.service_name().unwrap_or_default();
    check_tags(service)?;
    let timeout = match tag_number::<u64>(service, tags::TIMEOUT_SECONDS)? {
        Some(t) => {
            limits::check(
                &format!("service {name} tag {}", tags::TIMEOUT_SECONDS),
                t,
                &limits::TIMEOUT_SECONDS,
            )?;
            t
        }
        None => settings.timeout_seconds,
    };
    let (scan, freeze) = gates_of(settings, service)?;
    Ok(DeploymentItem {
        execution_name: children::execution_name(&deployment_id(execution, cluster, name), name),
        fallback_poll_seconds: settings.fallback_poll_seconds,
        deployment_id: deployment_id(execution, cluster, name),
        cluster: cluster.to_owned(),
        service: name.to_owned(),
        container: tag(service, tags::CONTAINER).map(str::to_owned),
        image: push.image(),
        repository: push.repository.clone(),
        task_definition: None,
        force_new_deployment: false,
        timeout_seconds: timeout,
        poll_interval_seconds: settings.poll_interval_seconds,
        rollback_timeout_seconds: settings.rollback_timeout_seconds,
        canary: canary_from_tags(service, settings.canary_interval_seconds)?,
        approval: approval_from_tag(service)?,
        migration: MigrationConfig::from_tags(name, |k| tag(service, k))?,
        release: ReleaseRef::from_tags(
            name,
            tag(service, release::tags::NAME),
            service_tag_raw(service, release::tags::WAVE),
        )?,
        stop_then_start: StopThenStart::from_tag(
            name,
            service_tag_raw(service, berth::stop_start::TAG),
        )?,
        scan,
        freeze,
        override_freeze: None,
        execution: execution.clone(),
        turn_deadline: time::format(time::plus_secs(now, timeout)),
    })
}

/// The release gates of a service: its scan policy (`berth:scan…` tags) and the freeze calendars
/// that hold it (its `berth:freeze…` tags, then the installation's), each checked: a typo is
/// `InvalidInput` here, before anything changes, never a gate silently off.
pub fn gates_of(
    settings: &Settings,
    service: &Service,
) -> Result<(Option<ScanPolicy>, Vec<FreezeConfig>)> {
    let name = service.service_name().unwrap_or("?");
    // An empty value is kept (and refused): a gate tag set to nothing is a mistake, not "off".
    let raw = |key: &str| service_tag_raw(service, key);
    let scan = gates::scan_from_tags(name, raw)?;
    let mut freeze: Vec<FreezeConfig> = gates::freeze_from_tags(name, raw)?.into_iter().collect();
    freeze.extend(settings.installation_freeze()?);
    Ok((scan, freeze))
}

/// A service opts into the approval gate with `berth:approval`: `required` (the default timeout)
/// or the gate's timeout in seconds. Anything else, even an empty value, is refused: a typo must
/// not deploy without the approval it asked for.
pub fn approval_from_tag(service: &Service) -> Result<Option<ApprovalConfig>> {
    let Some(raw) = service_tag_raw(service, tags::APPROVAL) else {
        return Ok(None);
    };
    let name = service.service_name().unwrap_or("?");
    let range = &limits::APPROVAL_TIMEOUT_SECONDS;
    let timeout_seconds = match raw {
        "required" => DEFAULT_APPROVAL_TIMEOUT_SECONDS,
        _ => match raw.parse::<u64>() {
            Ok(t) => {
                limits::check(&format!("service {name} tag {}", tags::APPROVAL), t, range)?;
                t
            }
            Err(_) => {
                return Err(Error::invalid_input(format!(
                    "service {name} tag {}={raw:?} is neither \"required\" nor a number of seconds ({} to {})",
                    tags::APPROVAL,
                    range.start(),
                    range.end()
                )))
            }
        },
    };
    Ok(Some(ApprovalConfig { timeout_seconds }))
}

/// A real ALB writes no HTTPCode_Target_5XX_Count datapoint for a minute without errors, so the
/// rate fills missing error counts with 0; a minute without requests stays empty (no traffic is
/// INCONCLUSIVE, never PASS).
///
/// A service opts into a canary bake with `berth:bake-seconds`; alarms come from `berth:alarms`,
/// and `berth:load-balancer` (the `app/NAME/ID` suffix of its ALB) adds the target group's 5xx
/// rate and p99 latency checks: against thresholds, or with `berth:canary-analysis=statistical`
/// against the same target group's window before the deploy (the old revision is gone in a
/// rolling deployment). Any other value of that tag is refused.
pub fn canary_from_tags(service: &Service, interval_seconds: u64) -> Result<Option<CanaryConfig>> {
    let Some(bake) = tag_number::<u64>(service, tags::BAKE_SECONDS)? else {
        return Ok(None);
    };
    let name = service.service_name().unwrap_or("?");
    let statistical = match tag(service, tags::CANARY_ANALYSIS).map(str::trim) {
        None | Some("thresholds") => false,
        Some("statistical") => true,
        Some(other) => {
            return Err(Error::invalid_input(format!(
                "service {name} tag {}={other:?} is neither \"statistical\" nor \"thresholds\"",
                tags::CANARY_ANALYSIS
            )))
        }
    };
    if statistical {
        if tag(service, tags::LOAD_BALANCER).is_none() {
            return Err(Error::invalid_input(format!(
                "service {name} sets {}=statistical but no {}: there is no metric to compare",
                tags::CANARY_ANALYSIS,
                tags::LOAD_BALANCER
            )));
        }
        for threshold_tag in [tags::MAX_5XX_PERCENT, tags::MAX_P99_SECONDS] {
            if tag(service, threshold_tag).is_some() {
                return Err(Error::invalid_input(format!(
                    "service {name} sets {threshold_tag}, a threshold, and {}=statistical, which compares with the old revision instead: remove one",
                    tags::CANARY_ANALYSIS
                )));
            }
        }
    }
    let alarms: Vec<String> = tag(service, tags::ALARMS)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let mut metrics: Vec<MetricCheck> = vec![];
    if let Some(lb) = tag(service, tags::LOAD_BALANCER) {
        let target_group = service
            .load_balancers()
            .iter()
            .find_map(|l| l.target_group_arn())
            .and_then(|arn| {
                arn.rsplit_once(":targetgroup/")
                    .map(|(_, rest)| format!("targetgroup/{rest}"))
            });
        let Some(tg) = target_group else {
            return Err(Error::invalid_input(format!(
                "service {} has {} but no target group",
                service.service_name().unwrap_or("?"),
                tags::LOAD_BALANCER
            )));
        };
        let max_5xx = tag_number::<f64>(service, tags::MAX_5XX_PERCENT)?.unwrap_or(1.0);
        let max_p99 = tag_number::<f64>(service, tags::MAX_P99_SECONDS)?.unwrap_or(1.0);
        let dims = json!({"TargetGroup": tg, "LoadBalancer": lb});
        let spec = |name: &str, stat: &str| json!({"namespace": "AWS/ApplicationELB", "metricName": name, "dimensions": dims, "stat": stat});
        // Measured by scripts/bench-canary (README, "Statistical canary analysis"): the 5xx rate
        // critical with a 0.5-point floor, the p99 with a 20 % tolerance.
        let (rate_judge, p99_judge) = if statistical {
            (
                json!({"compare": {"direction": "increase", "critical": true, "minShift": 0.5}}),
                json!({"compare": {"direction": "increase", "tolerance": 0.2}}),
            )
        } else {
            (json!({"threshold": max_5xx}), json!({"threshold": max_p99}))
        };
        let mut rate = json!({"name": "target 5xx rate %", "expression": "100 * FILL(errors, 0) / requests",
             "metrics": {"errors": spec("HTTPCode_Target_5XX_Count", "Sum"), "requests": spec("RequestCount", "Sum")}});
        let mut p99 =
            json!({"name": "target p99 latency s", "metric": spec("TargetResponseTime", "p99")});
        for (m, judge) in [(&mut rate, rate_judge), (&mut p99, p99_judge)] {
            if let (Some(m), serde_json::Value::Object(j)) = (m.as_object_mut(), judge) {
                m.extend(j);
            }
        }
        metrics = serde_json::from_value(json!([rate, p99]))
            .map_err(|e| Error::invalid_input(format!("canary from tags: {e}")))?;
    }
    let mut doc = json!({"bakeSeconds": bake, "intervalSeconds": interval_seconds, "metrics": metrics, "alarms": alarms});
    if statistical {
        doc["windowSeconds"] = json!(600);
        doc["analysis"] = json!({"baseline": {"source": "beforeDeploy"}});
    }
    let config: CanaryConfig = serde_json::from_value(doc)
        .map_err(|e| Error::invalid_input(format!("canary from tags: {e}")))?;
    canary::validate(&config).map_err(|e| {
        Error::invalid_input(format!(
            "service {} sets {} but no check: add {} or {} ({})",
            service.service_name().unwrap_or("?"),
            tags::BAKE_SECONDS,
            tags::ALARMS,
            tags::LOAD_BALANCER,
            e.message()
        ))
    })?;
    Ok(Some(config))
}

/// A rollback by hand: the revision must exist, be ACTIVE (ECS deploys no other) and be of the
/// family the service runs; the item's image is its container's. Its ARN and that image.
async fn resolve_revision(
    ecs: &Client,
    service: &str,
    current: &TaskDefinition,
    revision: &str,
    container: Option<&str>,
) -> Result<(String, String)> {
    let (td, _) = describe_task_definition(ecs, revision).await.map_err(|e| {
        Error::new(
            e.name(),
            format!("taskDefinition {revision}: {}", e.message()),
        )
    })?;
    let family = current.family().unwrap_or_default();
    if td.family() != Some(family) {
        return Err(Error::invalid_input(format!(
            "taskDefinition {revision} is a revision of {}, but service {service} runs {family}: a rollback stays within the service's family",
            td.family().unwrap_or("?")
        )));
    }
    if td.status() != Some(&TaskDefinitionStatus::Active) {
        return Err(Error::new(
            ErrorName::TaskDefinitionNotFound,
            format!(
                "taskDefinition {revision} is {}: ECS deploys only ACTIVE revisions",
                td.status().map(|s| s.as_str()).unwrap_or("of no status")
            ),
        ));
    }
    let image = pick_container(&td, container)?
        .image()
        .unwrap_or_default()
        .to_owned();
    let arn = td.task_definition_arn().unwrap_or(revision).to_owned();
    Ok((arn, image))
}

/// A migration's references, resolved before anything is registered: its task definition (ACTIVE)
/// or the service's (`current`, which the new revision copies), the container whose command it
/// replaces, and RunTask's overrides within ECS's size.
async fn check_migration(
    ecs: &Client,
    service: &Service,
    current: &TaskDefinition,
    deployed: Option<&str>,
    migration: &MigrationConfig,
) -> Result<()> {
    let at = |e: Error| Error::new(e.name(), format!("migration: {}", e.message()));
    let own = match &migration.task_definition {
        Some(t) => {
            require_home("migration.taskDefinition", t, service)?;
            let (td, _) = describe_task_definition(ecs, t).await.map_err(|e| {
                Error::new(
                    e.name(),
                    format!("migration.taskDefinition {t}: {}", e.message()),
                )
            })?;
            if td.status() != Some(&TaskDefinitionStatus::Active) {
                return Err(Error::new(
                    ErrorName::TaskDefinitionNotFound,
                    format!("migration.taskDefinition {t} is not ACTIVE: ECS runs only ACTIVE revisions"),
                ));
            }
            Some(td)
        }
        None => None,
    };
    let td = own.as_ref().unwrap_or(current);
    let container = migration.container_in(td, deployed).map_err(at)?;
    migration
        .overrides(container.name().unwrap_or_default())
        .map(|_| ())
}

/// An image of the service's own account's and region's ECR must be there, by digest or tag, or
/// ECS would fail to pull it after the service moved. An image of any other registry cannot be
/// read with this installation's role, and is left to ECS.
async fn require_image(
    ecr: &aws_sdk_ecr::Client,
    service: &Service,
    image: &ImageRef,
) -> Result<()> {
    let Some((region, account)) = service.service_arn().and_then(berth::ecs::arn_home) else {
        return Ok(());
    };
    let registry = format!("{account}.dkr.ecr.{region}.amazonaws.com/");
    let Some(repository) = image.name.strip_prefix(&registry) else {
        return Ok(());
    };
    let id = match (&image.digest, &image.tag) {
        (Some(d), _) => ImageIdentifier::builder().image_digest(d).build(),
        (None, t) => ImageIdentifier::builder()
            .image_tag(t.as_deref().unwrap_or("latest"))
            .build(),
    };
    let read = ecr
        .describe_images()
        .repository_name(repository)
        .image_ids(id)
        .send()
        .await;
    match read {
        Ok(_) => Ok(()),
        Err(e) => match e.as_service_error() {
            Some(s) if s.is_image_not_found_exception() || s.is_repository_not_found_exception() => {
                Err(Error::new(
                    ErrorName::InvalidImage,
                    format!("image {image} is not in ECR (repository {repository} of {registry}): push it first"),
                ))
            }
            _ => Err(Error::from_sdk(&format!("DescribeImages {repository}"), e)),
        },
    }
}

fn prefixed(service: &str, e: Error) -> Error {
    Error::new(e.name(), format!("service {service}: {}", e.message()))
}

/// berth's id for one service's deployment in one execution: stable across retries, and a valid
/// ECS tag value (at most 256 characters).
fn deployment_id(execution: &ExecutionRef, cluster: &str, service: &str) -> String {
    let short = |s: &str| s.rsplit('/').next().unwrap_or(s).to_owned();
    let id = format!("{}/{}/{}", execution.name(), short(cluster), short(service));
    id.chars().take(256).collect()
}

/// Every ACTIVE service tagged with the repository (`berth::ecs::services_tagged`).
async fn mapped_services(
    ecs: &Client,
    settings: &Settings,
    repository: &str,
) -> Result<Vec<(String, Service)>> {
    let tagged = services_tagged(ecs, &settings.clusters, tags::REPOSITORY).await?;
    Ok(tagged
        .into_iter()
        .filter(|(_, s)| tag(s, tags::REPOSITORY) == Some(repository))
        .collect())
}

#[cfg(test)]
mod tests;
