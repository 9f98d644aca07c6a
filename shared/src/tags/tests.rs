use std::collections::BTreeSet;
use std::ops::RangeInclusive;

use super::*;
use crate::error::ErrorName;
use crate::model::limits;

/// Every tag key a Rust module reads or writes on a service.
fn keys_in_code() -> BTreeSet<&'static str> {
    use crate::{codedeploy, control, gates, migration, release, stop_start};
    BTreeSet::from([
        keys::REPOSITORY,
        keys::CONTAINER,
        keys::TIMEOUT_SECONDS,
        keys::BAKE_SECONDS,
        keys::ALARMS,
        keys::LOAD_BALANCER,
        keys::MAX_5XX_PERCENT,
        keys::MAX_P99_SECONDS,
        keys::CANARY_ANALYSIS,
        keys::APPROVAL,
        gates::tags::SCAN,
        gates::tags::SCAN_NO_SCAN,
        gates::tags::SCAN_MAX_WAIT_SECONDS,
        gates::tags::FREEZE,
        gates::tags::FREEZE_TIME_ZONE,
        gates::tags::FREEZE_ACTION,
        release::tags::NAME,
        release::tags::WAVE,
        migration::tags::COMMAND,
        migration::tags::TASK_DEFINITION,
        migration::tags::CONTAINER,
        migration::tags::TIMEOUT_SECONDS,
        stop_start::TAG,
        codedeploy::TAG_APPLICATION,
        codedeploy::TAG_DEPLOYMENT_GROUP,
        control::TAG,
    ])
}

fn check(tags: &[(&str, &str)]) -> Result<()> {
    check_service("web", tags.iter().copied())
}

fn refused(tags: &[(&str, &str)]) -> String {
    let e = check(tags).expect_err("refused");
    assert_eq!(e.name(), ErrorName::InvalidInput, "{e:?}");
    e.message().to_owned()
}

#[test]
fn the_table_lists_exactly_the_tags_the_code_reads() {
    let table: BTreeSet<&str> = TABLE.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(table.len(), TABLE.len(), "a key is listed twice");
    assert_eq!(table, keys_in_code());
}

#[test]
fn every_tag_with_its_companions_and_example_passes() {
    for t in TABLE.iter() {
        let mut tags: Vec<(&str, &str)> = t
            .with
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        tags.push((&t.key, &t.example));
        check(&tags).unwrap_or_else(|e| panic!("{}: {e:?}", t.key));
        for n in t.needs.iter().chain(t.with.keys()) {
            assert!(spec(n).is_some(), "{} names {n}, not in the table", t.key);
        }
        for n in &t.needs {
            assert!(
                t.with.contains_key(n),
                "{}: a tag it needs is not in `with`",
                t.key
            );
        }
    }
}

#[test]
fn the_table_s_ranges_are_the_code_s() {
    let range = |key: &str| {
        let t = spec(key).unwrap();
        (t.min.unwrap() as u64, t.max.unwrap() as u64)
    };
    let of = |r: RangeInclusive<u64>| (*r.start(), *r.end());
    assert_eq!(range(keys::TIMEOUT_SECONDS), of(limits::TIMEOUT_SECONDS));
    assert_eq!(range(keys::BAKE_SECONDS), of(limits::BAKE_SECONDS));
    assert_eq!(range(keys::APPROVAL), of(limits::APPROVAL_TIMEOUT_SECONDS));
    assert_eq!(
        range(crate::migration::tags::TIMEOUT_SECONDS),
        of(limits::MIGRATION_TIMEOUT_SECONDS)
    );
    assert_eq!(
        range(crate::gates::tags::SCAN_MAX_WAIT_SECONDS),
        of(crate::gates::SCAN_MAX_WAIT_SECONDS)
    );
    assert_eq!(
        range(crate::release::tags::WAVE),
        (1, crate::release::MAX_WAVE as u64)
    );
    assert_eq!(range(crate::stop_start::TAG), of(limits::TIMEOUT_SECONDS));
}

#[test]
fn an_empty_or_blank_value_is_refused_for_every_tag_a_user_sets() {
    for t in TABLE.iter().filter(|t| t.set_by.is_none()) {
        for blank in ["", "   "] {
            let mut tags: Vec<(&str, &str)> = t
                .with
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            tags.push((&t.key, blank));
            let m = refused(&tags);
            assert!(m.contains(&t.key) && m.contains("is empty"), "{m}");
        }
    }
}

#[test]
fn a_misspelt_key_is_refused_with_the_nearest_one() {
    let m = refused(&[("berth:bake-second", "60")]);
    assert!(m.contains("did you mean berth:bake-seconds?"), "{m}");
    let m = refused(&[("berth:something-else-entirely", "1")]);
    assert!(
        m.contains("is not a berth tag") && !m.contains("did you mean"),
        "{m}"
    );
}

#[test]
fn other_tags_are_not_ours_to_check() {
    check(&[
        ("team", ""),
        ("Berth:bake", "x"),
        ("aws:cloudformation:stack-name", "s"),
    ])
    .unwrap();
}

#[test]
fn a_value_of_the_wrong_kind_or_out_of_range_is_refused() {
    let with_bake = |k: &'static str, v: &'static str| {
        vec![
            (keys::BAKE_SECONDS, "60"),
            (keys::LOAD_BALANCER, "app/a/b"),
            (k, v),
        ]
    };
    for (tags, says) in [
        (
            vec![(keys::TIMEOUT_SECONDS, "0")],
            "a whole number from 1 to 86400",
        ),
        (vec![(keys::TIMEOUT_SECONDS, "86401")], "from 1 to 86400"),
        (vec![(keys::TIMEOUT_SECONDS, "-5")], "whole number"),
        (vec![(keys::TIMEOUT_SECONDS, "+5")], "whole number"),
        (vec![(keys::TIMEOUT_SECONDS, "1e3")], "whole number"),
        (
            vec![(keys::TIMEOUT_SECONDS, "99999999999999999999999")],
            "whole number",
        ),
        (
            with_bake(keys::MAX_5XX_PERCENT, "NaN"),
            "a number from 0 to 100",
        ),
        (with_bake(keys::MAX_5XX_PERCENT, "inf"), "a number"),
        (with_bake(keys::MAX_5XX_PERCENT, "101"), "0 to 100"),
        (
            with_bake(keys::CANARY_ANALYSIS, "statistic"),
            "\"statistical\" or \"thresholds\"",
        ),
        (
            vec![(keys::APPROVAL, "yes")],
            "\"required\" or a whole number",
        ),
        (vec![(keys::CONTAINER, "my app")], "a name of letters"),
        (vec![(keys::CONTAINER, "app=x")], "a name of letters"),
        (
            vec![(keys::BAKE_SECONDS, "60"), (keys::ALARMS, "a,,b")],
            "none empty",
        ),
    ] {
        let m = refused(&tags);
        assert!(m.contains(says), "{tags:?}: {m}");
    }
    let long = "a".repeat(257);
    assert!(refused(&[(keys::REPOSITORY, long.as_str())]).contains("at most 256"));
}

#[test]
fn a_tag_without_the_tags_it_needs_is_refused() {
    let m = refused(&[(keys::ALARMS, "web-5xx")]);
    assert!(
        m.contains("sets berth:alarms but not berth:bake-seconds"),
        "{m}"
    );
    let m = refused(&[("berth:release-wave", "2")]);
    assert!(m.contains("but not berth:release"), "{m}");
    let m = refused(&[("berth:migration-container", "app")]);
    assert!(m.contains("but not berth:migration-command"), "{m}");
}

#[test]
fn a_tag_berth_writes_is_left_to_its_own_reader() {
    check(&[(crate::control::TAG, "")]).unwrap();
}
