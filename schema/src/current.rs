//! `request.schema.json` must be what the Rust types give today; BERTH_BLESS=1 rewrites it.

use std::path::PathBuf;

use berth::model::ConsoleRequest;
use serde_json::{json, Value};

const BLESS: &str = "BERTH_BLESS=1 cargo test -p berth-schema";
pub const SCHEMA: &str = "schema/request.schema.json";
const FROM: &str = "shared/src/model.rs (ConsoleRequest and what it nests)";

pub fn path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// The schema of the console request, as a deserializer reads it (fields with a default are
/// optional), in JSON Schema 2020-12.
fn request_schema() -> String {
    let Value::Object(generated) = schemars::schema_for!(ConsoleRequest).to_value() else {
        panic!("schemars gave a schema that is not an object")
    };
    let note = format!("Generated from {FROM}: edit the Rust, then {BLESS}");
    finish(generated, &note)
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
    assert_eq!(schema["additionalProperties"], json!(false));
    for def in ["CanaryConfig", "MetricCheck", "MetricSpec"] {
        assert_eq!(
            schema["$defs"][def]["additionalProperties"],
            json!(false),
            "{def}"
        );
    }
}
