//! deploy.src.json -> deploy.asl.json: policies substituted, error groups expanded, mistakes refused.

use std::collections::BTreeSet;

use berth::error::{ErrorName, ExecutionErrorName, Group};
use serde_json::{Map, Value};

/// The error names Step Functions itself gives, which `ErrorEquals` may use besides berth's: the
/// ASL's predefined `States.*`, the Lambda service's, `Sandbox.Timedout` (a Lambda killed at its
/// timeout, as Step Functions names it today) and the EventBridge integration's. A closed list, so
/// that a typo is refused.
const STEP_FUNCTIONS_NAMES: &[&str] = &[
    "States.ALL",
    "States.HeartbeatTimeout",
    "States.Timeout",
    "States.TaskFailed",
    "States.Permissions",
    "States.ResultPathMatchFailure",
    "States.ParameterPathFailure",
    "States.QueryEvaluationError",
    "States.BranchFailed",
    "States.NoChoiceMatched",
    "States.IntrinsicFailure",
    "States.ExceedToleratedFailureThreshold",
    "States.ItemReaderFailed",
    "States.ResultWriterFailed",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.Unknown",
    "Sandbox.Timedout",
    // the EventBridge integration (the approval gate's PutEvents) when an entry was not accepted
    "EventBridge.FailedEntry",
    // the Step Functions integration (DeployService's StartExecution), as its errors are named
    "StepFunctions.SdkClientException",
    "StepFunctions.AWSStepFunctionsException",
    "StepFunctions.ExecutionLimitExceededException",
];

/// What every Lambda task retries besides berth's transient names: the Lambda service's own
/// transient failures, and a Lambda killed at its timeout once (every state is idempotent per
/// deployment).
const LAMBDA_TASK_RETRIES: &[&str] = &[
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Sandbox.Timedout",
];

/// The two state machines a source defines: the deployment's (its top level) and the service's
/// (its `ServiceMachine`), each pretty-printed as the checked-in files are.
#[derive(Debug)]
pub struct Rendered {
    pub deploy: String,
    /// None when the source defines no `ServiceMachine`.
    pub service: Option<String>,
}

/// The ASL of both machines for `source`, or every mistake found. The policies are defined once
/// for both, and one that neither uses is refused.
pub fn render(source: &str) -> Result<Rendered, Vec<String>> {
    let mut doc: Value =
        serde_json::from_str(source).map_err(|e| vec![format!("the source is not JSON: {e}")])?;
    let Some(top) = doc.as_object_mut() else {
        return Err(vec!["the source is not a JSON object".into()]);
    };
    let mut problems = Vec::new();
    top.shift_remove("About");
    let retriers = policies(top.shift_remove("Retriers"), "Retriers", &mut problems);
    let catchers = policies(top.shift_remove("Catchers"), "Catchers", &mut problems);
    let processors = match top.shift_remove("Processors") {
        None => Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => {
            problems.push("Processors must be an object of named ItemProcessors".into());
            Map::new()
        }
    };
    let mut service = top.shift_remove("ServiceMachine");
    let mut r = Renderer {
        retriers,
        catchers,
        processors,
        used: BTreeSet::new(),
        problems,
    };
    let machines = [
        ("the source", Some(&mut doc)),
        ("ServiceMachine", service.as_mut()),
    ];
    for (what, machine) in machines {
        let Some(machine) = machine else { continue };
        match machine.get_mut("States").and_then(Value::as_object_mut) {
            Some(states) => r.states(states),
            None => r.problems.push(format!("{what} has no \"States\" object")),
        }
    }
    for (kind, defined) in [
        ("Retriers", &r.retriers),
        ("Catchers", &r.catchers),
        ("Processors", &r.processors),
    ] {
        for name in defined.keys() {
            if !r.used.contains(&(kind, name.clone())) {
                r.problems
                    .push(format!("{kind}.{name} is defined but no state uses it"));
            }
        }
    }
    if !r.problems.is_empty() {
        return Err(r.problems);
    }
    let pretty = |v: &Value| -> Result<String, Vec<String>> {
        let mut out = serde_json::to_string_pretty(v).map_err(|e| vec![e.to_string()])?;
        out.push('\n');
        Ok(out)
    };
    Ok(Rendered {
        deploy: pretty(&doc)?,
        service: service.as_ref().map(pretty).transpose()?,
    })
}

/// Appends `suffix` to the name of every state of `processor` and to every transition to one.
fn rename_states(processor: &mut Value, suffix: &str) {
    let renamed = |n: &str| format!("{n}{suffix}");
    if let Some(start) = processor
        .get("StartAt")
        .and_then(Value::as_str)
        .map(renamed)
    {
        processor["StartAt"] = Value::String(start);
    }
    let Some(states) = processor.get_mut("States").and_then(Value::as_object_mut) else {
        return;
    };
    let old = std::mem::take(states);
    for (name, mut state) in old {
        let mut targets: Vec<&mut Value> = vec![];
        if let Some(obj) = state.as_object_mut() {
            for (key, value) in obj.iter_mut() {
                match key.as_str() {
                    "Next" | "Default" => targets.push(value),
                    "Catch" | "Choices" => {
                        for entry in value.as_array_mut().into_iter().flatten() {
                            if let Some(next) = entry.get_mut("Next") {
                                targets.push(next);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        for t in targets {
            if let Some(n) = t.as_str().map(renamed) {
                *t = Value::String(n);
            }
        }
        states.insert(renamed(&name), state);
    }
}

/// The `Retriers` or `Catchers` of the source: name -> its list, groups already expanded.
fn policies(value: Option<Value>, kind: &str, problems: &mut Vec<String>) -> Map<String, Value> {
    let map = match value {
        None => return Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => {
            problems.push(format!("{kind} must be an object of named lists"));
            return Map::new();
        }
    };
    map.into_iter()
        .map(|(name, mut list)| {
            expand_list(&mut list, &format!("{kind}.{name}"), problems);
            (name, list)
        })
        .collect()
}

struct Renderer {
    retriers: Map<String, Value>,
    catchers: Map<String, Value>,
    /// Map states' `ItemProcessor`s by name: a Map whose `ItemProcessor` is a name gets a copy.
    processors: Map<String, Value>,
    used: BTreeSet<(&'static str, String)>,
    problems: Vec<String>,
}

impl Renderer {
    fn states(&mut self, states: &mut Map<String, Value>) {
        for (name, state) in states.iter_mut() {
            self.state(name, state);
        }
    }

    fn state(&mut self, name: &str, state: &mut Value) {
        let Some(state) = state.as_object_mut() else {
            self.problems.push(format!("{name} is not an object"));
            return;
        };
        for (field, kind) in [("Retry", "Retriers"), ("Catch", "Catchers")] {
            let Some(value) = state.get_mut(field) else {
                continue;
            };
            let table = if kind == "Retriers" {
                &self.retriers
            } else {
                &self.catchers
            };
            match value {
                Value::String(policy) => match table.get(policy.as_str()) {
                    Some(list) => {
                        self.used.insert((kind, policy.clone()));
                        *value = list.clone();
                    }
                    None => {
                        let known: Vec<&str> = table.keys().map(String::as_str).collect();
                        self.problems.push(format!(
                            "{name}: {field} names \"{policy}\", which {kind} does not define (it has: {})",
                            known.join(", ")
                        ));
                    }
                },
                Value::Array(_) => {
                    expand_list(value, &format!("{name}.{field}"), &mut self.problems)
                }
                _ => self.problems.push(format!(
                    "{name}: {field} must be the name of one of {kind} or a list"
                )),
            }
        }
        if is_lambda_task(state) {
            self.lambda_task(name, state);
        }
        if let Some(Value::String(named)) = state.get("ItemProcessor") {
            let named = named.clone();
            match self.processors.get(&named) {
                Some(p) => {
                    let mut copy = p.clone();
                    // State names are unique in the whole machine: the first Map to use a
                    // processor keeps its names, a later one's are `<name>In<Map>`.
                    if !self.used.insert(("Processors", named)) {
                        rename_states(&mut copy, &format!("In{name}"));
                    }
                    state.insert("ItemProcessor".into(), copy);
                }
                None => self.problems.push(format!(
                    "{name}: ItemProcessor names \"{named}\", which Processors does not define"
                )),
            }
        }
        for key in ["ItemProcessor", "Iterator"] {
            if let Some(states) = state
                .get_mut(key)
                .and_then(|p| p.get_mut("States"))
                .and_then(Value::as_object_mut)
            {
                self.states(states);
            }
        }
        if let Some(branches) = state.get_mut("Branches").and_then(Value::as_array_mut) {
            for branch in branches {
                if let Some(states) = branch.get_mut("States").and_then(Value::as_object_mut) {
                    self.states(states);
                }
            }
        }
    }

    /// A berth Lambda retries every transient name, and no error name of berth's may fail the
    /// execution (each is retried, caught by name, or caught by `States.ALL`).
    fn lambda_task(&mut self, name: &str, state: &Map<String, Value>) {
        let retried = error_equals(state.get("Retry"));
        let caught = error_equals(state.get("Catch"));
        let transient = ErrorName::of(Group::Transient).map(ErrorName::as_str);
        for must in LAMBDA_TASK_RETRIES.iter().copied().chain(transient) {
            if !retried.contains(must) {
                self.problems
                    .push(format!("{name}: a Lambda task must retry {must}"));
            }
        }
        if !caught.contains("States.ALL") {
            for n in ErrorName::ALL {
                if !retried.contains(n.as_str()) && !caught.contains(n.as_str()) {
                    self.problems.push(format!(
                        "{name}: {n} would fail the execution (neither retried nor caught, and no States.ALL catcher)"
                    ));
                }
            }
        }
    }
}

/// A Task whose resource is one of the template's substitutions (every one is a berth function's
/// ARN) or a Lambda ARN.
fn is_lambda_task(state: &Map<String, Value>) -> bool {
    let resource = state.get("Resource").and_then(Value::as_str).unwrap_or("");
    state.get("Type").and_then(Value::as_str) == Some("Task")
        && (resource.starts_with("${") || resource.contains(":lambda:"))
}

/// Every name in the `ErrorEquals` of a Retry or Catch list.
fn error_equals(list: Option<&Value>) -> BTreeSet<&str> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("ErrorEquals").and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// Expand the groups in each `ErrorEquals` of a Retry or Catch list and check every name.
fn expand_list(list: &mut Value, context: &str, problems: &mut Vec<String>) {
    let Some(items) = list.as_array_mut() else {
        problems.push(format!("{context} must be a list"));
        return;
    };
    let last = items.len().saturating_sub(1);
    for (i, item) in items.iter_mut().enumerate() {
        let context = format!("{context}[{i}]");
        let Some(names) = item.get_mut("ErrorEquals") else {
            problems.push(format!("{context} has no ErrorEquals"));
            continue;
        };
        let expanded = expand_names(names, &context, problems);
        if expanded.iter().any(|n| n == "States.ALL") && (expanded.len() > 1 || i != last) {
            problems.push(format!(
                "{context}: States.ALL must be alone, in the last entry (the ASL's rule)"
            ));
        }
        *names = Value::from(expanded);
    }
}

fn expand_names(names: &Value, context: &str, problems: &mut Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let found_before = problems.len();
    let Some(names) = names.as_array() else {
        problems.push(format!("{context}: ErrorEquals must be a list"));
        return out;
    };
    for name in names {
        let Some(name) = name.as_str() else {
            problems.push(format!("{context}: {name} is not a string"));
            continue;
        };
        if let Some(group) = name.strip_prefix('@') {
            match Group::ALL.iter().find(|g| g.as_str() == group) {
                Some(&g) => out.extend(ErrorName::of(g).map(|n| n.as_str().to_owned())),
                None => {
                    let groups: Vec<String> = Group::ALL
                        .iter()
                        .map(|g| format!("@{}", g.as_str()))
                        .collect();
                    problems.push(format!(
                        "{context}: no error group \"{name}\" (berth's groups: {})",
                        groups.join(", ")
                    ));
                }
            }
        } else if ErrorName::ALL.iter().any(|n| n.as_str() == name)
            || STEP_FUNCTIONS_NAMES.contains(&name)
        {
            out.push(name.to_owned());
        } else if ExecutionErrorName::ALL.iter().any(|n| n.as_str() == name) {
            problems.push(format!(
                "{context}: {name} is an execution's outcome (a Fail state gives it): no Lambda raises it"
            ));
        } else {
            problems.push(format!(
                "{context}: unknown error name \"{name}\": no berth Lambda raises it (shared/src/error.rs) and Step Functions does not give it"
            ));
        }
    }
    let mut seen = BTreeSet::new();
    for n in &out {
        if !seen.insert(n) {
            problems.push(format!("{context}: {n} is listed twice"));
        }
    }
    if out.is_empty() && problems.len() == found_before {
        problems.push(format!("{context}: ErrorEquals is empty"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// One Lambda task between a Pass and a Fail, with the given Retry / Catch and policies.
    fn source(retry: Value, catch: Value, retriers: Value, catchers: Value) -> String {
        json!({
            "Comment": "test",
            "Retriers": retriers,
            "Catchers": catchers,
            "StartAt": "Work",
            "States": {
                "Work": {
                    "Type": "Task",
                    "Resource": "${WorkFunctionArn}",
                    "Retry": retry,
                    "Catch": catch,
                    "End": true
                },
                "Failed": {"Type": "Fail"}
            }
        })
        .to_string()
    }

    fn lambda_retry() -> Value {
        json!([
            {"ErrorEquals": ["Lambda.ServiceException", "Lambda.AWSLambdaException",
                             "Lambda.SdkClientException", "Lambda.TooManyRequestsException"],
             "IntervalSeconds": 1},
            {"ErrorEquals": ["@transient"], "IntervalSeconds": 2},
            {"ErrorEquals": ["Sandbox.Timedout"], "MaxAttempts": 1}
        ])
    }

    fn catch_all() -> Value {
        json!([{"ErrorEquals": ["States.ALL"], "Next": "Failed"}])
    }

    fn problems(src: &str) -> String {
        render(src)
            .expect_err("the source must be refused")
            .join("\n")
    }

    fn work(rendered: &str, field: &str) -> Value {
        let doc: Value = serde_json::from_str(rendered).unwrap();
        doc["States"]["Work"][field].clone()
    }

    #[test]
    fn a_named_policy_is_substituted_and_its_groups_expanded() {
        // GIVEN a task naming a retrier and a catcher that use groups
        let src = source(
            json!("lambda"),
            json!("refusals"),
            json!({"lambda": lambda_retry()}),
            json!({"refusals": [
                {"ErrorEquals": ["@refused"], "Next": "Failed"},
                {"ErrorEquals": ["States.ALL"], "Next": "Failed"}
            ]}),
        );
        // WHEN rendered
        let out = render(&src).unwrap().deploy;
        // THEN the policies are in place, with berth's names of each group in declaration order
        let transient: Vec<&str> = ErrorName::of(Group::Transient)
            .map(|n| n.as_str())
            .collect();
        let refused: Vec<&str> = ErrorName::of(Group::Refused).map(|n| n.as_str()).collect();
        assert_eq!(work(&out, "Retry")[1]["ErrorEquals"], json!(transient));
        assert_eq!(work(&out, "Catch")[0]["ErrorEquals"], json!(refused));
        assert!(!out.contains("Retriers") && !out.contains('@'), "{out}");
    }

    #[test]
    fn the_written_key_order_is_kept() {
        // GIVEN keys in an order neither sorted nor ASL's usual
        let src = r#"{"StartAt": "Work", "States": {"Work": {"End": true, "Type": "Pass"}}, "Comment": "last"}"#;
        // WHEN rendered THEN they stay as written (serde_json's `preserve_order`)
        let out = render(src).unwrap().deploy;
        let at = |key: &str| out.find(&format!("\"{key}\"")).unwrap();
        assert!(
            at("StartAt") < at("States") && at("States") < at("Comment"),
            "{out}"
        );
        assert!(at("End") < at("Type"), "{out}");
    }

    #[test]
    fn a_misspelt_error_name_is_refused() {
        let mut retry = lambda_retry();
        retry[1]["ErrorEquals"] = json!(["Throtled", "AwsUnavailable"]);
        let p = problems(&source(retry, catch_all(), json!({}), json!({})));
        assert!(p.contains("unknown error name \"Throtled\""), "{p}");
        // and, the misspelling dropped, Throttled is no longer retried
        assert!(
            p.contains("Work: a Lambda task must retry Throttled"),
            "{p}"
        );
    }

    #[test]
    fn an_execution_outcome_is_not_a_lambda_error() {
        let catch = json!([
            {"ErrorEquals": ["DeploymentRolledBack"], "Next": "Failed"},
            {"ErrorEquals": ["States.ALL"], "Next": "Failed"}
        ]);
        let p = problems(&source(lambda_retry(), catch, json!({}), json!({})));
        assert!(
            p.contains("DeploymentRolledBack is an execution's outcome"),
            "{p}"
        );
    }

    #[test]
    fn an_unknown_group_or_policy_is_refused() {
        let mut retry = lambda_retry();
        retry[1]["ErrorEquals"] = json!(["@transiant"]);
        let p = problems(&source(
            retry,
            json!("after-chnage"),
            json!({}),
            json!({"after-change": catch_all()}),
        ));
        assert!(p.contains("no error group \"@transiant\""), "{p}");
        assert!(
            p.contains("Catch names \"after-chnage\", which Catchers does not define (it has: after-change)"),
            "{p}"
        );
    }

    #[test]
    fn a_policy_no_state_uses_is_refused() {
        let p = problems(&source(
            json!("lambda"),
            catch_all(),
            json!({"lambda": lambda_retry(), "old": lambda_retry()}),
            json!({}),
        ));
        assert_eq!(p, "Retriers.old is defined but no state uses it");
    }

    #[test]
    fn a_lambda_task_that_does_not_retry_a_transient_name_is_refused() {
        let mut retry = lambda_retry();
        retry[1]["ErrorEquals"] = json!(["Throttled"]);
        let p = problems(&source(retry, catch_all(), json!({}), json!({})));
        assert_eq!(p, "Work: a Lambda task must retry AwsUnavailable");
    }

    #[test]
    fn a_lambda_error_that_would_fail_the_execution_is_refused() {
        // GIVEN a catcher that names only the refused group, and no States.ALL
        let catch = json!([{"ErrorEquals": ["@refused"], "Next": "Failed"}]);
        let p = problems(&source(lambda_retry(), catch, json!({}), json!({})));
        // THEN every failed-group name is reported
        for n in ErrorName::of(Group::Failed) {
            assert!(
                p.contains(&format!("Work: {n} would fail the execution")),
                "{p}"
            );
        }
        assert!(!p.contains("InvalidInput"), "{p}");
    }

    #[test]
    fn states_all_must_be_alone_and_last() {
        let catch = json!([
            {"ErrorEquals": ["States.ALL"], "Next": "Failed"},
            {"ErrorEquals": ["@refused", "States.ALL"], "Next": "Failed"}
        ]);
        let p = problems(&source(lambda_retry(), catch, json!({}), json!({})));
        assert!(
            p.contains("Work.Catch[0]: States.ALL must be alone, in the last entry"),
            "{p}"
        );
        assert!(
            p.contains("Work.Catch[1]: States.ALL must be alone, in the last entry"),
            "{p}"
        );
    }

    #[test]
    fn a_name_listed_twice_is_refused() {
        let mut retry = lambda_retry();
        retry[1]["ErrorEquals"] = json!(["@transient", "Throttled"]);
        let p = problems(&source(retry, catch_all(), json!({}), json!({})));
        assert_eq!(p, "Work.Retry[1]: Throttled is listed twice");
    }

    #[test]
    fn a_named_processor_is_copied_into_each_map_with_unique_state_names() {
        let src = json!({
            "Processors": {"work": {"StartAt": "Work", "States": {
                "Work": {"Type": "Pass", "Next": "Done"},
                "Done": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "Work"}], "Default": "End"},
                "End": {"Type": "Succeed"}
            }}},
            "StartAt": "First",
            "States": {
                "First": {"Type": "Map", "ItemProcessor": "work", "Next": "Second"},
                "Second": {"Type": "Map", "ItemProcessor": "work", "End": true}
            }
        });
        let out: Value = serde_json::from_str(&render(&src.to_string()).unwrap().deploy).unwrap();
        let first = &out["States"]["First"]["ItemProcessor"];
        assert_eq!(first["StartAt"], "Work");
        assert_eq!(first["States"]["Work"]["Next"], "Done");
        let second = &out["States"]["Second"]["ItemProcessor"];
        assert_eq!(second["StartAt"], "WorkInSecond");
        assert_eq!(second["States"]["WorkInSecond"]["Next"], "DoneInSecond");
        assert_eq!(
            second["States"]["DoneInSecond"]["Choices"][0]["Next"],
            "WorkInSecond"
        );
        assert_eq!(second["States"]["DoneInSecond"]["Default"], "EndInSecond");
        assert!(out.get("Processors").is_none());
        // a name no processor has, and a processor nobody uses, are refused
        let bad = json!({"Processors": {"work": {"StartAt": "W", "States": {"W": {"Type": "Succeed"}}}},
            "StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": "wrok", "End": true}}});
        let p = problems(&bad.to_string());
        assert!(
            p.contains("M: ItemProcessor names \"wrok\", which Processors does not define"),
            "{p}"
        );
        assert!(
            p.contains("Processors.work is defined but no state uses it"),
            "{p}"
        );
    }

    #[test]
    fn states_inside_a_map_are_rendered_too() {
        let src = json!({
            "Catchers": {"all": catch_all()},
            "StartAt": "Each",
            "States": {
                "Each": {"Type": "Map", "ItemProcessor": {"StartAt": "Work", "States": {
                    "Work": {"Type": "Task", "Resource": "${WorkFunctionArn}", "Catch": "all", "End": true}
                }}, "End": true},
                "Failed": {"Type": "Fail"}
            }
        });
        let p = problems(&src.to_string());
        assert!(
            p.contains("Work: a Lambda task must retry Lambda.ServiceException"),
            "{p}"
        );
        assert!(
            !p.contains("Catchers.all is defined but no state uses it"),
            "{p}"
        );
    }

    #[test]
    fn the_service_machine_shares_the_policies_and_is_checked_the_same() {
        // GIVEN a policy only the service machine uses, and a mistake in it
        let src = json!({
            "Catchers": {"all": catch_all()},
            "StartAt": "Start",
            "States": {"Start": {"Type": "Pass", "End": true}},
            "ServiceMachine": {"StartAt": "Work", "States": {
                "Work": {"Type": "Task", "Resource": "${WorkFunctionArn}", "Catch": "all", "End": true},
                "Failed": {"Type": "Fail"}
            }}
        });
        // THEN the policy counts as used, and the service machine's task is checked
        let p = problems(&src.to_string());
        assert!(!p.contains("Catchers.all"), "{p}");
        assert!(
            p.contains("Work: a Lambda task must retry Lambda.ServiceException"),
            "{p}"
        );
        // AND a correct one is rendered apart, without the ServiceMachine key in the deployment's
        let mut ok = src.clone();
        ok["Retriers"] = json!({"lambda": lambda_retry()});
        ok["ServiceMachine"]["States"]["Work"]["Retry"] = json!("lambda");
        let out = render(&ok.to_string()).unwrap();
        assert!(!out.deploy.contains("ServiceMachine"), "{}", out.deploy);
        let service: Value = serde_json::from_str(out.service.as_deref().unwrap()).unwrap();
        assert_eq!(service["States"]["Work"]["Catch"], catch_all());
    }
}
