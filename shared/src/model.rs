//! The JSON documents the states read and write: one schema for the ASL, the console and the Rust.
//!
//! The per-service document starts as a [`DeployRequest`]; each state adds its result under its own
//! key (`register`, `update`, `stability`, `canaryResult`, `rollback`) through the ASL's
//! `ResultPath`, so a failed execution shows everything that happened in one place.
//! Handlers read only the fields they need; unknown fields are ignored on purpose.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Tag put on every task-definition revision berth registers: the deployment that registered it.
pub const TAG_DEPLOYMENT_ID: &str = "berth:deployment-id";
/// Tag naming the task definition that ran before, so a revision explains its own rollback target.
pub const TAG_PREVIOUS: &str = "berth:previous-task-definition";
/// Tag put on a digest-pinned copy of the previous revision registered by a rollback.
pub const TAG_ROLLBACK_OF: &str = "berth:rollback-of";

/// What `register-revision` needs: one image for one container of one service.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RegisterInput {
    /// berth's id for this deployment of this service; the idempotency key of every state.
    pub deployment_id: String,
    pub cluster: String,
    pub service: String,
    /// Optional when the task definition has exactly one container.
    #[serde(default)]
    pub container: Option<String>,
    pub image: String,
    /// An existing revision to deploy as it is (a rollback by hand): nothing is registered.
    #[serde(default)]
    pub task_definition: Option<String>,
}

/// A container image as it ran: what the task definition said and the digest the tasks pulled.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RunningImage {
    pub container: String,
    pub image: String,
    /// Digest reported by the running tasks (`containers[].imageDigest`), if any task ran.
    #[serde(default)]
    pub digest: Option<String>,
}

/// `register-revision`'s result, under `register`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    /// The revision berth registered (or found, on a retry) for this deployment.
    pub task_definition_arn: String,
    /// The exact task definition the service ran before berth touched it: the rollback target.
    pub previous_task_definition_arn: String,
    pub container: String,
    /// The image the new revision runs, pinned by digest when one is known.
    pub image: String,
    /// Every container of the previous revision with the digest its tasks were running.
    pub previous_images: Vec<RunningImage>,
    /// True when a retry found the revision registered earlier instead of registering another.
    pub reused: bool,
    /// True when the request named an existing revision (a rollback by hand): nothing was
    /// registered, `taskDefinitionArn` is that revision.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub existing: bool,
}

/// What `update-service` needs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UpdateInput {
    pub deployment_id: String,
    pub cluster: String,
    pub service: String,
    pub register: RegistrationRef,
    /// Start new tasks even if the task definition is unchanged (a re-pushed mutable tag).
    #[serde(default)]
    pub force_new_deployment: bool,
    /// How long the rollout may take, in seconds (default 1800).
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    /// The execution, whose `berth:control` abort refuses the update (`Aborted`).
    #[serde(default)]
    pub execution: Option<ExecutionRef>,
    /// How the rollout is watched ([`crate::watch::plan`]): the poll interval, the fallback poll,
    /// and whether a canary judges traffic shifts (only its presence is read here).
    #[serde(default)]
    pub poll_interval_seconds: Option<u64>,
    #[serde(default)]
    pub fallback_poll_seconds: Option<u64>,
    #[serde(default)]
    pub canary: Option<serde_json::Value>,
    /// Stop-then-start: the old tasks have stopped; the new revision starts at the recorded
    /// desired count.
    #[serde(default)]
    pub stopping: Option<crate::stop_start::Stopping>,
}

impl UpdateInput {
    /// How this rollout is watched, for the controller and strategy that run it.
    pub fn watch(&self, code_deploy: bool, native_strategy: bool) -> Watch {
        crate::watch::plan(
            code_deploy,
            native_strategy,
            self.canary.is_some(),
            self.poll_interval_seconds
                .unwrap_or(DEFAULT_POLL_INTERVAL_SECONDS),
            self.fallback_poll_seconds
                .unwrap_or(DEFAULT_FALLBACK_POLL_SECONDS),
        )
    }
}

/// The part of [`Registration`] later states need.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationRef {
    pub task_definition_arn: String,
}

/// An ECS deployment berth started (`update`, or `rollback`'s own): what `check-stability` watches.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Rollout {
    /// The ECS deployment id (`ecs-svc/…`).
    pub ecs_deployment_id: String,
    pub task_definition_arn: String,
    /// RFC 3339; events and stopped tasks before this belong to earlier deployments.
    pub started_at: String,
    /// RFC 3339; past it, the rollout is FAILED with reason `Timeout`.
    pub deadline: String,
    pub desired_count: i32,
    /// Set when the service uses the CODE_DEPLOY controller: the blue/green deployment berth
    /// created (then `ecsDeploymentId` holds the CodeDeploy deployment id, `d-…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_deploy: Option<CodeDeployRollout>,
    /// The service deployment ECS started for this rollout (`service.currentServiceDeployment`,
    /// `arn:aws:ecs:…:service-deployment/…`): check-stability reads ECS's own verdict from it.
    /// Absent where ECS (or a stand-in) names none; berth then judges from DescribeServices alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_deployment_arn: Option<String>,
    /// Set on the rollback of a native BLUE_GREEN / LINEAR / CANARY deployment, which is ECS's own
    /// rollback of `serviceDeploymentArn`: who asked for it (`StopServiceDeployment`, berth's
    /// rollback; `ECS`, its own). check-stability then waits for ROLLBACK_SUCCESSFUL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back_by: Option<String>,
    /// How the state machine waits for this rollout (`WatchRollout`, `WatchRollback`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<Watch>,
}

/// How the state machine waits for a rollout: the check runs at once with the state's task token
/// and answers only when there is something to decide; until then the state waits for ECS's
/// deployment events (wake-rollout runs the same check) or, at most, `seconds`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Watch {
    /// The longest wait before the check runs again: the slow fallback poll where ECS sends
    /// deployment events, the poll interval where berth must look itself (CodeDeploy, traffic
    /// shifts a canary judges).
    pub seconds: u64,
    /// A shift of production traffic to the new revision is something to decide (a canary judges
    /// it), not only the end of the rollout.
    #[serde(default)]
    pub judge_shift: bool,
}

/// A CodeDeploy blue/green deployment berth created or stopped.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CodeDeployRollout {
    pub application: String,
    pub deployment_group: String,
    /// Empty when nothing was created (a rollback before any deployment started).
    pub deployment_id: String,
    /// True for a rollback: the deployment was stopped (or failed) and CodeDeploy's own rollback
    /// deployment is what completes it.
    #[serde(default)]
    pub rollback: bool,
}

/// What `check-stability` needs: built by the ASL from `update` or `rollback`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StabilityInput {
    pub cluster: String,
    pub service: String,
    pub rollout: Rollout,
    /// Given by WatchRollout, never by WatchRollback: the execution whose `berth:control` abort
    /// fails the rollout. A rollback obeys no control.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<ExecutionRef>,
    /// Given by the watch states (`lambda:invoke.waitForTaskToken`): the check answers the waiting
    /// state itself, and only with a result worth deciding on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_token: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StabilityStatus {
    InProgress,
    Completed,
    Failed,
}

/// Why a rollout failed: stable codes for the ASL's Choice and for the execution's cause.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum FailureReason {
    /// ECS marked the deployment FAILED (circuit breaker or the deployment itself).
    DeploymentFailed,
    /// ECS rolled back on its own: the service is stable, but on another revision.
    RolledBack,
    /// Another deployment replaced berth's before it completed.
    Superseded,
    /// Tasks start and then fail load-balancer or container health checks.
    HealthChecksFailing,
    /// Tasks keep failing to start and no circuit breaker stops it.
    TasksFailing,
    /// The deadline passed before the rollout completed.
    Timeout,
    /// A CodeDeploy lifecycle hook reported Failed (or never reported).
    HookFailed,
    /// The CodeDeploy deployment, or ECS's service deployment, was stopped by someone other than
    /// berth (or by ECS, when a failure detector tripped without rollback configured).
    Stopped,
    /// Aborted by hand (`berth abort`): berth rolls back.
    Aborted,
}

/// `check-stability`'s result: the verdict and the evidence behind it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Stability {
    pub status: StabilityStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<FailureReason>,
    /// One sentence a person can act on.
    pub detail: String,
    pub ecs_deployment_id: String,
    pub task_definition_arn: String,
    /// The task definition the service's PRIMARY deployment runs now.
    pub primary_task_definition_arn: Option<String>,
    pub rollout_state: Option<String>,
    pub rollout_state_reason: Option<String>,
    pub desired_count: i32,
    pub running_count: i32,
    pub pending_count: i32,
    pub failed_tasks: i32,
    /// Tasks of this rollout stopped for failing health checks (the circuit breaker misses these).
    pub unhealthy_tasks: i32,
    /// The newest service events since the rollout started, newest first (for CodeDeploy: its
    /// lifecycle events and their status, in order).
    pub events: Vec<String>,
    pub checked_at: String,
    /// CodeDeploy only: the percentage of production traffic the green task set receives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub green_traffic_weight: Option<f64>,
    /// ECS's own view of the rollout (DescribeServiceDeployments), when the rollout names its
    /// service deployment and ECS answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_deployment: Option<ServiceDeploymentState>,
}

/// What ECS said of a service deployment in one poll.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDeploymentState {
    pub arn: String,
    /// PENDING, IN_PROGRESS, SUCCESSFUL, STOP_REQUESTED, STOPPED, ROLLBACK_REQUESTED,
    /// ROLLBACK_IN_PROGRESS, ROLLBACK_SUCCESSFUL or ROLLBACK_FAILED.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// The service revision ECS rolls back to (or restored), when it rolls back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_revision_arn: Option<String>,
    /// ECS's native strategy (BLUE_GREEN, LINEAR or CANARY) and the rest of this block: the
    /// lifecycle stage and the new revision's traffic weights (berth::strategy). Absent for
    /// rolling deployments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_stage: Option<String>,
    /// The new revision's share of production traffic, %.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production_traffic_weight: Option<f64>,
    /// The new revision's share of test traffic, %.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_traffic_weight: Option<f64>,
    /// A PAUSE lifecycle hook waiting for ContinueServiceDeployment (`berth approve` / `reject`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awaiting_hook_id: Option<String>,
    /// When that hook times out (and ECS takes its timeout action, ROLLBACK by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_expires_at: Option<String>,
}

/// What `evaluate-canary` needs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CanaryInput {
    pub canary: CanaryConfig,
    /// The previous evaluation, carried by the ASL so the bake window survives the loop.
    #[serde(default)]
    pub canary_result: Option<CanaryResult>,
    /// The service and the execution, whose `berth:control` (abort, promote) the bake obeys; all
    /// three are in the per-service document.
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub execution: Option<ExecutionRef>,
    /// The rollout (`update`, in the per-service document): its `startedAt` ends the window of a
    /// `beforeDeploy` baseline and starts the canary's samples.
    #[serde(default)]
    pub update: Option<Rollout>,
}

/// The canary analysis for one service: metrics and alarms watched while the new revision bakes.
///
/// At least one entry in `metrics` or `alarms`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("anyOf" = [
        {"required": ["metrics"], "properties": {"metrics": {"minItems": 1}}},
        {"required": ["alarms"], "properties": {"alarms": {"minItems": 1}}},
    ], "allOf" = [
        {
            "if": {"required": ["metrics"], "properties": {"metrics": {"contains": {"required": ["compare"]}}}},
            "then": {"required": ["analysis"]},
        },
        {
            "if": {"required": ["analysis"]},
            "then": {"required": ["metrics"], "properties": {"metrics": {"contains": {"required": ["compare"]}}}},
        },
    ]))
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CanaryConfig {
    /// How long the new revision must stay healthy before berth calls the deploy good (0 = one
    /// evaluation).
    #[serde(default = "defaults::bake_seconds")]
    #[cfg_attr(
        feature = "schema",
        schemars(range(min = *limits::BAKE_SECONDS.start(), max = *limits::BAKE_SECONDS.end()))
    )]
    pub bake_seconds: u64,
    /// Seconds between two evaluations.
    #[serde(default = "defaults::interval_seconds")]
    #[cfg_attr(
        feature = "schema",
        schemars(range(
            min = *limits::INTERVAL_SECONDS.start(),
            max = *limits::INTERVAL_SECONDS.end()
        ))
    )]
    pub interval_seconds: u64,
    /// How far back each evaluation reads metrics; at least each metric's `period`.
    #[serde(default = "defaults::window_seconds")]
    #[cfg_attr(
        feature = "schema",
        schemars(range(min = *limits::WINDOW_SECONDS.start(), max = *limits::WINDOW_SECONDS.end()))
    )]
    pub window_seconds: u64,
    /// What an INCONCLUSIVE verdict means once the bake is over. No data is not a pass.
    #[serde(default)]
    pub on_inconclusive: OnInconclusive,
    /// The statistical comparison of the new revision with the old (metrics with `compare`):
    /// where the baseline's samples come from, the confidence and the score thresholds. Required
    /// when a metric has `compare`, refused when none has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Analysis>,
    /// Metrics, or metric-math expressions, each compared with a threshold or (`compare`) with the
    /// baseline.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(max = limits::METRICS)))]
    pub metrics: Vec<MetricCheck>,
    /// CloudWatch alarm names, each of which must exist: ALARM fails the canary,
    /// INSUFFICIENT_DATA is inconclusive.
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(
            length(max = limits::ALARMS),
            inner(length(min = 1, max = limits::NAME_CHARS), pattern(NOT_BLANK))
        )
    )]
    pub alarms: Vec<String>,
}

/// A string that is not only white space: berth trims before it checks emptiness (Rust's
/// `trim`; JSON Schema's `\S`, as Python's `re` and ECMA-262 read it, is the same class but for a
/// few control and format characters no one types).
#[cfg(feature = "schema")]
pub(crate) const NOT_BLANK: &str = r"\S";

/// CloudWatch dimensions (name to value) in the schema, for a metric's and a baseline's: at most
/// `limits::DIMENSIONS`, names and values neither blank nor longer than CloudWatch takes.
#[cfg(feature = "schema")]
fn dimensions_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "maxProperties": limits::DIMENSIONS,
        "propertyNames": {"minLength": 1, "maxLength": limits::NAME_CHARS, "pattern": NOT_BLANK},
        "additionalProperties": {
            "type": "string",
            "minLength": 1,
            "maxLength": limits::DIMENSION_VALUE_CHARS,
            "pattern": NOT_BLANK,
        },
    })
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum OnInconclusive {
    #[default]
    Rollback,
    Promote,
}

/// The canary's statistical analysis: each metric with `compare` is sampled on the canary and on
/// the baseline over the same window and period, tested (Mann-Whitney U in the direction that is
/// bad for it, Hodges-Lehmann shift against a tolerance) and classified PASS, HIGH, LOW or NODATA;
/// the weighted share of passing metrics is the score.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Analysis {
    pub baseline: Baseline,
    /// A difference counts when its one-sided (two-sided for `either`) p-value is below
    /// 1 - confidence. Between 0.5 and 0.9999; default 0.99.
    #[serde(default = "defaults::confidence")]
    #[cfg_attr(feature = "schema", schemars(range(min = 0.5, max = 0.9999)))]
    pub confidence: f64,
    /// A score (0-100) at or above this is a PASS. Default 90.
    #[serde(default = "defaults::pass_score")]
    #[cfg_attr(feature = "schema", schemars(range(min = 0, max = 100)))]
    pub pass_score: f64,
    /// A score below this FAILs the canary at once; between the two it is MARGINAL: keep baking,
    /// and at the end of the bake INCONCLUSIVE (`onInconclusive`). Default 75, at most `passScore`.
    #[serde(default = "defaults::marginal_score")]
    #[cfg_attr(feature = "schema", schemars(range(min = 0, max = 100)))]
    pub marginal_score: f64,
}

/// Where the baseline's samples come from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("allOf" = [
        {
            "if": {"required": ["source"], "properties": {"source": {"const": "dimensions"}}},
            "then": {"required": ["dimensions"], "properties": {"dimensions": {"minProperties": 1}}},
        },
        {
            "if": {"required": ["source"], "properties": {"source": {"const": "beforeDeploy"}}},
            "then": {"properties": {"dimensions": {"maxProperties": 0}}},
        },
    ]))
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Baseline {
    pub source: BaselineSource,
    /// For `dimensions` (required there, refused for `beforeDeploy`): the dimension values that
    /// name the old revision (e.g. its `TargetGroup`), put in place of the canary's in each
    /// metric; each must be a dimension the metrics have.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(schema_with = "dimensions_schema"))]
    pub dimensions: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum BaselineSource {
    /// The old revision, still serving beside the new one, over the same window (its target group:
    /// CodeDeploy canary/linear, ECS BLUE_GREEN / LINEAR / CANARY).
    Dimensions,
    /// The same metrics over the window before the deploy started (a rolling deployment, where the
    /// old revision is gone).
    BeforeDeploy,
}

/// How a metric of the analysis is judged against its baseline.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Compare {
    /// Which change is bad: `increase` (errors, latency), `decrease` (throughput), `either`.
    /// Required: a default could silently invert a check.
    pub direction: Direction,
    /// The Hodges-Lehmann shift, relative to the baseline's median, that a difference must
    /// exceed to count (0.1 = 10 %; from a zero median any shift is infinite). Default 0.1.
    #[serde(default = "defaults::tolerance")]
    #[cfg_attr(feature = "schema", schemars(range(min = 0, max = 1000)))]
    pub tolerance: f64,
    /// And the shift must exceed this much in the metric's own unit (e.g. 0.5 percentage points
    /// of 5xx rate). Default 0.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(range(min = 0)))]
    pub min_shift: f64,
    /// A HIGH/LOW in the bad direction fails the canary at once, whatever the score.
    #[serde(default)]
    pub critical: bool,
    /// NODATA fails the canary instead of being left out of the score.
    #[serde(default)]
    pub must_have_data: bool,
    /// Evaluated and reported, never counted in the score or the verdict.
    #[serde(default)]
    pub dry_run: bool,
    /// Its weight in the score. Default 1.
    #[serde(default = "defaults::weight")]
    #[cfg_attr(feature = "schema", schemars(range(min = 0.001, max = 1000)))]
    pub weight: f64,
}

/// The change of a metric that is bad.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Increase,
    Decrease,
    Either,
}

/// One metric of the analysis, classified.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
pub enum Classification {
    Pass,
    /// Significantly higher than the baseline, by more than the tolerance, and higher is bad.
    High,
    /// Significantly lower, by more than the tolerance, and lower is bad.
    Low,
    /// Fewer samples than `minDataPoints` on either side.
    Nodata,
}

/// The evidence behind one metric's classification.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MetricAnalysis {
    pub classification: Classification,
    pub direction: Direction,
    pub canary_n: usize,
    pub baseline_n: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_median: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_median: Option<f64>,
    /// Mann-Whitney U of the canary's samples (scipy's `statistic`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub u: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    /// Hodges-Lehmann shift of the canary over the baseline, in the metric's unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<f64>,
    /// `shift` over the baseline's median (absent when that median is 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative_shift: Option<f64>,
    pub tolerance: f64,
    pub weight: f64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub critical: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub must_have_data: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}

/// The analysis's outcome over the metrics that count (not dry-run).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
pub enum ScoreOutcome {
    Pass,
    /// Between `marginalScore` and `passScore`: keep baking; INCONCLUSIVE when the bake is over.
    Marginal,
    Fail,
    /// Half the metrics or more have no data (or none counts): never a pass.
    Inconclusive,
}

/// The score of the analysis, under `canaryResult.analysis`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisScore {
    pub outcome: ScoreOutcome,
    /// Weighted share (0-100) of passing metrics among those with data; absent when none has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    pub pass_score: f64,
    pub marginal_score: f64,
    pub confidence: f64,
    /// Metrics that count, and how many of them had no data.
    pub metrics: usize,
    pub nodata: usize,
    pub reason: String,
}

/// One metric (or metric-math expression) compared with a threshold, or with the baseline.
///
/// Either `metric`, or `expression` with the `metrics` it names; and either `threshold` or
/// `compare`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("oneOf" = [
        {"required": ["threshold"], "properties": {"compare": {"type": "null"}}},
        {"required": ["compare"], "properties": {"threshold": {"type": "null"}}},
    ], "anyOf" = [
        {
            "required": ["metric"],
            "properties": {
                "metric": {"type": "object"},
                "expression": {"type": "null"},
                "metrics": {"maxProperties": 0},
            },
        },
        {
            "required": ["expression", "metrics"],
            "properties": {
                "metric": {"type": "null"},
                "expression": {"type": "string"},
                "metrics": {"minProperties": 1},
            },
        },
    ]))
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricCheck {
    /// What the execution's results call this check (not blank: it tells the checks apart).
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1, max = limits::NAME_CHARS), pattern(NOT_BLANK))
    )]
    pub name: String,
    /// A single metric; or leave it out and give `expression` over `metrics`.
    #[serde(default)]
    pub metric: Option<MetricSpec>,
    /// CloudWatch metric math over the ids in `metrics`, e.g. `100 * errors / requests`; it must
    /// parse (functions, operators, keywords of `shared/src/metricmath.rs`) and name only those
    /// ids. At most 16 KiB (UTF-8 bytes).
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(
            length(min = 1, max = crate::lambda::MAX_STRING_BYTES),
            pattern(NOT_BLANK)
        )
    )]
    pub expression: Option<String>,
    /// The metrics `expression` reads, by id: an id starts with a lower-case letter, holds only
    /// letters, digits and `_`, and is not `berth`.
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(extend("propertyNames" = {
            "pattern": "^[a-z][A-Za-z0-9_]*$",
            "not": {"const": crate::canary::RESULT_ID},
        }))
    )]
    pub metrics: BTreeMap<String, MetricSpec>,
    /// The value breaches when `value <comparison> threshold`. Give this or `compare`.
    #[serde(default)]
    pub threshold: Option<f64>,
    /// Judge the metric against the baseline (the canary's `analysis`) instead of a threshold.
    #[serde(default)]
    pub compare: Option<Compare>,
    #[serde(default)]
    pub comparison: Comparison,
    /// Fewer data points than this in the window is INCONCLUSIVE, never PASS (with `compare`:
    /// on either side, NODATA).
    #[serde(default = "defaults::min_data_points")]
    #[cfg_attr(
        feature = "schema",
        schemars(range(min = *limits::DATA_POINTS.start(), max = *limits::DATA_POINTS.end()))
    )]
    pub min_data_points: usize,
    /// How many breaching data points fail the check.
    #[serde(default = "defaults::datapoints_to_fail")]
    #[cfg_attr(
        feature = "schema",
        schemars(range(min = *limits::DATA_POINTS.start(), max = *limits::DATA_POINTS.end()))
    )]
    pub datapoints_to_fail: usize,
    /// Seconds per data point, as GetMetricData accepts: 1, 5, 10, 30 or a multiple of 60 (up to
    /// 86,400), and at most the canary's `windowSeconds`.
    #[serde(default = "defaults::period")]
    #[cfg_attr(
        feature = "schema",
        schemars(extend("anyOf" = [
            {"enum": [1, 5, 10, 30]},
            {"multipleOf": 60, "minimum": 60, "maximum": 86_400},
        ]))
    )]
    pub period: i32,
}

/// One CloudWatch metric.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricSpec {
    /// e.g. `AWS/ApplicationELB`.
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1, max = limits::NAME_CHARS), pattern(NOT_BLANK))
    )]
    pub namespace: String,
    /// e.g. `HTTPCode_Target_5XX_Count`.
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1, max = limits::NAME_CHARS), pattern(NOT_BLANK))
    )]
    pub metric_name: String,
    /// Dimension name to value, e.g. `{"TargetGroup": "targetgroup/web/0123456789abcdef"}`.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(schema_with = "dimensions_schema"))]
    pub dimensions: BTreeMap<String, String>,
    /// `Sum`, `Average`, `Maximum`, `p99`, … (CloudWatch statistic or extended statistic:
    /// `SampleCount`, `Average`, `Sum`, `Minimum`, `Maximum`, `pNN[.NN]`, `tmNN`, `wmNN`, `tcNN`,
    /// `tsNN`, `IQM`, `TM(a%:b%)`, `WM(…)`, `TC(…)`, `TS(…)`, `PR(a:b)`).
    #[serde(default = "defaults::stat")]
    #[cfg_attr(feature = "schema", schemars(length(min = 1), pattern(NOT_BLANK)))]
    pub stat: String,
}

/// CloudWatch's comparison operators: the value breaches when `value <op> threshold`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Comparison {
    #[default]
    GreaterThanThreshold,
    GreaterThanOrEqualToThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    Pass,
    Fail,
    Inconclusive,
}

/// What the ASL does next with the canary.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CanaryDecision {
    /// Keep baking: evaluate again after the interval.
    Continue,
    Promote,
    Rollback,
}

/// One check's outcome with the numbers it saw.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    pub name: String,
    pub verdict: Verdict,
    pub detail: String,
    #[serde(default)]
    pub values: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// For a metric judged against the baseline: n, medians, U, p-value, shift, classification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<MetricAnalysis>,
}

/// `evaluate-canary`'s result, under `canaryResult`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CanaryResult {
    pub verdict: Verdict,
    pub decision: CanaryDecision,
    pub detail: String,
    pub checks: Vec<CheckResult>,
    /// The statistical analysis's score, when the canary has metrics with `compare`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<AnalysisScore>,
    pub evaluations: u32,
    pub bake_started_at: String,
    pub bake_ends_at: String,
    pub evaluated_at: String,
    /// The bake was ended early by `berth promote` (the decision is PROMOTE, no check was read).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub promoted_by_hand: bool,
    /// The deployment was aborted by `berth abort` during the bake (the decision is ROLLBACK).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub aborted_by_hand: bool,
}

/// What `rollback` needs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RollbackInput {
    pub deployment_id: String,
    pub cluster: String,
    pub service: String,
    /// Absent when the failure happened before register-revision recorded anything.
    #[serde(default)]
    pub register: Option<Registration>,
    /// update-service's result, when it ran (a CodeDeploy deployment is stopped, not redeployed).
    #[serde(default)]
    pub update: Option<Rollout>,
    /// Stop-then-start's record: the rollback restores the recorded desired count.
    #[serde(default)]
    pub stopping: Option<crate::stop_start::Stopping>,
    #[serde(default)]
    pub rollback_timeout_seconds: Option<u64>,
    /// How the rollback is watched (as the rollout: [`crate::watch::plan`]).
    #[serde(default)]
    pub poll_interval_seconds: Option<u64>,
    #[serde(default)]
    pub fallback_poll_seconds: Option<u64>,
}

/// `rollback`'s result, under `rollback`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RollbackResult {
    /// What the service was pointed back at.
    pub task_definition_arn: String,
    /// The revision recorded before the deploy (equal to `taskDefinitionArn` unless re-pinned).
    pub previous_task_definition_arn: String,
    /// Images re-pinned to the digests that were running before the deploy, if any.
    pub pinned_images: Vec<RunningImage>,
    /// True when ECS's circuit breaker had already put the service back and berth did not redeploy.
    pub already_rolled_back: bool,
    pub rollout: Rollout,
    pub detail: String,
}

mod defaults {
    pub fn bake_seconds() -> u64 {
        300
    }
    pub fn interval_seconds() -> u64 {
        60
    }
    pub fn window_seconds() -> u64 {
        300
    }
    pub fn min_data_points() -> usize {
        3
    }
    pub fn datapoints_to_fail() -> usize {
        1
    }
    pub fn period() -> i32 {
        60
    }
    pub fn confidence() -> f64 {
        0.99
    }
    pub fn pass_score() -> f64 {
        90.0
    }
    pub fn marginal_score() -> f64 {
        75.0
    }
    pub fn tolerance() -> f64 {
        0.1
    }
    pub fn weight() -> f64 {
        1.0
    }
    pub fn approval_timeout_seconds() -> u64 {
        super::DEFAULT_APPROVAL_TIMEOUT_SECONDS
    }
    pub fn stat() -> String {
        "Average".into()
    }
}

/// The documented range of every number a request or a tag can set (README, "Limits"). Checked at
/// Plan, before any change, so no conversion downstream can wrap or park an execution.
pub mod limits {
    use std::ops::RangeInclusive;

    /// `timeoutSeconds`, `rollbackTimeoutSeconds`, `berth:timeout-seconds`: up to a day.
    pub const TIMEOUT_SECONDS: RangeInclusive<u64> = 1..=86_400;
    /// `pollIntervalSeconds`: up to 10 minutes.
    pub const POLL_INTERVAL_SECONDS: RangeInclusive<u64> = 1..=600;
    /// `BERTH_FALLBACK_POLL_SECONDS`.
    pub const FALLBACK_POLL_SECONDS: RangeInclusive<u64> = 1..=3_600;
    /// `approval.timeoutSeconds`, `berth:approval`: how long the approval gate waits, up to a week.
    pub const APPROVAL_TIMEOUT_SECONDS: RangeInclusive<u64> = 1..=604_800;
    /// A migration task's `timeoutSeconds`: up to a day.
    pub const MIGRATION_TIMEOUT_SECONDS: RangeInclusive<u64> = 10..=86_400;
    /// `canary.bakeSeconds`: up to a day (0 = one evaluation).
    pub const BAKE_SECONDS: RangeInclusive<u64> = 0..=86_400;
    /// `canary.intervalSeconds`: up to an hour.
    pub const INTERVAL_SECONDS: RangeInclusive<u64> = 1..=3_600;
    /// `canary.windowSeconds`: up to a day (GetMetricData reads at most 100,800 points a call).
    pub const WINDOW_SECONDS: RangeInclusive<u64> = 1..=86_400;
    /// `minDataPoints`, `datapointsToFail`.
    pub const DATA_POINTS: RangeInclusive<usize> = 1..=1_440;
    /// Samples a side of a metric with `compare` (`windowSeconds / period`): its Hodges-Lehmann
    /// shift takes every canary-baseline pair.
    pub const COMPARED_SAMPLES: u64 = 1_440;
    /// Metrics and alarms per canary (GetMetricData takes 500 queries; DescribeAlarms 100 names).
    pub const METRICS: usize = 20;
    pub const ALARMS: usize = 100;
    /// Names (cluster, service, container, metric, alarm, dimension) are at most this long, as AWS
    /// allows; an image reference at most `IMAGE_CHARS`.
    pub const NAME_CHARS: usize = 255;
    pub const IMAGE_CHARS: usize = 1_024;
    /// Dimensions of one metric, and the length of a dimension's value, as CloudWatch allows.
    pub const DIMENSIONS: usize = 30;
    pub const DIMENSION_VALUE_CHARS: usize = 1_024;

    /// A hook's `deadlineSeconds`: at most an hour (CodeDeploy's longest hook wait).
    pub const HOOK_DEADLINE_SECONDS: RangeInclusive<u64> = 1..=3_600;
    /// A probe's `requests` and `latencyBudgetMs`.
    pub const PROBE_REQUESTS: RangeInclusive<u32> = 1..=1_000;
    pub const PROBE_LATENCY_MS: RangeInclusive<u64> = 1..=60_000;

    /// `value` within `range`, or `InvalidInput` naming the field and the range.
    pub fn check<T: PartialOrd + std::fmt::Display>(
        field: &str,
        value: T,
        range: &RangeInclusive<T>,
    ) -> crate::Result<()> {
        if range.contains(&value) {
            Ok(())
        } else {
            Err(crate::Error::invalid_input(format!(
                "{field} = {value} is out of range: {} to {}",
                range.start(),
                range.end()
            )))
        }
    }

    /// A string no longer than `max` characters.
    pub fn check_len(field: &str, value: &str, max: usize) -> crate::Result<()> {
        let n = value.chars().count();
        if n > max {
            Err(crate::Error::invalid_input(format!(
                "{field} is {n} characters long, at most {max}"
            )))
        } else {
            Ok(())
        }
    }
}

/// Default rollout timeout when the request names none.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 1800;
/// Default time the rollback may take to stabilise.
pub const DEFAULT_ROLLBACK_TIMEOUT_SECONDS: u64 = 900;

/// Read a state input, turning a shape mismatch into `InvalidInput` with serde's precise message.
pub fn parse_input<T: serde::de::DeserializeOwned>(
    state: &str,
    value: serde_json::Value,
) -> crate::Result<T> {
    serde_json::from_value(value)
        .map_err(|e| crate::Error::invalid_input(format!("{state}: bad input: {e}")))
}

/// Reject an empty identifier before any AWS call is made.
pub fn require(field: &str, value: &str) -> crate::Result<()> {
    if value.trim().is_empty() {
        Err(crate::Error::invalid_input(format!(
            "\"{field}\" must not be empty"
        )))
    } else {
        Ok(())
    }
}

/// The execution a state runs in, passed by the ASL from the context object (`$$.Execution`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionRef {
    pub id: String,
    /// Derived from `id` when a runtime leaves `$$.Execution.Name` empty (moto does for unnamed
    /// executions).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub start_time: String,
}

impl ExecutionRef {
    /// The execution's name, from `name` or the last segment of its ARN.
    pub fn name(&self) -> &str {
        if self.name.is_empty() {
            self.id.rsplit(':').next().unwrap_or(&self.id)
        } else {
            &self.name
        }
    }
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// A deployment request typed by hand in the Step Functions console or sent by a CLI.
///
/// berth's console input (README, "Starting a deployment by hand"): one image for one service, or
/// one existing revision of its task definition (`taskDefinition`, a rollback by hand): exactly one
/// of `image` and `taskDefinition`.
/// Plan checks it again, and also what a schema cannot say (the image reference's grammar, the
/// metric-math expression, the statistic, each alarm's existence): Plan is the authority. The state
/// machine also takes an ECR "Image Action" event, which this schema does not describe.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("oneOf" = [
        {
            "required": ["image"],
            "properties": {"image": {"type": "string"}, "taskDefinition": {"type": "null"}},
        },
        {
            "required": ["taskDefinition"],
            "properties": {"taskDefinition": {"type": "string"}, "image": {"type": "null"}},
        },
    ]))
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConsoleRequest {
    /// The ECS cluster's name.
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1, max = limits::NAME_CHARS), pattern(NOT_BLANK))
    )]
    pub cluster: String,
    /// The ECS service's name.
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1, max = limits::NAME_CHARS), pattern(NOT_BLANK))
    )]
    pub service: String,
    /// The container whose image changes; optional when the task definition has one container.
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1, max = limits::NAME_CHARS), pattern(NOT_BLANK))
    )]
    pub container: Option<String>,
    /// A valid OCI image reference, pinned by digest when it carries one (`sha256:` + 64 lowercase
    /// hex): berth registers a copy of the running revision with it. Exactly one of `image` and
    /// `taskDefinition`.
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1, max = limits::IMAGE_CHARS), pattern(NOT_BLANK))
    )]
    pub image: Option<String>,
    /// An existing revision of the service's task-definition family, `family:revision` or its ARN,
    /// deployed as it is (nothing is registered): a rollback by hand. Exactly one of `image` and
    /// `taskDefinition`.
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(pattern(crate::taskdef::REVISION_PATTERN))
    )]
    pub task_definition: Option<String>,
    /// Redeploy even if the revision is unchanged (a re-pushed mutable tag).
    #[serde(default)]
    pub force_new_deployment: bool,
    /// Rollout deadline; past it the rollout is FAILED `Timeout` and rolled back. Default: the
    /// stack's `TimeoutSeconds` (1800).
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(range(
            min = *limits::TIMEOUT_SECONDS.start(),
            max = *limits::TIMEOUT_SECONDS.end()
        ))
    )]
    pub timeout_seconds: Option<u64>,
    /// Seconds between polls. Default: the stack's `PollIntervalSeconds` (15).
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(range(
            min = *limits::POLL_INTERVAL_SECONDS.start(),
            max = *limits::POLL_INTERVAL_SECONDS.end()
        ))
    )]
    pub poll_interval_seconds: Option<u64>,
    /// How long the rollback may take to stabilise (default 900).
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(range(
            min = *limits::TIMEOUT_SECONDS.start(),
            max = *limits::TIMEOUT_SECONDS.end()
        ))
    )]
    pub rollback_timeout_seconds: Option<u64>,
    /// An optional bake: the new revision is judged on these metrics and alarms before it counts
    /// as deployed.
    #[serde(default)]
    pub canary: Option<CanaryConfig>,
    /// An optional approval gate: before anything is registered or changed, the execution waits
    /// for `berth approve` (or `berth reject`); no answer in time ends it `NotApproved`.
    #[serde(default)]
    pub approval: Option<ApprovalConfig>,
    /// An optional migration task run before the rollout: a non-zero exit code, a task that never
    /// starts or one past its timeout ends the deployment `MigrationFailed`, the service unchanged.
    #[serde(default)]
    pub migration: Option<crate::migration::MigrationConfig>,
    /// Opt-in strategy for consumers that must never run two versions at once: the old tasks
    /// stop (desired count 0) before the new revision starts at the recorded count; downtime
    /// accepted.
    #[serde(default)]
    pub stop_then_start: Option<crate::stop_start::StopThenStart>,
    /// The image-scan gate: before anything changes, ECR's scan findings of the image; findings at
    /// or above `threshold` (default CRITICAL) end it `ImageScanFailed`. Overrides the service's
    /// `berth:scan` tags.
    #[serde(default)]
    pub scan: Option<crate::scan::ScanPolicy>,
    /// Deploy even inside a freeze window (`berth deploy --override-freeze REASON`): the reason and
    /// who gave it are kept in the execution's input and in the service's `freezeCheck`.
    #[serde(default)]
    pub override_freeze: Option<crate::gates::FreezeOverride>,
}

/// The approval gate: the execution waits before it touches the service until someone answers.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApprovalConfig {
    /// How long the gate waits for an answer; past it the deployment ends `NotApproved`, nothing
    /// changed. Default 3600.
    #[serde(default = "defaults::approval_timeout_seconds")]
    #[cfg_attr(
        feature = "schema",
        schemars(range(
            min = *limits::APPROVAL_TIMEOUT_SECONDS.start(),
            max = *limits::APPROVAL_TIMEOUT_SECONDS.end()
        ))
    )]
    pub timeout_seconds: u64,
}

/// How long an approval gate waits when neither the request nor the tag says.
pub const DEFAULT_APPROVAL_TIMEOUT_SECONDS: u64 = 3600;

/// What `berth approve` sends to the gate (SendTaskSuccess), under `approved`. Every field may be
/// missing: an approval sent by hand (`aws stepfunctions send-task-success`) may carry anything.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalAnswer {
    /// Who approved (the CLI's user).
    #[serde(default)]
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub at: String,
}

/// What `plan-deployment` reads: the execution's raw input and its identity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PlanInput {
    pub request: serde_json::Value,
    pub execution: ExecutionRef,
}

/// One service to deploy: the document each iteration of the ASL's Map starts from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentItem {
    pub deployment_id: String,
    pub cluster: String,
    pub service: String,
    #[serde(default)]
    pub container: Option<String>,
    pub image: String,
    /// The image's repository (without registry), for the one-deployment-per-service rule.
    pub repository: String,
    /// Set for a rollback by hand: the existing revision (its ARN) to deploy as it is; `image` is
    /// then its container's image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<String>,
    pub force_new_deployment: bool,
    pub timeout_seconds: u64,
    pub poll_interval_seconds: u64,
    pub rollback_timeout_seconds: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryConfig>,
    /// Set when the deployment waits for an approval before it registers anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalConfig>,
    /// Set when a migration task runs (and must pass) before the service is updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration: Option<crate::migration::MigrationConfig>,
    /// Set when the old tasks stop before the new revision starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_then_start: Option<crate::stop_start::StopThenStart>,
    /// Set when the service ships in a release with others (all or nothing, in waves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<crate::release::ReleaseRef>,
    /// Set when the image-scan gate runs before anything changes (`CheckScan`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<crate::scan::ScanPolicy>,
    /// The freeze calendars that hold this deployment (the service's tags, the installation's),
    /// checked at Plan; `CheckFreeze` runs when there is one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub freeze: Vec<crate::gates::FreezeConfig>,
    /// The request's `overrideFreeze`, on the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_freeze: Option<crate::gates::FreezeOverride>,
    pub execution: ExecutionRef,
    /// RFC 3339; waiting for an earlier deployment of the same service gives up here.
    pub turn_deadline: String,
    /// The name of the child execution that deploys this service (`children::execution_name`).
    #[serde(default)]
    pub execution_name: String,
    /// Seconds a rollout ECS reports by events waits for one before it looks anyway (the slow
    /// fallback poll; `BERTH_FALLBACK_POLL_SECONDS`).
    #[serde(default = "default_fallback_poll_seconds")]
    pub fallback_poll_seconds: u64,
}

fn default_fallback_poll_seconds() -> u64 {
    DEFAULT_FALLBACK_POLL_SECONDS
}

/// `plan-deployment`'s result, under `plan`. On the wire ([`WirePlan`]) what every item has in
/// common is written once, in `common`, and the ASL's Map puts it back into each item
/// (`States.JsonMerge`): a push to hundreds of services stays far inside Step Functions' 256 KiB
/// (the image, the execution and the timeouts would otherwise repeat in every item).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(into = "WirePlan", try_from = "WirePlan")]
pub struct Plan {
    /// `console`, `ecr-push`, or `rollback` (a console request naming an existing revision).
    pub source: String,
    pub deployments: Vec<DeploymentItem>,
    /// Why nothing is deployed (a DELETE action, a failed push, an unmapped repository).
    pub skipped: Option<String>,
    /// The releases among the deployments (their names), when there are any: the deployment then
    /// runs in waves, all or nothing per release (`release::next`).
    pub releases: Option<Vec<String>>,
}

/// [`Plan`] as the state machine carries it: each item holds what is its own, `common` the
/// fields whose values every item shares. A document without `common` reads as before.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WirePlan {
    pub source: String,
    pub deployments: Vec<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    pub common: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub releases: Option<Vec<String>>,
}

/// The fields every item keeps, shared or not: what names the service and its execution.
const OWN_FIELDS: [&str; 4] = ["deploymentId", "cluster", "service", "executionName"];

impl From<Plan> for WirePlan {
    fn from(plan: Plan) -> Self {
        let mut items: Vec<serde_json::Map<String, serde_json::Value>> = plan
            .deployments
            .iter()
            .filter_map(|d| match serde_json::to_value(d) {
                Ok(serde_json::Value::Object(m)) => Some(m),
                _ => None,
            })
            .collect();
        let mut common = serde_json::Map::new();
        if let Some((first, rest)) = items.split_first() {
            for (key, value) in first {
                if !OWN_FIELDS.contains(&key.as_str())
                    && rest.iter().all(|m| m.get(key) == Some(value))
                {
                    common.insert(key.clone(), value.clone());
                }
            }
        }
        for item in &mut items {
            item.retain(|k, _| !common.contains_key(k));
        }
        WirePlan {
            source: plan.source,
            deployments: items,
            common,
            skipped: plan.skipped,
            releases: plan.releases,
        }
    }
}

impl TryFrom<WirePlan> for Plan {
    type Error = String;

    fn try_from(wire: WirePlan) -> std::result::Result<Self, String> {
        let deployments = wire
            .deployments
            .into_iter()
            .map(|mut item| {
                for (k, v) in &wire.common {
                    item.entry(k.clone()).or_insert_with(|| v.clone());
                }
                serde_json::from_value(serde_json::Value::Object(item)).map_err(|e| e.to_string())
            })
            .collect::<std::result::Result<Vec<DeploymentItem>, String>>()?;
        Ok(Plan {
            source: wire.source,
            deployments,
            skipped: wire.skipped,
            releases: wire.releases,
        })
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TurnDecision {
    /// No other execution deploys this service: go ahead.
    Go,
    /// An earlier execution still deploys this service: wait and ask again.
    Wait,
    /// A later execution will deploy a newer image to this service: end without deploying.
    Superseded,
}

/// `acquire-turn`'s result, under `turn`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Turn {
    pub decision: TurnDecision,
    pub detail: String,
    /// The executions that made the decision (earlier ones for WAIT, the later one for SUPERSEDED).
    pub others: Vec<String>,
}

/// How one service's deployment ended: the Pass state that closes each iteration of the ASL's Map.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    Deployed,
    /// A later execution deploys a newer image to the service; this one changed nothing.
    Superseded,
    /// Refused before anything changed (bad input, unknown service, a refused UpdateService).
    NotStarted,
    RolledBack,
    /// The rollback itself failed: a person must look at the service.
    RollbackFailed,
}

impl Outcome {
    /// The services whose cause must say what they run now, read last: those berth tried to roll back.
    pub fn tried_rollback(self) -> bool {
        matches!(self, Outcome::RolledBack | Outcome::RollbackFailed)
    }
}

/// An error a `Catch` put into the document (`ResultPath: $.error`), as Step Functions writes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CaughtError {
    /// The error name: a berth name (`ContainerNotFound`) or one of Step Functions' own.
    #[serde(rename = "Error")]
    pub error: String,
    /// For a Lambda error, a JSON string holding `errorType` and `errorMessage`.
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

/// One service's document in the ASL's Map: each state's result under the key its `ResultPath`
/// names. The [`DeploymentItem`] the iteration started from sits beside these keys and is not read
/// back. A test checks that these keys are exactly the Map's ResultPaths.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDocument {
    /// The freeze gate's last check (`CheckFreeze`), when the deployment had a freeze calendar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze_check: Option<crate::gates::FreezeCheck>,
    /// The image-scan gate's last verdict (`CheckScan`, [`crate::gates::ScanCheck`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_result: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<Turn>,
    /// The approval gate's answer, when the deployment had one and it was approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved: Option<ApprovalAnswer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub register: Option<Registration>,
    /// The migration task, when the deployment ran one (PrepareMigration / RunMigration /
    /// JudgeMigration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration_task: Option<crate::migration::MigrationTask>,
    /// The stop of stop-then-start (RecordDesiredCount / StopOldTasks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopping: Option<crate::stop_start::Stopping>,
    /// The rollback's stop of a stop-then-start deploy (BeginStopForRollback / StopFailedTasks):
    /// the new revision's tasks stop before the previous revision starts again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_stop: Option<crate::stop_start::Stopping>,
    /// The item's release (read, not written, by the service machine's states): a service in a
    /// release reports what it ran before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<crate::release::ReleaseRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<Rollout>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stability: Option<Stability>,
    /// From evaluate-canary, in the bake or between CodeDeploy's traffic shifts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_result: Option<CanaryResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_stability: Option<Stability>,
    /// The last check of a rollout (or of its rollback) that could not be made, kept while the
    /// watch looks again until the rollout's deadline (`RolloutUnanswered`, `RollbackUnanswered`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unanswered: Option<Unanswered>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CaughtError>,
}

/// A check of a rollout that could not be made: when the state machine noticed it (the state's
/// entry time, compared with the rollout's deadline) and the error its Catch recorded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Unanswered {
    pub at: String,
    pub error: CaughtError,
}

/// The outcome of one service's deployment, as the Map's iteration ends.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceOutcome {
    pub cluster: String,
    pub service: String,
    pub outcome: Outcome,
    /// The whole per-service document (`"detail.$": "$"`).
    #[serde(default)]
    pub detail: ServiceDocument,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Succeeded,
    Failed,
}

/// `summarize`'s result: the execution's verdict and a cause a person can act on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub status: ExecutionStatus,
    /// The Fail state's error name when FAILED (e.g. `DeploymentRolledBack`), else empty.
    pub error: String,
    pub cause: String,
    /// Each service's outcome, without the evidence (it is in `$.results`; repeating it here
    /// would double the document against Step Functions' 256 KiB).
    pub services: Vec<ServiceVerdict>,
}

/// One service's deployment, reported by its own execution's last state (`Report`): what the
/// parent's Map collects, so that a push to hundreds of services stays far inside Step Functions'
/// 256 KiB payload limit (the evidence stays in each service's execution).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceReport {
    pub cluster: String,
    pub service: String,
    pub outcome: Outcome,
    /// One sentence: what happened and, when berth tried to roll back, what runs now.
    pub cause: String,
    /// The error name a Catch recorded (`NotApproved`, `ServiceNotFound`, …), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For a service in a release (`release`): what it ran before, so that the release can deploy
    /// it back if another of its services fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_to: Option<RollbackTo>,
}

/// The revision (and the container's image) a service ran before this deployment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RollbackTo {
    pub task_definition: String,
    pub image: String,
}

/// One service's outcome in the summary.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceVerdict {
    pub cluster: String,
    pub service: String,
    pub outcome: Outcome,
}

/// Defaults for requests that name none.
pub const DEFAULT_POLL_INTERVAL_SECONDS: u64 = 15;
/// The slow poll behind ECS's deployment events (a missed event costs at most this).
pub const DEFAULT_FALLBACK_POLL_SECONDS: u64 = 300;

#[cfg(test)]
mod plan_wire_tests {
    use super::*;
    use serde_json::json;

    fn item(service: &str, timeout: u64, canary: bool) -> DeploymentItem {
        let mut v = json!({"deploymentId": format!("shared-repo-ad7b82eb45d10f09dbc8a74fe4528dd10a958c86/prod/{service}"),
            "cluster": "prod", "service": service, "container": "app",
            "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/shared-repo:v2@sha256:ad7b82eb45d10f09dbc8a74fe4528dd10a958c86431024c6a23ccf908ad413e2",
            "repository": "shared-repo", "forceNewDeployment": false, "timeoutSeconds": timeout,
            "pollIntervalSeconds": 15, "rollbackTimeoutSeconds": 900,
            "execution": {"id": "arn:aws:states:us-east-1:123456789012:execution:berth-deploy:shared-repo-ad7b82eb45d10f09dbc8a74fe4528dd10a958c86",
                "name": "shared-repo-ad7b82eb45d10f09dbc8a74fe4528dd10a958c86", "startTime": "2026-11-30T05:37:12.232180+00:00"},
            "turnDeadline": "2026-11-30T06:07:12Z",
            "executionName": crate::children::execution_name(&format!("x/prod/{service}"), service),
            "fallbackPollSeconds": 300});
        if canary {
            v["canary"] = json!({"intervalSeconds": 60, "bakeSeconds": 600, "metrics": []});
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn what_every_item_shares_is_written_once_and_read_back_into_each() {
        // GIVEN a push to three services, one with its own timeout and one with a canary
        let plan = Plan {
            source: "ecr-push".into(),
            deployments: vec![
                item("api", 1800, false),
                item("worker", 600, false),
                item("cron", 1800, true),
            ],
            skipped: None,
            releases: None,
        };
        let wire = serde_json::to_value(&plan).unwrap();
        // THEN the shared fields are in common once, what differs stays in the items
        let common = wire["common"].as_object().unwrap();
        assert!(
            common.contains_key("image") && common.contains_key("execution"),
            "{common:?}"
        );
        assert!(!common.contains_key("timeoutSeconds") && !common.contains_key("canary"));
        assert!(!common.contains_key("service") && !common.contains_key("executionName"));
        assert_eq!(wire["deployments"][1]["timeoutSeconds"], 600);
        assert!(wire["deployments"][0].get("image").is_none());
        // AND it reads back as it was, as the ASL's States.JsonMerge(item, common) rebuilds it
        let back: Plan = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(back, plan);
        for (i, d) in wire["deployments"].as_array().unwrap().iter().enumerate() {
            let mut merged = d.as_object().unwrap().clone();
            merged.extend(common.clone());
            let rebuilt: DeploymentItem = serde_json::from_value(json!(merged)).unwrap();
            assert_eq!(rebuilt, plan.deployments[i]);
        }
        // AND a plan written before (no common) still reads
        let plain = json!({"source": "console", "deployments": [serde_json::to_value(item("web", 60, false)).unwrap()]});
        assert_eq!(
            serde_json::from_value::<Plan>(plain)
                .unwrap()
                .deployments
                .len(),
            1
        );
    }

    #[test]
    fn a_push_to_500_services_fits_step_functions_payload_limit() {
        let plan = Plan {
            source: "ecr-push".into(),
            deployments: (0..500)
                .map(|i| item(&format!("service-{i:03}"), 1800, false))
                .collect(),
            skipped: None,
            releases: None,
        };
        let bytes = serde_json::to_string(&json!({"plan": plan})).unwrap().len();
        assert!(bytes < 256 * 1024 / 2, "{bytes} B");
        // and written out in full it would not have
        let full: Vec<serde_json::Value> = plan
            .deployments
            .iter()
            .map(|d| serde_json::to_value(d).unwrap())
            .collect();
        assert!(serde_json::to_string(&full).unwrap().len() > 256 * 1024);
    }
}
