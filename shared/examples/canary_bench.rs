//! Judge simulated canary evaluations with berth's own decisions, for scripts/bench-canary
//! (tests/bench/canary.py): both modes, today's thresholds and the statistical analysis, on the
//! same samples.
//!
//! stdin, one JSON document per line: first `{"threshold": CanaryConfig, "analysis": CanaryConfig}`,
//! then one evaluation per line: `{"bakeOver": bool, "canary": {"<check name>": [values]},
//! "baseline": {"<check name>": [values]}}` (`canary` holds each check's canary samples in the
//! window; thresholds read them, the analysis compares them with `baseline`). stdout, one line
//! each: `{"threshold": "CONTINUE|PROMOTE|ROLLBACK", "analysis": …, "detail": …}`.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use berth::canary::{decide, judge_comparison, judge_metric, verdict};
use berth::model::{CanaryConfig, CanaryDecision};

#[derive(serde::Deserialize)]
struct Modes {
    threshold: CanaryConfig,
    analysis: CanaryConfig,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Evaluation {
    bake_over: bool,
    canary: BTreeMap<String, Vec<f64>>,
    baseline: BTreeMap<String, Vec<f64>>,
}

fn judge(config: &CanaryConfig, e: &Evaluation) -> (CanaryDecision, String) {
    let empty = vec![];
    let checks: Vec<_> = config
        .metrics
        .iter()
        .map(|m| {
            let canary = e.canary.get(&m.name).unwrap_or(&empty);
            match (&m.compare, &config.analysis) {
                (Some(c), Some(a)) => {
                    let baseline = e.baseline.get(&m.name).unwrap_or(&empty);
                    judge_comparison(m, c, a.confidence, canary, baseline)
                }
                _ => judge_metric(m, canary),
            }
        })
        .collect();
    let (v, scored) = verdict(config, &checks);
    (
        decide(v, e.bake_over, config.on_inconclusive),
        berth::canary::detail(&checks, scored.as_ref()),
    )
}

fn main() {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let first = lines.next().expect("the modes line").expect("stdin");
    let modes: Modes = serde_json::from_str(&first).expect("modes: two canary configurations");
    for (name, config) in [
        ("threshold", &modes.threshold),
        ("analysis", &modes.analysis),
    ] {
        berth::canary::validate(config).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in lines {
        let line = line.expect("stdin");
        if line.trim().is_empty() {
            continue;
        }
        let e: Evaluation = serde_json::from_str(&line).expect("an evaluation");
        let (t, t_detail) = judge(&modes.threshold, &e);
        let (a, a_detail) = judge(&modes.analysis, &e);
        let doc = serde_json::json!({"threshold": t, "analysis": a,
            "thresholdDetail": t_detail, "analysisDetail": a_detail});
        writeln!(out, "{doc}").expect("stdout");
    }
}
