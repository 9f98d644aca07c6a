//! `event.schema.json`, the `detail` of berth's deployment events, must be what
//! `berth::events::DeploymentEvent` gives today; BERTH_BLESS=1 rewrites it. README's example event
//! must be one berth would publish.

use berth::events::{DeploymentEvent, Phase, DETAIL_TYPE, SOURCE};
use serde_json::Value;

use crate::current::{finish, path};

const BLESS: &str = "BERTH_BLESS=1 cargo test -p berth-schema";
pub const SCHEMA: &str = "schema/event.schema.json";
const FROM: &str = "shared/src/events.rs (DeploymentEvent and what it nests)";

/// The schema of an event's `detail`, in JSON Schema 2020-12.
fn event_schema() -> String {
    let Value::Object(generated) = schemars::schema_for!(DeploymentEvent).to_value() else {
        panic!("schemars gave a schema that is not an object")
    };
    let note = format!(
        "Generated from {FROM}: edit the Rust, then {BLESS}. The detail of the EventBridge events \
         with source {SOURCE:?} and detail-type {DETAIL_TYPE:?}."
    );
    finish(generated, &note)
}

#[test]
fn event_schema_json_is_generated_from_the_rust_types() {
    berth::testing::assert_current(
        env!("CARGO_MANIFEST_DIR"),
        SCHEMA,
        &event_schema(),
        FROM,
        BLESS,
    );
}

#[test]
fn the_schema_requires_what_every_event_names_and_lists_every_phase() {
    let schema: Value = serde_json::from_str(&event_schema()).unwrap();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for field in [
        "phase",
        "cluster",
        "service",
        "image",
        "deploymentId",
        "execution",
    ] {
        assert!(required.contains(&field), "{field} is not required");
    }
    let phases = serde_json::to_string(&schema["$defs"]["Phase"]).unwrap();
    for phase in [
        Phase::Started,
        Phase::AwaitingApproval,
        Phase::Deploying,
        Phase::RollingBack,
        Phase::Finished,
    ] {
        let name = serde_json::to_value(phase).unwrap();
        assert!(phases.contains(&name.to_string()), "{name} missing");
    }
}

/// The event README shows under "Deployment events": its first ```json block.
fn readme_event() -> Value {
    let readme = std::fs::read_to_string(path("README.md")).unwrap();
    let section = readme
        .split_once("## Deployment events")
        .expect("README has a section \"Deployment events\"")
        .1;
    let block = section.split_once("```json\n").expect("a ```json block").1;
    let block = block.split_once("\n```").expect("the block's end").0;
    serde_json::from_str(block).unwrap_or_else(|e| panic!("README's event: {e}"))
}

#[test]
fn the_readme_event_is_one_berth_publishes() {
    let event = readme_event();
    assert_eq!(event["source"], SOURCE);
    assert_eq!(event["detail-type"], DETAIL_TYPE);
    let detail: DeploymentEvent = serde_json::from_value(event["detail"].clone())
        .unwrap_or_else(|e| panic!("README's event detail: {e}"));
    // every field is one berth writes, spelt as berth spells it
    assert_eq!(serde_json::to_value(&detail).unwrap(), event["detail"]);
}
