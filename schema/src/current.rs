//! `request.schema.json` must be what the Rust types give today; BERTH_BLESS=1 rewrites it.

use std::path::PathBuf;

use berth::model::{limits, ConsoleRequest};
use berth::release;
use serde_json::{json, Value};

const BLESS: &str = "BERTH_BLESS=1 cargo test -p berth-schema";
pub const SCHEMA: &str = "schema/request.schema.json";
const FROM: &str = "shared/src/model.rs (ConsoleRequest and what it nests) and schema/src/current.rs (the release form)";

pub fn path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// The schema of a deployment request, as a deserializer reads it (fields with a default are
/// optional), in JSON Schema 2020-12: a console request (`ConsoleRequest`), or a release of several
/// (`ReleaseRequest`: each entry a console request with its `wave`, as
/// `berth::request::check_release_request` reads it).
fn request_schema() -> String {
    let Value::Object(mut console) = schemars::schema_for!(ConsoleRequest).to_value() else {
        panic!("schemars gave a schema that is not an object")
    };
    let mut defs = match console.remove("$defs") {
        Some(Value::Object(defs)) => defs,
        _ => serde_json::Map::new(),
    };
    let dialect = console
        .remove("$schema")
        .expect("schemars names the dialect");
    console.remove("title");
    let mut entry = console.clone();
    entry.insert(
        "description".into(),
        json!("One service of a release: a console request, with its wave."),
    );
    entry["properties"]["wave"] = json!({
        "type": "integer",
        "description": "The release's wave this service ships in: wave 1 first, each next wave once every service of the one before is deployed (README, \"Release groups\").",
        "minimum": 1,
        "maximum": release::MAX_WAVE,
        "default": 1,
    });
    defs.insert("ConsoleRequest".into(), Value::Object(console));
    defs.insert("ReleaseEntry".into(), Value::Object(entry));
    defs.insert(
        "ReleaseRequest".into(),
        json!({
            "description": "Several services deployed as one release, all or nothing, in waves (README, \"Release groups\").",
            "type": "object",
            "additionalProperties": false,
            "required": ["release"],
            "properties": {"release": {
                "type": "object",
                "additionalProperties": false,
                "required": ["name", "services"],
                "properties": {
                    "name": {"type": "string", "description": "The release's name (what `berth:release` tags name).",
                             "minLength": 1, "maxLength": limits::NAME_CHARS, "pattern": "\\S"},
                    "services": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/ReleaseEntry"}},
                },
            }},
        }),
    );
    let mut doc = serde_json::Map::new();
    doc.insert("$schema".into(), dialect);
    doc.insert("title".into(), json!("DeploymentRequest"));
    doc.insert(
        "description".into(),
        json!("A deployment request typed by hand in the Step Functions console or sent by a CLI: one service's (ConsoleRequest) or a release's (ReleaseRequest). Plan checks it again, and also what a schema cannot say (the image reference's grammar, the metric-math expression, the statistic, each alarm's existence, a service listed twice in a release): Plan is the authority. The state machine also takes an ECR \"Image Action\" event, which this schema does not describe."),
    );
    doc.insert(
        "oneOf".into(),
        json!([{"$ref": "#/$defs/ConsoleRequest"}, {"$ref": "#/$defs/ReleaseRequest"}]),
    );
    doc.insert("$defs".into(), Value::Object(defs));
    let note = format!("Generated from {FROM}: edit the Rust, then {BLESS}");
    finish(doc, &note)
}

/// The generated schema as it is written: `note` as its `$comment`, what the document is first and
/// then the properties in the order of the Rust fields, descriptions on one line each.
pub(crate) fn finish(mut generated: serde_json::Map<String, Value>, note: &str) -> String {
    generated.insert("$comment".into(), json!(note));
    let mut out = serde_json::Map::new();
    for key in ["$schema", "$comment", "title", "description"] {
        if let Some(v) = generated.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    for (k, v) in generated {
        out.entry(k).or_insert(v);
    }
    let mut doc = Value::Object(out);
    unwrap_descriptions(&mut doc);
    serde_json::to_string_pretty(&doc).unwrap() + "\n"
}

/// Doc comments are wrapped at 100 columns; an editor's tooltip wraps by itself, so a description
/// keeps only its paragraph breaks.
pub(crate) fn unwrap_descriptions(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                match v {
                    Value::String(s) if k == "description" => {
                        *s = s
                            .split("\n\n")
                            .map(|p| p.replace('\n', " "))
                            .collect::<Vec<_>>()
                            .join("\n\n");
                    }
                    _ => unwrap_descriptions(v),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}

/// Fail unless `relative` holds what the Rust types give; under `BERTH_BLESS=1`, write it instead.
fn check(relative: &str, want: &str) {
    berth::testing::assert_current(env!("CARGO_MANIFEST_DIR"), relative, want, FROM, BLESS);
}

#[test]
fn request_schema_json_is_generated_from_the_rust_types() {
    check(SCHEMA, &request_schema());
}

#[test]
fn the_schema_refuses_unknown_fields_at_every_level() {
    let schema: Value = serde_json::from_str(&request_schema()).unwrap();
    assert_eq!(
        schema["$defs"]["ReleaseRequest"]["properties"]["release"]["additionalProperties"],
        json!(false)
    );
    for def in [
        "ConsoleRequest",
        "ReleaseRequest",
        "ReleaseEntry",
        "CanaryConfig",
        "MetricCheck",
        "MetricSpec",
    ] {
        assert_eq!(
            schema["$defs"][def]["additionalProperties"],
            json!(false),
            "{def}"
        );
    }
}
