//! Every numeric option is refused by clap (exit 2, before any AWS call) unless finite and in its
//! range: a property over all f64 and u64 spellings, not a list.

use clap::Parser;
use proptest::prelude::*;

use super::*;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(
        [
            "berth",
            "deploy",
            "--cluster",
            "prod",
            "--service",
            "web",
            "--image",
            "r/web:v2",
        ]
        .iter()
        .copied()
        .chain(args.iter().copied()),
    )
}

/// `berth deploy ... OPTION=VALUE` (the `=` form: a value may start with `-`).
fn with(option: &str, value: &str) -> Result<Cli, clap::Error> {
    parse(&[&format!("{option}={value}")])
}

fn deploy(cli: Cli) -> Deploy {
    match cli.command {
        Command::Deploy(d) => d,
        other => panic!("{other:?}"),
    }
}

#[test]
fn non_finite_or_out_of_range_refresh_seconds_are_refused() {
    for bad in [
        "NaN", "nan", "inf", "-inf", "1e999", "0", "0.09", "60.5", "-1", "", "two",
    ] {
        let e = with("--refresh-seconds", bad).expect_err(bad);
        assert_eq!(
            e.kind(),
            clap::error::ErrorKind::ValueValidation,
            "{bad}: {e}"
        );
    }
    let d = deploy(with("--refresh-seconds", "0.5").unwrap());
    assert_eq!(d.waiting.waiting().poll, Duration::from_millis(500));
}

#[test]
fn whole_number_options_outside_their_ranges_are_refused() {
    for (option, lo, hi) in [
        ("--timeout-seconds", 1, 86_400),
        ("--poll-interval-seconds", 1, 600),
        ("--rollback-timeout-seconds", 1, 86_400),
        ("--approval-timeout-seconds", 1, 604_800),
        ("--max-wait-seconds", 1, 604_800),
    ] {
        for ok in [lo, hi] {
            with(option, &ok.to_string()).unwrap_or_else(|e| panic!("{option} {ok}: {e}"));
        }
        for bad in [lo - 1, hi + 1] {
            let e = with(option, &bad.to_string()).expect_err(option);
            assert_eq!(
                e.kind(),
                clap::error::ErrorKind::ValueValidation,
                "{option} {bad}: {e}"
            );
        }
    }
}

#[test]
fn a_reason_longer_than_the_events_keep_is_refused() {
    let parse = |reason: &str| {
        Cli::try_parse_from([
            "berth",
            "reject",
            "web",
            "--cluster",
            "prod",
            "--reason",
            reason,
        ])
    };
    parse(&"r".repeat(MAX_REASON_CHARS)).unwrap();
    let e = parse(&"r".repeat(MAX_REASON_CHARS + 1)).unwrap_err();
    assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation, "{e}");
}

proptest! {
    #[test]
    fn any_refresh_seconds_parses_to_a_usable_interval_or_is_refused(v in prop_oneof![any::<f64>(), -1.0f64..120.0]) {
        match with("--refresh-seconds", &v.to_string()) {
            Ok(cli) => {
                let (lo, hi) = REFRESH_SECONDS;
                prop_assert!(v.is_finite() && (lo..=hi).contains(&v));
                // what used to panic after the execution had started
                let poll = deploy(cli).waiting.waiting().poll;
                prop_assert!(poll >= Duration::from_millis(100) && poll <= Duration::from_secs(60));
            }
            Err(e) => prop_assert!(!(v.is_finite() && (0.1..=60.0).contains(&v)), "{v}: {e}"),
        }
    }

    #[test]
    fn any_whole_number_is_taken_exactly_when_in_range(v in any::<u64>()) {
        let ok = with("--timeout-seconds", &v.to_string()).is_ok();
        prop_assert_eq!(ok, limits::TIMEOUT_SECONDS.contains(&v));
    }

    #[test]
    fn any_text_for_a_number_is_refused_or_in_range(s in "\\PC*") {
        if let Ok(cli) = with("--max-wait-seconds", &s) {
            let w = deploy(cli).waiting.max_wait_seconds.unwrap();
            prop_assert!(MAX_WAIT_SECONDS.contains(&w));
        }
    }
}
