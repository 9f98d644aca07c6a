//! What CloudWatch would refuse in a canary, found before anything is deployed: metric-math
//! expressions that do not parse or name unknown ids, statistics and periods CloudWatch rejects.
//!
//! The grammar is CloudWatch's metric math (GetMetricData `Expression`): numbers, metric ids,
//! string literals, functions `NAME(args)`, unary `-`/`NOT`, binary `+ - * / ^`, comparisons and
//! `AND`/`OR`, parentheses. Function names and keywords are upper case; ids start lower case.

use std::collections::BTreeSet;

/// CloudWatch metric-math functions (GetMetricData "Metric math syntax and functions").
const FUNCTIONS: &[&str] = &[
    "ABS",
    "ANOMALY_DETECTION_BAND",
    "AVG",
    "CEIL",
    "CONCAT",
    "CONTAINS",
    "DATAPOINT_COUNT",
    "DAY",
    "DB_PERF_INSIGHTS",
    "DIFF",
    "DIFF_TIME",
    "ENDS_WITH",
    "EPOCH",
    "FILL",
    "FIRST",
    "FLOOR",
    "HOUR",
    "IF",
    "INSIGHT_RULE_METRIC",
    "LAST",
    "LOG",
    "LOG10",
    "MAX",
    "METRIC_COUNT",
    "METRICS",
    "MIN",
    "MINUTE",
    "MONTH",
    "PERIOD",
    "RATE",
    "REMOVE_EMPTY",
    "REPLACE",
    "RUNNING_SUM",
    "SEARCH",
    "SERVICE_QUOTA",
    "SLICE",
    "SORT",
    "STARTS_WITH",
    "STDDEV",
    "SUM",
    "TIME_SERIES",
    "YEAR",
    "LAMBDA",
    "MAX_VALUE",
    "MIN_VALUE",
];

/// Bare upper-case words metric math accepts as arguments (`FILL(m, REPEAT)`, `SORT(m, SUM, DESC)`).
const KEYWORDS: &[&str] = &[
    "REPEAT", "LINEAR", "ASC", "DESC", "SUM", "AVG", "MIN", "MAX", "STDDEV", "FIRST", "LAST",
    "TRUE", "FALSE",
];

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Num,
    Str,
    Word(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
}

fn tokens(expr: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = vec![];
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '0'..='9' | '.' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                    i += 1;
                    if i < chars.len() && (chars[i] == '+' || chars[i] == '-') {
                        i += 1;
                    }
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                let text: String = chars[start..i].iter().collect();
                if text.parse::<f64>().map(|v| !v.is_finite()).unwrap_or(true) {
                    return Err(format!("{text:?} is not a number"));
                }
                out.push(Token::Num);
            }
            '"' | '\'' => {
                let quote = c;
                i += 1;
                while i < chars.len() && chars[i] != quote {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if i >= chars.len() {
                    return Err("a string literal is not closed".into());
                }
                i += 1;
                out.push(Token::Str);
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push(Token::Word(chars[start..i].iter().collect()));
            }
            '(' => {
                out.push(Token::LParen);
                i += 1;
            }
            ')' => {
                out.push(Token::RParen);
                i += 1;
            }
            ',' => {
                out.push(Token::Comma);
                i += 1;
            }
            _ => {
                let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                let op = ["==", "!=", "<=", ">="]
                    .into_iter()
                    .find(|o| *o == two)
                    .or_else(|| {
                        ["+", "-", "*", "/", "^", "<", ">"]
                            .into_iter()
                            .find(|o| o.starts_with(c))
                    })
                    .ok_or_else(|| format!("unexpected character {c:?}"))?;
                i += op.len();
                out.push(Token::Op(op));
            }
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    ids: &'a BTreeSet<String>,
    used: BTreeSet<String>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn binary_op(&self) -> Option<(&'static str, u8)> {
        match self.peek()? {
            Token::Word(w) if w == "OR" => Some(("OR", 1)),
            Token::Word(w) if w == "AND" => Some(("AND", 2)),
            Token::Op(op @ ("==" | "!=" | "<" | ">" | "<=" | ">=")) => Some((op, 3)),
            Token::Op(op @ ("+" | "-")) => Some((op, 4)),
            Token::Op(op @ ("*" | "/")) => Some((op, 5)),
            Token::Op(op @ "^") => Some((op, 6)),
            _ => None,
        }
    }

    fn expression(&mut self, min: u8) -> Result<(), String> {
        self.operand()?;
        while let Some((_, prec)) = self.binary_op() {
            if prec < min {
                break;
            }
            self.next();
            self.expression(prec + 1)?;
        }
        Ok(())
    }

    fn operand(&mut self) -> Result<(), String> {
        match self.next() {
            Some(Token::Num) | Some(Token::Str) => Ok(()),
            Some(Token::Op("-")) => self.operand(),
            Some(Token::Word(w)) if w == "NOT" => self.operand(),
            Some(Token::LParen) => {
                self.expression(0)?;
                match self.next() {
                    Some(Token::RParen) => Ok(()),
                    _ => Err("a \"(\" is not closed".into()),
                }
            }
            Some(Token::Word(w)) if self.peek() == Some(&Token::LParen) => {
                if !FUNCTIONS.contains(&w.as_str()) {
                    return Err(format!("{w:?} is not a metric math function"));
                }
                self.next();
                if self.peek() == Some(&Token::RParen) {
                    self.next();
                    return Ok(());
                }
                loop {
                    self.expression(0)?;
                    match self.next() {
                        Some(Token::Comma) => continue,
                        Some(Token::RParen) => return Ok(()),
                        _ => return Err(format!("{w}( is not closed")),
                    }
                }
            }
            Some(Token::Word(w)) => {
                if self.ids.contains(&w) {
                    self.used.insert(w);
                    Ok(())
                } else if KEYWORDS.contains(&w.as_str()) {
                    Ok(())
                } else {
                    Err(format!(
                        "{w:?} is not one of the metric ids {:?}",
                        self.ids.iter().collect::<Vec<_>>()
                    ))
                }
            }
            Some(t) => Err(format!("unexpected {t:?}")),
            None => Err("the expression ends too early".into()),
        }
    }
}

/// Check a metric-math expression over the given ids: it parses and names no unknown id.
/// Returns the ids it uses.
pub fn check_expression(expr: &str, ids: &BTreeSet<String>) -> Result<BTreeSet<String>, String> {
    if expr.len() > 2048 {
        return Err(format!(
            "is {} characters, CloudWatch allows 2048",
            expr.len()
        ));
    }
    let mut p = Parser {
        tokens: tokens(expr)?,
        at: 0,
        ids,
        used: BTreeSet::new(),
    };
    if p.tokens.is_empty() {
        return Err("is empty".into());
    }
    p.expression(0)?;
    if let Some(t) = p.peek() {
        return Err(format!("unexpected {t:?} after a complete expression"));
    }
    Ok(p.used)
}

/// A statistic GetMetricData accepts: `SampleCount`, `Average`, `Sum`, `Minimum`, `Maximum`, or a
/// percentile / trimmed / winsorized statistic such as `p99`, `p99.9`, `tm90`, `TM(10%:90%)`, `IQM`.
pub fn valid_statistic(stat: &str) -> bool {
    const PLAIN: &[&str] = &["SampleCount", "Average", "Sum", "Minimum", "Maximum", "IQM"];
    if PLAIN.contains(&stat) {
        return true;
    }
    let percent = |s: &str| {
        let digits_ok = !s.is_empty()
            && s.chars().all(|c| c.is_ascii_digit() || c == '.')
            && s.matches('.').count() <= 1
            && !s.starts_with('.')
            && !s.ends_with('.')
            && s.split('.').nth(1).is_none_or(|d| d.len() <= 10);
        digits_ok && s.parse::<f64>().is_ok_and(|v| (0.0..=100.0).contains(&v))
    };
    for prefix in ["p", "tm", "wm", "tc", "ts"] {
        if let Some(rest) = stat.strip_prefix(prefix) {
            return percent(rest);
        }
    }
    // TM(10%:90%), PR(100:2000), TC(:0.5), …: two bounds, either may be empty, not both.
    for prefix in ["TM", "WM", "TC", "TS", "PR"] {
        if let Some(inner) = stat
            .strip_prefix(prefix)
            .and_then(|r| r.strip_prefix('('))
            .and_then(|r| r.strip_suffix(')'))
        {
            let Some((lo, hi)) = inner.split_once(':') else {
                return false;
            };
            let bound = |b: &str| {
                if b.is_empty() {
                    return true;
                }
                match b.strip_suffix('%') {
                    Some(p) if prefix != "PR" => percent(p),
                    Some(_) => false,
                    None => b.parse::<f64>().is_ok_and(f64::is_finite),
                }
            };
            return !(lo.is_empty() && hi.is_empty()) && bound(lo) && bound(hi);
        }
    }
    false
}

/// A period GetMetricData accepts: 1, 5, 10, 30, or a multiple of 60 (at most a day here).
pub fn valid_period(period: i32) -> bool {
    matches!(period, 1 | 5 | 10 | 30) || (period > 0 && period % 60 == 0 && period <= 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn expressions_cloudwatch_accepts_parse() {
        let i = ids(&["errors", "requests", "m1"]);
        for e in [
            "100 * errors / requests",
            "100 * FILL(errors, 0) / requests",
            "FILL(errors, REPEAT)",
            "IF(requests > 0, errors / requests, 0)",
            "-errors + 2 ^ 3",
            "AVG(METRICS())",
            "SORT(METRICS(), SUM, DESC)",
            "errors >= 5 AND NOT requests == 0",
            "RATE(m1) * 60",
            "SEARCH('{AWS/EC2,InstanceId} MetricName=\"CPUUtilization\"', 'Average', 300)",
            "1e3 * errors",
        ] {
            check_expression(e, &i).unwrap_or_else(|err| panic!("{e}: {err}"));
        }
        assert_eq!(
            check_expression("100 * errors / requests", &i).unwrap(),
            ids(&["errors", "requests"])
        );
    }

    #[test]
    fn broken_expressions_and_unknown_ids_are_named() {
        let i = ids(&["errors", "requests"]);
        for (e, says) in [
            (
                "100 * errors / reqests",
                "\"reqests\" is not one of the metric ids",
            ),
            ("100 * (errors / requests", "not closed"),
            ("100 * errors /", "ends too early"),
            ("errors requests", "unexpected"),
            ("FILLL(errors, 0)", "not a metric math function"),
            ("errors $ 2", "unexpected character"),
            ("", "empty"),
            ("FILL(errors, 0", "not closed"),
            ("'unclosed", "not closed"),
            ("1e999 * errors", "not a number"),
        ] {
            let err = check_expression(e, &i).expect_err(e);
            assert!(err.contains(says), "{e}: {err}");
        }
    }

    #[test]
    fn statistics_are_cloudwatchs() {
        for s in [
            "Sum",
            "Average",
            "SampleCount",
            "Minimum",
            "Maximum",
            "p99",
            "p99.9",
            "p0",
            "p100",
            "tm90",
            "wm99",
            "tc10",
            "ts50",
            "IQM",
            "TM(10%:90%)",
            "TM(:95%)",
            "PR(100:2000)",
            "TC(0.005:0.030)",
        ] {
            assert!(valid_statistic(s), "{s}");
        }
        for s in [
            "p999x",
            "p101",
            "p",
            "average",
            "sum",
            "Avg",
            "p99.",
            "TM(:)",
            "PR(10%:20%)",
            "TM(10%",
            "",
            "P99",
            "p-1",
        ] {
            assert!(!valid_statistic(s), "{s}");
        }
    }

    #[test]
    fn periods_are_cloudwatchs() {
        for p in [1, 5, 10, 30, 60, 120, 300, 3600, 86_400] {
            assert!(valid_period(p), "{p}");
        }
        for p in [0, -60, 2, 7, 45, 90, 86_460] {
            assert!(!valid_period(p), "{p}");
        }
    }
}
