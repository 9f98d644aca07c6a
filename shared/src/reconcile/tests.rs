use super::*;

const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const D3: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";

fn at(secs: i64) -> Option<DateTime> {
    Some(DateTime::from_secs(1_795_000_000 + secs))
}

fn image(digest: &str, tags: &[&str], pushed: Option<DateTime>) -> RepoImage {
    RepoImage {
        digest: digest.into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        pushed_at: pushed,
    }
}

fn pattern(p: &str) -> TagPattern {
    TagPattern::parse("TagPattern", p).unwrap()
}

fn runs(d: &str) -> Running {
    Running::Digest(d.into())
}

fn deployed(decision: &Decision) -> &str {
    match decision {
        Decision::Deploy { image, .. } => &image.digest,
        other => panic!("expected a deploy, got {other:?}"),
    }
}

fn skipped(decision: &Decision) -> &str {
    match decision {
        Decision::Skip { reason } => reason,
        other => panic!("expected a skip, got {other:?}"),
    }
}

// ------------------------------------------------------------------ tag patterns

#[test]
fn wildcards_match_as_the_push_rule_matches() {
    // GIVEN EventBridge's wildcard semantics: * is any run of characters, the rest is literal
    let cases = [
        ("release-*", "release-1.2", true),
        ("release-*", "release-", true),
        ("release-*", "Release-1", false),
        ("release-*", "pre-release-1", false),
        ("*-prod", "v2-prod", true),
        ("*-prod", "v2-prod-x", false),
        ("v*.*-rc*", "v1.2-rc3", true),
        ("v*.*-rc*", "v12-rc3", false),
        ("a*a", "a", false),
        ("a*a", "aa", true),
        ("latest", "latest", true),
        ("latest", "latest2", false),
        ("*", "anything", true),
        ("\\*", "*", true),
        ("\\*", "x", false),
        ("a\\\\b", "a\\b", true),
    ];
    for (p, tag, want) in cases {
        // WHEN matched THEN as EventBridge would
        assert_eq!(pattern(p).matches(tag), want, "{p:?} vs {tag:?}");
    }
}

#[test]
fn an_unparsable_pattern_is_refused_with_the_setting_named() {
    for (bad, why) in [
        ("release-**", "consecutive wildcards"),
        ("v\\1", "escapes nothing"),
        ("v1\\", "lone backslash"),
        ("", "empty"),
    ] {
        let e = TagPattern::parse("BERTH_TAG_PATTERN", bad).unwrap_err();
        assert_eq!(e.name(), "InvalidInput");
        assert!(e.message().contains("BERTH_TAG_PATTERN"), "{}", e.message());
        assert!(e.message().contains(why), "{bad:?}: {}", e.message());
    }
}

#[test]
fn images_without_tags_match_only_the_any_pattern() {
    // GIVEN a push by digest (no tag)
    let untagged: Vec<String> = vec![];
    // THEN the template's `*` (no tag filter in the rule) admits it, a real filter does not
    assert!(TagPattern::any().admits(&untagged));
    assert!(pattern("*").admits(&untagged));
    assert!(!pattern("release-*").admits(&untagged));
    // and an image with several tags is admitted when any one matches
    assert!(pattern("release-*").admits(&["latest".into(), "release-7".into()]));
}

// ------------------------------------------------------------------ newest by push time

#[test]
fn the_newest_matching_image_is_the_one_pushed_last() {
    let images = [
        image(D1, &["release-1"], at(0)),
        image(D2, &["release-2"], at(60)),
        image(D3, &["nightly"], at(120)),
    ];
    assert_eq!(
        newest_matching(&images, &pattern("release-*"))
            .iter()
            .map(|i| i.digest.as_str())
            .collect::<Vec<_>>(),
        [D2]
    );
    assert_eq!(newest_matching(&images, &pattern("*"))[0].digest, D3);
    assert!(newest_matching(&images, &pattern("hotfix-*")).is_empty());
}

#[test]
fn a_missed_push_is_deployed_with_its_matching_tag() {
    // GIVEN the service runs release-1 and release-2 was pushed later with no event
    let images = [
        image(D1, &["release-1"], at(0)),
        image(D2, &["latest", "release-2"], at(60)),
    ];
    // WHEN the sweep decides
    let d = decide(&images, &pattern("release-*"), &runs(D1));
    // THEN it deploys release-2, named by the tag the rule would have matched
    assert_eq!(
        d,
        Decision::Deploy {
            image: images[1].clone(),
            tag: Some("release-2".into()),
            tied: 0
        }
    );
}

#[test]
fn a_service_on_the_newest_image_is_up_to_date() {
    let images = [image(D1, &["v1"], at(0)), image(D2, &["v2"], at(60))];
    assert_eq!(
        decide(&images, &pattern("*"), &runs(D2)),
        Decision::UpToDate { digest: D2.into() }
    );
}

#[test]
fn a_service_running_a_newer_image_is_not_downgraded() {
    // GIVEN the service runs D3, pushed after the newest release-* image (deployed by hand, or a
    // tag the pattern does not match)
    let images = [
        image(D2, &["release-2"], at(60)),
        image(D3, &["hotfix"], at(120)),
    ];
    // WHEN the sweep decides THEN it starts nothing and says why
    let d = decide(&images, &pattern("release-*"), &runs(D3));
    let why = skipped(&d);
    assert!(why.contains("not downgrading"), "{why}");
    assert!(
        why.contains("after the newest image matching \"release-*\""),
        "{why}"
    );
    assert!(why.contains("sha256:333333333333"), "{why}");
}

#[test]
fn an_image_pushed_at_the_same_instant_as_the_running_one_is_not_deployed_over_it() {
    // GIVEN a running image that does not match the pattern, pushed at the same instant as the
    // newest matching one: neither is newer
    let images = [
        image(D1, &["release-1"], at(60)),
        image(D2, &["hotfix"], at(60)),
    ];
    let why = decide(&images, &pattern("release-*"), &runs(D2));
    assert!(skipped(&why).contains("at the same time as"), "{why:?}");
}

#[test]
fn ties_in_push_time_pick_one_image_the_same_way_every_time() {
    // GIVEN two matching images pushed at the same instant, both newer than what runs
    let images = [
        image(D3, &["a"], at(60)),
        image(D1, &["old"], at(0)),
        image(D2, &["b"], at(60)),
    ];
    // WHEN decided, in any listing order
    let d = decide(&images, &pattern("*"), &runs(D1));
    let mut reversed = images.to_vec();
    reversed.reverse();
    let e = decide(&reversed, &pattern("*"), &runs(D1));
    // THEN the same one (the greater digest), with the tie reported
    assert_eq!(deployed(&d), D3);
    assert_eq!(d, e);
    assert!(matches!(d, Decision::Deploy { tied: 1, .. }));
    // AND once it runs, its tied sibling does not flip it back
    assert_eq!(
        decide(&images, &pattern("*"), &runs(D3)),
        Decision::UpToDate { digest: D3.into() }
    );
    assert_eq!(
        decide(&images, &pattern("*"), &runs(D2)),
        Decision::UpToDate { digest: D2.into() }
    );
}

#[test]
fn an_untagged_image_is_deployed_only_under_the_any_pattern() {
    // GIVEN the newest image was pushed by digest (no tag)
    let images = [image(D1, &["v1"], at(0)), image(D2, &[], at(60))];
    // THEN `*` deploys it with no tag, and `v*` keeps the service on v1
    assert_eq!(
        decide(&images, &pattern("*"), &runs(D1)),
        Decision::Deploy {
            image: images[1].clone(),
            tag: None,
            tied: 0
        }
    );
    assert_eq!(
        decide(&images, &pattern("v*"), &runs(D1)),
        Decision::UpToDate { digest: D1.into() }
    );
}

#[test]
fn a_running_image_not_in_the_repository_is_left_alone() {
    let images = [image(D1, &["v1"], at(0))];
    let why = decide(&images, &pattern("*"), &runs(D3));
    assert!(skipped(&why).contains("not in the repository"), "{why:?}");
    let other = decide(
        &images,
        &pattern("*"),
        &Running::OtherRepository("public.ecr.aws/nginx/nginx:1.27".into()),
    );
    assert!(skipped(&other).contains("nginx:1.27"), "{other:?}");
    let unknown = decide(
        &images,
        &pattern("*"),
        &Running::Unknown("no running task reports a digest".into()),
    );
    assert!(skipped(&unknown).contains("cannot tell"), "{unknown:?}");
}

#[test]
fn an_empty_repository_or_no_matching_tag_starts_nothing() {
    assert!(skipped(&decide(&[], &pattern("*"), &runs(D1))).contains("no image"));
    let images = [image(D1, &["v1"], at(0))];
    let why = decide(&images, &pattern("release-*"), &runs(D1));
    assert!(
        skipped(&why).contains("no image tagged to match \"release-*\""),
        "{why:?}"
    );
}

#[test]
fn images_without_a_push_time_are_never_chosen() {
    let images = [image(D1, &["v1"], at(0)), image(D2, &["v2"], None)];
    assert_eq!(
        decide(&images, &pattern("*"), &runs(D1)),
        Decision::UpToDate { digest: D1.into() }
    );
    let why = decide(&images, &pattern("*"), &runs(D2));
    assert!(skipped(&why).contains("push time"), "{why:?}");
}

#[test]
fn the_decision_reads_every_page_of_the_listing() {
    // GIVEN a listing that arrived in pages (DescribeImages, 1000 a page) concatenated: the newest
    // image is on the last page, the running one on the first
    let mut images: Vec<RepoImage> = (0..2500)
        .map(|n| image(&format!("sha256:{n:064x}"), &[&format!("b{n}")], at(n)))
        .collect();
    images.rotate_left(7);
    let running = format!("sha256:{:064x}", 10);
    let d = decide(&images, &pattern("b*"), &Running::Digest(running));
    assert_eq!(deployed(&d), format!("sha256:{:064x}", 2499));
}

// ------------------------------------------------------------------ reading the task definition

#[test]
fn the_running_digest_is_read_from_a_pinned_image_of_the_repository() {
    let ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
    assert_eq!(
        pinned_digest(&format!("{ecr}/web:v2@{D2}"), "web"),
        Ok(Some(D2.into()))
    );
    assert_eq!(pinned_digest(&format!("{ecr}/web:v2"), "web"), Ok(None));
    assert_eq!(
        pinned_digest(&format!("{ecr}/team/web@{D1}"), "team/web"),
        Ok(Some(D1.into()))
    );
    assert!(pinned_digest("nginx:1.27", "web").is_err());
    assert!(pinned_digest(&format!("{ecr}/worker@{D1}"), "web").is_err());
}

// ------------------------------------------------------------------ the summary

#[test]
fn the_summary_says_what_happened_to_each_service() {
    let outcome = |service: &str, outcome, name: Option<&str>, detail: &str| ServiceOutcome {
        cluster: "prod".into(),
        service: service.into(),
        repository: Some(service.into()),
        outcome,
        execution_name: name.map(str::to_owned),
        detail: detail.into(),
    };
    let sweep = Sweep::new(
        &pattern("*"),
        vec![
            outcome(
                "web",
                Outcome::Started,
                Some("web-2222"),
                "deploying web:v2@sha256:2222",
            ),
            outcome("api", Outcome::UpToDate, None, "runs sha256:1111"),
            outcome("worker", Outcome::Skipped, None, "not downgrading"),
        ],
    );
    assert_eq!(
        sweep.summary,
        "reconcile (tag pattern \"*\"): 3 service(s) deployed on push: 1 started, 1 up to date, 1 skipped\n\
         prod/web (web): started web-2222: deploying web:v2@sha256:2222\n\
         prod/api (api): up to date: runs sha256:1111\n\
         prod/worker (worker): skipped: not downgrading"
    );
    let json = serde_json::to_value(&sweep).unwrap();
    assert_eq!(json["services"][0]["outcome"], "started");
    assert_eq!(json["services"][0]["executionName"], "web-2222");
    assert_eq!(json["services"][1]["outcome"], "up-to-date");
}
