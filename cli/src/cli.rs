//! The command line: clap's arguments, and each command run over injected AWS clients.

use std::io::Write;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;

use berth::model::limits;

use crate::error::{sdk, CliError};
use crate::exit::Exit;
use crate::follow::{self, Verdict, Waiting};
use crate::{approval, history, locate, pause, request, revisions, status};

/// Deploy to ECS through berth's state machine, and see what runs and what was deployed.
///
/// Progress goes to stderr, results to stdout (`--output json`: one JSON document). AWS
/// credentials, region and endpoint come from the environment (AWS_PROFILE, AWS_REGION,
/// AWS_ENDPOINT_URL, ...).
#[derive(Debug, Parser)]
#[command(name = "berth", version)]
pub struct Cli {
    /// The state machine's ARN; when not given, the stack's `StateMachineArn` output.
    #[arg(long, global = true, env = "BERTH_STATE_MACHINE_ARN")]
    pub state_machine: Option<String>,
    /// The CloudFormation stack berth was installed as.
    #[arg(long, global = true, env = "BERTH_STACK", default_value = "berth")]
    pub stack: String,
    /// `text` for a person, `json` for CI (one document on stdout).
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub output: Format,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a deployment of one image to one service and follow it live.
    Deploy(Deploy),
    /// Start a release (services that ship together, in waves, all or nothing) from a request file
    /// and follow it live.
    Release(crate::release::ReleaseArgs),
    /// Follow a running (or finished) execution, by ARN or name, as `deploy` does.
    Watch(Watch),
    /// What services run: revision, images and digests, since when, their last berth deployment.
    Status(StatusArgs),
    /// The service's berth deployments, newest first.
    History(HistoryArgs),
    /// Stop a running deployment and roll it back to the recorded revision (nothing changed yet:
    /// it ends NotStarted), then follow it to its end.
    Abort(crate::control::ControlArgs),
    /// End a running canary bake now, as a pass (recorded as promoted by hand), and follow it.
    Promote(crate::control::ControlArgs),
    /// Approve a deployment waiting at its approval gate: it goes on to register and deploy.
    Approve(AnswerArgs),
    /// Reject a deployment waiting at its approval gate: it ends NotApproved, nothing changed.
    Reject(AnswerArgs),
    /// Put a service back on the revision that ran before its last deployment (or `--to` one),
    /// through the state machine, and follow it as `deploy` does.
    Rollback(crate::rollback::RollbackArgs),
    /// A dry run: what a request or an ECR push would deploy (per service the task-definition
    /// diff and the checks); changes nothing.
    Plan(crate::plan::PlanArgs),
}

#[derive(Debug, Args)]
pub struct Deploy {
    #[arg(long)]
    pub cluster: String,
    #[arg(long)]
    pub service: String,
    /// Any valid image reference; pinned by digest when it carries one.
    #[arg(long)]
    pub image: String,
    #[command(flatten)]
    pub request: request::RequestArgs,
    /// Wait for `berth approve` before anything is registered or changed (the request's
    /// `approval`); `berth reject` or no answer in time ends it NotApproved.
    #[arg(long)]
    pub approval: bool,
    /// How long the approval gate waits (default 3600); implies `--approval`.
    #[arg(long, value_name = "SECONDS", value_parser = in_range::<u64>(&limits::APPROVAL_TIMEOUT_SECONDS))]
    pub approval_timeout_seconds: Option<u64>,
    /// Deploy even inside a freeze window, saying why (the request's `overrideFreeze`, with your
    /// user as `by`): recorded in the execution's input and in the service's `freezeCheck`.
    #[arg(long, value_name = "REASON")]
    pub override_freeze: Option<String>,
    /// The image-scan gate at this threshold (the request's `scan.threshold`: CRITICAL, HIGH,
    /// MEDIUM, LOW or INFORMATIONAL); an image without a scan is refused.
    #[arg(long, value_name = "SEVERITY")]
    pub scan: Option<String>,
    /// Print the execution's ARN and return without following it.
    #[arg(long)]
    pub no_wait: bool,
    #[command(flatten)]
    pub waiting: WaitArgs,
}

/// `--refresh-seconds`: from a tenth of a second to a minute.
pub const REFRESH_SECONDS: (f64, f64) = (0.1, 60.0);
/// `--max-wait-seconds`: up to a week (the longest approval gate).
pub const MAX_WAIT_SECONDS: std::ops::RangeInclusive<u64> = 1..=604_800;
/// `history --limit`.
pub const HISTORY_LIMIT: std::ops::RangeInclusive<u64> = 1..=1_000;

/// A whole-number option within `range`, refused by clap (exit 2) before any AWS call.
pub fn in_range<T>(range: &std::ops::RangeInclusive<u64>) -> clap::builder::RangedU64ValueParser<T>
where
    T: TryFrom<u64> + Clone + Send + Sync + 'static,
    <T as TryFrom<u64>>::Error: std::error::Error + Send + Sync + 'static,
{
    clap::builder::RangedU64ValueParser::<T>::new().range(*range.start()..=*range.end())
}

/// `--reason`: SendTaskFailure takes a cause of at most 32,768 characters, and the cause reaches
/// the deployment's events, which keep 4,096 of it: a longer reason would be cut or refused after
/// the gate was found.
pub const MAX_REASON_CHARS: usize = 4_096;

/// `--reason`, at most MAX_REASON_CHARS characters.
pub fn reason(s: &str) -> Result<String, String> {
    let n = s.chars().count();
    if n > MAX_REASON_CHARS {
        return Err(format!(
            "is {n} characters long, at most {MAX_REASON_CHARS}"
        ));
    }
    Ok(s.to_owned())
}

/// `--refresh-seconds`: a finite number of seconds in REFRESH_SECONDS (not NaN, not inf).
pub fn refresh_seconds(s: &str) -> Result<f64, String> {
    let (lo, hi) = REFRESH_SECONDS;
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && (lo..=hi).contains(&v) => Ok(v),
        _ => Err(format!(
            "{s:?} is not a number of seconds from {lo} to {hi}"
        )),
    }
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Stop waiting after this long (exit 6); the execution goes on.
    #[arg(long, value_name = "SECONDS", value_parser = in_range::<u64>(&MAX_WAIT_SECONDS))]
    pub max_wait_seconds: Option<u64>,
    /// How often the CLI reads the execution.
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0, value_parser = refresh_seconds)]
    pub refresh_seconds: f64,
}

impl WaitArgs {
    fn waiting(&self) -> Waiting {
        Waiting {
            // refresh_seconds (the parser) took only a finite number in REFRESH_SECONDS
            poll: Duration::from_secs_f64(
                self.refresh_seconds
                    .clamp(REFRESH_SECONDS.0, REFRESH_SECONDS.1),
            ),
            max_wait: self.max_wait_seconds.map(Duration::from_secs),
        }
    }
}

#[derive(Debug, Args)]
pub struct Watch {
    /// The execution's ARN or its name under the state machine; with `--cluster`, a service
    /// (its current or last berth deployment).
    #[arg(value_name = "EXECUTION|SERVICE")]
    pub execution: String,
    /// Watch the current or last berth deployment of SERVICE in this cluster.
    #[arg(long)]
    pub cluster: Option<String>,
    #[command(flatten)]
    pub waiting: WaitArgs,
}

#[derive(Debug, Args)]
pub struct Target {
    pub service: String,
    #[arg(long)]
    pub cluster: String,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The services to show; none: every service of the cluster.
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
    #[arg(long)]
    pub cluster: String,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub target: Target,
    /// At most this many deployments.
    #[arg(long, default_value_t = 10, value_parser = in_range::<usize>(&HISTORY_LIMIT))]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct AnswerArgs {
    /// The execution's ARN or its name under the state machine (every gate waiting in it); with
    /// `--cluster`, a service (its gate waiting in any running execution).
    #[arg(value_name = "EXECUTION|SERVICE")]
    pub target: String,
    /// Answer the gate of SERVICE in this cluster.
    #[arg(long)]
    pub cluster: Option<String>,
    /// Why: recorded with the answer (a rejection's cause says it); at most 4096 characters.
    #[arg(long, value_parser = reason)]
    pub reason: Option<String>,
}

/// The AWS clients the commands use, built once from the environment's configuration.
pub struct Clients {
    pub sfn: aws_sdk_sfn::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub cfn: aws_sdk_cloudformation::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub ecr: aws_sdk_ecr::Client,
}

impl Clients {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            sfn: aws_sdk_sfn::Client::new(config),
            ecs: aws_sdk_ecs::Client::new(config),
            cfn: aws_sdk_cloudformation::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            ecr: aws_sdk_ecr::Client::new(config),
        }
    }
}

/// Where a command writes: results (stdout) and progress (stderr).
pub trait Console {
    fn result(&mut self, text: &str);
    fn progress(&mut self, line: &str);
}

/// The process's stdout and stderr.
pub struct Std;

impl Console for Std {
    fn result(&mut self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
    fn progress(&mut self, line: &str) {
        eprintln!("{line}");
    }
}

pub(crate) fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")) + "\n"
}

/// Run one command; the exit code it ends with.
pub async fn run(cli: &Cli, aws: &Clients, out: &mut dyn Console) -> Result<Exit, CliError> {
    // A bad request is refused before any AWS call, even the stack lookup.
    let request = match &cli.command {
        Command::Deploy(d) => Some(request::build(&deploy_options(d)?)?),
        _ => None,
    };
    let release = match &cli.command {
        Command::Release(r) => Some(crate::release::read(r)?),
        _ => None,
    };
    let sm = locate::state_machine_arn(cli.state_machine.as_deref(), &cli.stack, &aws.cfn).await?;
    match &cli.command {
        Command::Deploy(d) => {
            let input = request.unwrap_or_default();
            let started = Started {
                service: &d.service,
                no_wait: d.no_wait,
                waiting: &d.waiting,
            };
            start_and_follow(cli, aws, &sm, input, started, out).await
        }
        Command::Release(r) => {
            let (input, name) = release.unwrap_or_default();
            let started = Started {
                service: &name,
                no_wait: r.no_wait,
                waiting: &r.waiting,
            };
            start_and_follow(cli, aws, &sm, input, started, out).await
        }
        Command::Rollback(r) => {
            let input = crate::rollback::prepare(r, &aws.ecs, out).await?;
            let started = Started {
                service: &r.service,
                no_wait: r.no_wait,
                waiting: &r.waiting,
            };
            start_and_follow(cli, aws, &sm, input, started, out).await
        }
        Command::Plan(p) => crate::plan::run(p, &sm, aws, cli.output, out).await,
        Command::Watch(w) => {
            let arn = match &w.cluster {
                None => locate::execution_arn(&sm, &w.execution),
                Some(cluster) => history::history(&aws.sfn, &sm, cluster, &w.execution, 1)
                    .await?
                    .into_iter()
                    .next()
                    .map(|row| row.execution_arn)
                    .ok_or_else(|| {
                        CliError::failed(format!(
                            "no berth deployment of {cluster}/{}",
                            w.execution
                        ))
                    })?,
            };
            out.progress(&format!("watching {arn}"));
            follow_and_report(cli, aws, &arn, &w.waiting, out).await
        }
        Command::Status(t) => {
            let services = match t.services.is_empty() {
                true => status::cluster_services(&aws.ecs, &t.cluster).await?,
                false => t.services.clone(),
            };
            let mut all = Vec::new();
            for service in &services {
                let mut s = status::read(&aws.ecs, &t.cluster, service).await?;
                s.last_deployment = history::history(&aws.sfn, &sm, &t.cluster, service, 1)
                    .await?
                    .into_iter()
                    .next();
                if cli.output == Format::Text {
                    out.result(&status::render(&s));
                }
                all.push(s);
            }
            match cli.output {
                Format::Text if all.is_empty() => {
                    out.result(&format!("no services in cluster {}\n", t.cluster))
                }
                Format::Text => {}
                // One service: its document, as before; several: a list.
                Format::Json if t.services.len() == 1 => out.result(&json(&all[0])),
                Format::Json => out.result(&json(&all)),
            }
            Ok(Exit::Deployed)
        }
        Command::Approve(a) => answer(cli, aws, &sm, a, approval::Decision::Approved, out).await,
        Command::Reject(a) => answer(cli, aws, &sm, a, approval::Decision::Rejected, out).await,
        Command::Abort(c) => {
            let action = berth::control::Action::Abort;
            crate::control::run(action, c, &sm, aws, cli.output, out).await
        }
        Command::Promote(c) => {
            let action = berth::control::Action::Promote;
            crate::control::run(action, c, &sm, aws, cli.output, out).await
        }
        Command::History(h) => {
            let (cluster, service) = (&h.target.cluster, &h.target.service);
            let rows = history::history(&aws.sfn, &sm, cluster, service, h.limit).await?;
            let revisions = revisions::read(&aws.ecs, cluster, service, h.limit).await?;
            let rows = history::with_revisions(rows, &revisions, h.limit);
            out.result(&match cli.output {
                Format::Text => history::render(&rows),
                Format::Json => json(&rows),
            });
            Ok(Exit::Deployed)
        }
    }
}

/// `approve` / `reject`: find the waiting gates, answer each, print what was done. Nothing
/// waiting is exit 1 with what was looked at.
async fn answer(
    cli: &Cli,
    aws: &Clients,
    sm: &str,
    a: &AnswerArgs,
    decision: approval::Decision,
    out: &mut dyn Console,
) -> Result<Exit, CliError> {
    let (gates, looked_at) = match &a.cluster {
        None => {
            let arn = locate::execution_arn(sm, &a.target);
            (approval::waiting_in(&aws.sfn, &arn).await?, arn)
        }
        Some(cluster) => (
            approval::waiting_for(&aws.sfn, sm, cluster, &a.target).await?,
            format!("{cluster}/{}", a.target),
        ),
    };
    if gates.is_empty() {
        return answer_pause_hooks(cli, aws, a, &looked_at, decision, out).await;
    }
    let by = approval::who();
    let mut answered = Vec::new();
    for gate in &gates {
        answered.push(approval::answer(&aws.sfn, gate, decision, &by, a.reason.as_deref()).await?);
    }
    out.result(&match cli.output {
        Format::Text => approval::render(&answered),
        Format::Json => json(&answered),
    });
    Ok(Exit::Deployed)
}

/// No task-token gate waits: a native BLUE_GREEN / LINEAR / CANARY deployment of the execution's
/// services (or of SERVICE) may wait in an ECS PAUSE hook; answer it with ContinueServiceDeployment.
async fn answer_pause_hooks(
    cli: &Cli,
    aws: &Clients,
    a: &AnswerArgs,
    looked_at: &str,
    decision: approval::Decision,
    out: &mut dyn Console,
) -> Result<Exit, CliError> {
    let services = match &a.cluster {
        Some(cluster) => vec![(cluster.clone(), a.target.clone())],
        // looked_at is the execution's ARN; only a running execution's services are asked about.
        None if history::describe(&aws.sfn, looked_at).await?.status == "RUNNING" => {
            crate::control::planned(&follow::history(&aws.sfn, looked_at).await?)
                .unwrap_or_default()
                .into_iter()
                .map(|p| (p.cluster, p.service))
                .collect()
        }
        None => vec![],
    };
    let mut hooks = Vec::new();
    for (cluster, service) in &services {
        hooks.extend(pause::waiting(&aws.ecs, cluster, service).await?);
    }
    if hooks.is_empty() {
        return Err(CliError::failed(format!(
            "nothing waits for approval in {looked_at} (no running execution of it sits at its approval gate, and no ECS PAUSE hook waits)"
        )));
    }
    let by = approval::who();
    let mut answered = Vec::new();
    for hook in &hooks {
        answered.push(pause::answer(&aws.ecs, hook, decision, &by).await?);
    }
    out.result(&match cli.output {
        Format::Text => pause::render(&answered),
        Format::Json => json(&answered),
    });
    Ok(Exit::Deployed)
}

/// What a started execution is followed with.
pub struct Started<'a> {
    /// The service, for the execution's name.
    pub service: &'a str,
    pub no_wait: bool,
    pub waiting: &'a WaitArgs,
}

/// Start an execution with `input` (a checked console request) and follow it to its verdict, or
/// print its ARN (`--no-wait`).
async fn start_and_follow(
    cli: &Cli,
    aws: &Clients,
    sm: &str,
    input: serde_json::Value,
    s: Started<'_>,
    out: &mut dyn Console,
) -> Result<Exit, CliError> {
    let name = request::execution_name(s.service, berth::time::now_ms(), std::process::id());
    let started = aws
        .sfn
        .start_execution()
        .state_machine_arn(sm)
        .name(&name)
        .input(input.to_string())
        .send()
        .await
        .map_err(|e| sdk("StartExecution", e))?;
    let arn = started.execution_arn().to_owned();
    out.progress(&format!("started {arn}"));
    if s.no_wait {
        match cli.output {
            Format::Text => out.result(&format!("{arn}\n")),
            Format::Json => out.result(&json(
                &serde_json::json!({"executionArn": arn, "name": name}),
            )),
        }
        return Ok(Exit::Deployed);
    }
    follow_and_report(cli, aws, &arn, s.waiting, out).await
}

async fn follow_and_report(
    cli: &Cli,
    aws: &Clients,
    arn: &str,
    waiting: &WaitArgs,
    out: &mut dyn Console,
) -> Result<Exit, CliError> {
    let verdict: Verdict =
        follow::follow(&aws.sfn, arn, waiting.waiting(), |line| out.progress(line)).await?;
    if verdict.exit == Exit::TimedOut {
        out.progress(&format!(
            "stopped waiting after {}s; the execution goes on: berth watch {arn}",
            waiting.max_wait_seconds.unwrap_or_default()
        ));
    }
    out.result(&match cli.output {
        Format::Text => follow::render(&verdict),
        Format::Json => json(&verdict),
    });
    Ok(verdict.exit)
}

fn deploy_options(d: &Deploy) -> Result<request::DeployOptions, CliError> {
    let deploys = request::Deploys::Image(d.image.clone());
    Ok(request::DeployOptions {
        approval: (d.approval || d.approval_timeout_seconds.is_some())
            .then_some(d.approval_timeout_seconds),
        override_freeze: d.override_freeze.clone(),
        scan: d.scan.clone(),
        ..d.request.options(&d.cluster, &d.service, deploys)?
    })
}

#[cfg(test)]
mod tests;
