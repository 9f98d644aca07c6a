//! The `berth:*` service tags: one table (`schema/tags.json`, embedded here) and one check of
//! every such tag a service carries, run by Plan before anything is registered or changed. A key
//! the table does not list, an empty or blank value, a value of the wrong kind or out of range,
//! and a tag without the tags it needs are all `InvalidInput`: a typo never switches a feature off.
//! The features then read their tags (`gates`, `migration`, `release`, ...) knowing each is there
//! with a value of its kind.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

use crate::error::{Error, Result};

/// The tags Plan reads itself: the repository a push deploys and the container it replaces
/// (README, "ECR push trigger"), the rollout timeout, the canary bake and the approval gate.
pub mod keys {
    pub const REPOSITORY: &str = "berth:repository";
    pub const CONTAINER: &str = "berth:container";
    pub const TIMEOUT_SECONDS: &str = "berth:timeout-seconds";
    pub const BAKE_SECONDS: &str = "berth:bake-seconds";
    pub const ALARMS: &str = "berth:alarms";
    pub const LOAD_BALANCER: &str = "berth:load-balancer";
    pub const MAX_5XX_PERCENT: &str = "berth:max-5xx-percent";
    pub const MAX_P99_SECONDS: &str = "berth:max-p99-seconds";
    pub const CANARY_ANALYSIS: &str = "berth:canary-analysis";
    pub const APPROVAL: &str = "berth:approval";
}

/// The table, as `schema/tags.json` has it (its `//` comment documents the fields).
pub static TABLE: LazyLock<Vec<TagSpec>> = LazyLock::new(|| {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Table {
        #[serde(rename = "//")]
        _comment: String,
        tags: Vec<TagSpec>,
    }
    // Embedded at compile time and parsed by this module's tests: it cannot fail in a Lambda.
    serde_json::from_str::<Table>(include_str!("../../schema/tags.json"))
        .expect("schema/tags.json parses (shared/src/tags.rs tests)")
        .tags
});

/// One tag of the table.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TagSpec {
    pub key: String,
    pub value: Kind,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    /// An `enum`'s values.
    #[serde(default)]
    pub values: Vec<String>,
    /// A `word`'s words (the other choice is an integer in min..max).
    #[serde(default)]
    pub words: Vec<String>,
    #[serde(default)]
    pub max_length: Option<usize>,
    pub example: String,
    pub doc: String,
    /// Tags without which this one means nothing.
    #[serde(default)]
    pub needs: Vec<String>,
    /// The tags, with values, that make a service carrying this one valid (for the tests).
    #[serde(default)]
    pub with: BTreeMap<String, String>,
    /// What the value names and Plan resolves: `container`, `alarm`, `task-definition`.
    #[serde(default)]
    pub references: Option<String>,
    /// `berth` for the tags berth writes itself (their own parser checks them where they are read).
    #[serde(default)]
    pub set_by: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Integer,
    Number,
    Enum,
    Word,
    Name,
    List,
    Text,
}

/// The table's entry for `key`.
pub fn spec(key: &str) -> Option<&'static TagSpec> {
    TABLE.iter().find(|t| t.key == key)
}

/// Check every `berth:*` tag of the service against the table. `tags` are (key, value) as ECS
/// returns them (values untrimmed).
pub fn check_service<'a>(
    service: &str,
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<()> {
    let ours: BTreeMap<&str, &str> = tags
        .into_iter()
        .filter(|(k, _)| k.starts_with("berth:"))
        .collect();
    // Unknown keys first (a misspelt key is the cause of whatever else looks missing), then
    // each value, then the tags each needs.
    let mut specs = Vec::with_capacity(ours.len());
    for (&key, &value) in &ours {
        let Some(spec) = spec(key) else {
            return Err(Error::invalid_input(format!(
                "service {service} tag {key} is not a berth tag{}: README, \"Service tags\", lists them",
                suggestion(key)
                    .map(|s| format!(" (did you mean {s}?)"))
                    .unwrap_or_default()
            )));
        };
        if spec.set_by.is_none() {
            specs.push((spec, value));
        }
    }
    for &(spec, value) in &specs {
        check_value(spec, value.trim()).map_err(|why| {
            Error::invalid_input(format!(
                "service {service} tag {}={value:?} {why}",
                spec.key
            ))
        })?;
    }
    for &(spec, _) in &specs {
        if let Some(missing) = spec.needs.iter().find(|n| !ours.contains_key(n.as_str())) {
            return Err(Error::invalid_input(format!(
                "service {service} sets {} but not {missing}: {} means nothing without it",
                spec.key, spec.key
            )));
        }
    }
    Ok(())
}

/// Why a (trimmed) value is not one the tag takes.
fn check_value(spec: &TagSpec, v: &str) -> std::result::Result<(), String> {
    if v.is_empty() {
        return Err(format!(
            "is empty: set it to {} or remove the tag",
            expected(spec)
        ));
    }
    if let Some(max) = spec.max_length {
        let n = v.chars().count();
        if n > max {
            return Err(format!("is {n} characters long, at most {max}"));
        }
    }
    let in_range = |x: f64| spec.min.is_none_or(|m| x >= m) && spec.max.is_none_or(|m| x <= m);
    let integer = |v: &str| {
        v.bytes().all(|b| b.is_ascii_digit()) && v.parse::<u64>().is_ok_and(|x| in_range(x as f64))
    };
    let ok = match spec.value {
        Kind::Integer => integer(v),
        Kind::Number => v.parse::<f64>().is_ok_and(|x| x.is_finite() && in_range(x)),
        Kind::Enum => spec.values.iter().any(|w| w.eq_ignore_ascii_case(v)),
        Kind::Word => spec.words.iter().any(|w| w.eq_ignore_ascii_case(v)) || integer(v),
        Kind::Name => v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@+".contains(c)),
        Kind::List => v.split(',').all(|item| !item.trim().is_empty()),
        Kind::Text => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("is not {}", expected(spec)))
    }
}

/// What the tag takes, in words.
fn expected(spec: &TagSpec) -> String {
    let range = || match (spec.min, spec.max) {
        (Some(a), Some(b)) => format!("{a} to {b}"),
        _ => "a number".to_owned(),
    };
    let quoted = |ws: &[String]| {
        ws.iter()
            .map(|w| format!("{w:?}"))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    match spec.value {
        Kind::Integer => format!("a whole number from {}", range()),
        Kind::Number => format!("a number from {}", range()),
        Kind::Enum => quoted(&spec.values),
        Kind::Word => format!("{} or a whole number from {}", quoted(&spec.words), range()),
        Kind::Name => "a name of letters, digits and - _ . / : @ +".to_owned(),
        Kind::List => "names separated by commas, none empty".to_owned(),
        Kind::Text => "a value".to_owned(),
    }
}

/// The table's key nearest a misspelt one (at most 3 edits away).
fn suggestion(key: &str) -> Option<&'static str> {
    TABLE
        .iter()
        .map(|t| (strsim::levenshtein(key, &t.key), t.key.as_str()))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests;
