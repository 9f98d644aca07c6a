//! The examples pass Plan's checks, and every request in `refused.json` is refused by them.

use berth::image::ImageRef;
use berth::model::ConsoleRequest;
use serde_json::Value;

use crate::current::path;

const EXAMPLES: [&str; 3] = [
    "examples/request.json",
    "examples/request-minimal.json",
    "examples/request-analysis.json",
];
const RELEASE_EXAMPLE: &str = "examples/request-release.json";
const REFUSED: &str = "schema/refused.json";

fn read_json(relative: &str) -> Value {
    let text =
        std::fs::read_to_string(path(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// What Plan checks of a console request before it reads AWS (berth::request, which Plan and the
/// CLI call). What Plan checks next needs AWS (the service, its task definition and container, each
/// alarm).
fn plan_checks(request: &Value) -> berth::Result<ConsoleRequest> {
    berth::request::check_console_request(request, "").map(|(req, _)| req)
}

/// The same for any request: a release's shape, then each of its entries as a console request.
fn plan_checks_any(request: &Value) -> berth::Result<Vec<ConsoleRequest>> {
    match berth::request::check_release_request(request)? {
        Some(release) => release
            .services
            .iter()
            .map(|entry| plan_checks(&entry.request))
            .collect(),
        None => plan_checks(request).map(|req| vec![req]),
    }
}

/// The request README shows under "Starting a deployment by hand": its first ```json block.
fn readme_request() -> Value {
    readme_json("## Starting a deployment by hand")
}

/// The first ```json block after `heading` in README.md.
fn readme_json(heading: &str) -> Value {
    let readme = std::fs::read_to_string(path("README.md")).unwrap();
    let section = readme
        .split_once(heading)
        .unwrap_or_else(|| panic!("README has a section {heading:?}"))
        .1;
    let block = section.split_once("```json\n").expect("a ```json block").1;
    let block = block.split_once("\n```").expect("the block's end").0;
    serde_json::from_str(block).unwrap_or_else(|e| panic!("README's request: {e}"))
}

#[test]
fn the_examples_pass_plans_checks() {
    for example in EXAMPLES {
        let req = plan_checks(&read_json(example)).unwrap_or_else(|e| panic!("{example}: {e}"));
        assert_eq!(req.cluster, "prod", "{example}");
    }
    let full = plan_checks(&read_json(EXAMPLES[0])).unwrap();
    let canary = full.canary.expect("the full example has a canary");
    assert!(full.container.is_some() && full.timeout_seconds.is_some());
    assert!(ImageRef::parse(
        full.image
            .as_deref()
            .expect("the full example names an image")
    )
    .unwrap()
    .digest
    .is_some());
    assert!(canary.metrics.iter().any(|m| m.expression.is_some()));
    assert!(canary.metrics.iter().any(|m| m.metric.is_some()));
    assert!(!canary.alarms.is_empty());
}

#[test]
fn the_release_example_passes_plans_checks_entry_by_entry() {
    let doc = read_json(RELEASE_EXAMPLE);
    let release = berth::request::check_release_request(&doc)
        .unwrap()
        .expect("a release");
    assert_eq!(
        release.services.iter().map(|e| e.wave).collect::<Vec<_>>(),
        [1, 2]
    );
    let reqs = plan_checks_any(&doc).unwrap();
    assert_eq!(
        reqs.iter().map(|r| r.service.as_str()).collect::<Vec<_>>(),
        ["api", "worker"]
    );
}

#[test]
fn the_readme_request_passes_plans_checks() {
    plan_checks(&readme_request()).unwrap();
}

#[test]
fn the_readme_analysis_request_passes_plans_checks() {
    let req = plan_checks(&readme_json("## Statistical canary analysis")).unwrap();
    let canary = req.canary.expect("a canary");
    assert!(canary.analysis.is_some());
    assert!(canary.metrics.iter().all(|m| m.compare.is_some()));
}

#[test]
fn every_refused_request_is_refused_with_its_error() {
    let doc = read_json(REFUSED);
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 20, "{}", cases.len());
    for case in cases {
        let why = case["why"].as_str().unwrap();
        let want = case["rust"].as_str().unwrap();
        match plan_checks_any(&case["request"]) {
            Ok(_) => panic!("{REFUSED}: {why:?} passes Plan's checks"),
            Err(e) => assert!(
                e.message().contains(want),
                "{REFUSED}: {why:?} is refused, but with {:?}, not {want:?}",
                e.message()
            ),
        }
    }
}
