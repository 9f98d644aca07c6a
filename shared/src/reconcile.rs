//! The reconciliation sweep's decisions: for one service deployed on push, is the newest image of its
//! repository that matches the push rule's tag pattern already running, newer than what runs, or not?
//!
//! ECR push events are best effort (ARCHITECTURE trap 10), so a push can start nothing. The sweep
//! compares what the repository holds with what the service runs and, when a newer image was
//! missed, starts the execution the push event would have started (`crate::start`). It never
//! deploys an image pushed before the one the service runs, nor over an image it cannot place in
//! the repository: those are skipped with the reason.

use std::fmt;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::time::{self, DateTime};

/// The push rule's tag filter (template parameter `TagPattern`), matched as EventBridge matches a
/// `wildcard` pattern: `*` is zero or more characters, `\*` a literal asterisk, `\\` a literal
/// backslash; consecutive wildcards and any other escape are refused (aws/event-ruler, "Wildcard
/// matching"). `*` alone is the template's "no filter": any image, tagged or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagPattern {
    raw: String,
    /// Literal pieces between the wildcards; `pieces.len() - 1` wildcards.
    pieces: Vec<String>,
}

impl TagPattern {
    /// Parse the pattern; `setting` names where it came from in the error.
    pub fn parse(setting: &str, raw: &str) -> Result<Self> {
        let refuse = |why: &str| {
            Error::invalid_input(format!(
                "{setting}={raw:?} is not an EventBridge wildcard pattern: {why} (`*` matches any characters, `\\*` an asterisk, `\\\\` a backslash)"
            ))
        };
        if raw.is_empty() {
            return Err(refuse("it is empty (use * for any tag)"));
        }
        let mut pieces = vec![];
        let mut literal = String::new();
        let mut chars = raw.chars();
        let mut last_was_wildcard = false;
        while let Some(c) = chars.next() {
            match c {
                '*' if last_was_wildcard => return Err(refuse("consecutive wildcards")),
                '*' => {
                    pieces.push(std::mem::take(&mut literal));
                    last_was_wildcard = true;
                    continue;
                }
                '\\' => match chars.next() {
                    Some(e @ ('*' | '\\')) => literal.push(e),
                    Some(other) => return Err(refuse(&format!("`\\{other}` escapes nothing"))),
                    None => return Err(refuse("it ends in a lone backslash")),
                },
                c => literal.push(c),
            }
            last_was_wildcard = false;
        }
        pieces.push(literal);
        Ok(Self {
            raw: raw.to_owned(),
            pieces,
        })
    }

    /// The template's default: no filter on the tag.
    pub fn any() -> Self {
        Self {
            raw: "*".into(),
            pieces: vec![String::new(), String::new()],
        }
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// True for `*`: the push rule then has no tag filter, so untagged images deploy too.
    pub fn is_any(&self) -> bool {
        self.pieces.len() == 2 && self.pieces.iter().all(String::is_empty)
    }

    /// Whether one tag matches (the whole tag, case-sensitively).
    pub fn matches(&self, tag: &str) -> bool {
        let Some((first, rest)) = self.pieces.split_first() else {
            return false;
        };
        let Some(mut left) = tag.strip_prefix(first.as_str()) else {
            return false;
        };
        let Some((last, middle)) = rest.split_last() else {
            return left.is_empty(); // no wildcard: the literal is the whole tag
        };
        for piece in middle {
            match left.find(piece.as_str()) {
                Some(at) => left = &left[at + piece.len()..],
                None => return false,
            }
        }
        left.ends_with(last.as_str())
    }

    /// Whether an image with these tags is one the push rule deploys: one tag matches, or the
    /// pattern is `*` (which also admits a push by digest, i.e. no tag).
    pub fn admits(&self, tags: &[String]) -> bool {
        self.is_any() || tags.iter().any(|t| self.matches(t))
    }
}

impl fmt::Display for TagPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// One image of the repository, as DescribeImages lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoImage {
    pub digest: String,
    pub tags: Vec<String>,
    /// `imagePushedAt`; an image without one cannot be placed in time and is never chosen.
    pub pushed_at: Option<DateTime>,
}

/// What the service runs, as far as berth can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Running {
    /// The digest of the service's container image (pinned in its task definition, or reported by
    /// its running tasks).
    Digest(String),
    /// The container runs an image of another repository (e.g. `nginx:1.27`).
    OtherRepository(String),
    /// Nothing tells the digest (a tag reference and no running task reporting one, or tasks
    /// reporting several).
    Unknown(String),
}

/// The decision for one service.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Deploy this image: it is the newest matching one and was pushed after what runs.
    Deploy {
        image: RepoImage,
        /// The tag to name it by in the push event (the first matching tag, by name), if any.
        tag: Option<String>,
        /// Other images pushed at the same instant (the choice between them is by digest order).
        tied: usize,
    },
    /// The service runs the newest matching image (or one pushed at the same instant).
    UpToDate { digest: String },
    /// Nothing is started, and why.
    Skip { reason: String },
}

/// Decide for one service: `images` is the whole repository listing (every page of DescribeImages).
pub fn decide(images: &[RepoImage], pattern: &TagPattern, running: &Running) -> Decision {
    let skip = |reason: String| Decision::Skip { reason };
    let newest = newest_matching(images, pattern);
    let Some((first, newest_at)) = newest.first().and_then(|i| i.pushed_at.map(|at| (i, at)))
    else {
        let what = if pattern.is_any() {
            "no image with a push time".to_string()
        } else {
            format!("no image tagged to match {:?}", pattern.as_str())
        };
        return skip(format!("the repository has {what}"));
    };
    let running = match running {
        Running::Digest(d) => d,
        Running::OtherRepository(image) => {
            return skip(format!(
            "the service runs {image}, which is not an image of this repository: not replacing it"
        ))
        }
        Running::Unknown(why) => {
            return skip(format!(
                "cannot tell which image the service runs ({why}): not deploying over it"
            ))
        }
    };
    if newest.iter().any(|i| &i.digest == running) {
        return Decision::UpToDate {
            digest: running.clone(),
        };
    }
    let Some(current) = images.iter().find(|i| &i.digest == running) else {
        return skip(format!(
            "the service runs {}, which is not in the repository (deleted, or pushed elsewhere): not deploying over an image whose age is unknown",
            short(running)
        ));
    };
    let Some(current_at) = current.pushed_at else {
        return skip(format!(
            "the service runs {}, whose push time ECR does not give: not deploying over it",
            short(running)
        ));
    };
    if current_at >= newest_at {
        return skip(format!(
            "the service runs {} pushed {}, {} the newest image matching {:?} ({} pushed {}): not downgrading",
            short(running),
            time::format(current_at),
            if current_at == newest_at { "at the same time as" } else { "after" },
            pattern.as_str(),
            short(&first.digest),
            time::format(newest_at),
        ));
    }
    // Ties are broken by digest order, so every sweep picks the same image; once it runs, its
    // tied siblings count as up to date (above) and nothing flips between them.
    let chosen = newest
        .iter()
        .copied()
        .max_by(|a, b| a.digest.cmp(&b.digest))
        .unwrap_or(first);
    let mut tags: Vec<&String> = chosen.tags.iter().filter(|t| pattern.matches(t)).collect();
    tags.sort();
    Decision::Deploy {
        image: chosen.clone(),
        tag: tags.first().map(|t| (*t).clone()),
        tied: newest.len() - 1,
    }
}

/// The matching images pushed last (several when pushed at the same instant), in listing order.
pub fn newest_matching<'a>(images: &'a [RepoImage], pattern: &TagPattern) -> Vec<&'a RepoImage> {
    let candidates = images
        .iter()
        .filter(|i| i.pushed_at.is_some() && pattern.admits(&i.tags));
    let Some(at) = candidates.clone().filter_map(|i| i.pushed_at).max() else {
        return vec![];
    };
    candidates.filter(|i| i.pushed_at == Some(at)).collect()
}

/// The digest of `image` if it is an image of `repository` (host `<account>.dkr.ecr.<region>...`
/// or none), pinned by digest. `Err` with what it is otherwise (another repository), `Ok(None)`
/// when it names the repository by tag only.
pub fn pinned_digest(image: &str, repository: &str) -> std::result::Result<Option<String>, String> {
    let parsed = match crate::image::ImageRef::parse(image) {
        Ok(p) => p,
        Err(e) => return Err(format!("{image} ({})", e.message())),
    };
    if parsed.repository() != repository {
        return Err(image.to_owned());
    }
    Ok(parsed.digest)
}

/// `sha256:0123456789ab`: enough of a digest to tell images apart in a summary line.
pub fn short(digest: &str) -> String {
    let (algo, hex) = digest.split_once(':').unwrap_or(("", digest));
    let hex: String = hex.chars().take(12).collect();
    if algo.is_empty() {
        hex
    } else {
        format!("{algo}:{hex}")
    }
}

/// What the sweep did for one service: the line the summary prints.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceOutcome {
    pub cluster: String,
    pub service: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// `started`, `already-started`, `up-to-date`, `skipped` or `error`.
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_name: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// An execution was started for a missed push.
    Started,
    /// The execution a push of this image starts already exists (running, or ended: a failed
    /// deployment of it is not retried by the sweep).
    AlreadyStarted,
    UpToDate,
    Skipped,
    /// The service could not be checked (an AWS error); the others were.
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Started => "started",
            Outcome::AlreadyStarted => "already started",
            Outcome::UpToDate => "up to date",
            Outcome::Skipped => "skipped",
            Outcome::Error => "error",
        }
    }
}

/// The sweep's answer: the readable summary first, then each service.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Sweep {
    pub summary: String,
    pub tag_pattern: String,
    pub services: Vec<ServiceOutcome>,
}

impl Sweep {
    pub fn new(tag_pattern: &TagPattern, services: Vec<ServiceOutcome>) -> Self {
        Self {
            summary: summary(tag_pattern, &services),
            tag_pattern: tag_pattern.as_str().to_owned(),
            services,
        }
    }
}

/// `reconcile (tag pattern "*"): 3 service(s): 1 started, 1 up to date, 1 skipped` and one line per
/// service, e.g. `prod/web (web): started web-9f86d0…: deploying …`.
pub fn summary(pattern: &TagPattern, services: &[ServiceOutcome]) -> String {
    let count = |o: Outcome| services.iter().filter(|s| s.outcome == o).count();
    let counts: Vec<String> = [
        Outcome::Started,
        Outcome::AlreadyStarted,
        Outcome::UpToDate,
        Outcome::Skipped,
        Outcome::Error,
    ]
    .into_iter()
    .filter(|o| count(*o) > 0)
    .map(|o| format!("{} {}", count(o), o.as_str()))
    .collect();
    let mut out = format!(
        "reconcile (tag pattern {:?}): {} service(s) deployed on push{}{}",
        pattern.as_str(),
        services.len(),
        if counts.is_empty() { "" } else { ": " },
        counts.join(", ")
    );
    for s in services {
        let repo = s
            .repository
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        let name = s
            .execution_name
            .as_deref()
            .map(|n| format!(" {n}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "\n{}/{}{repo}: {}{name}: {}",
            s.cluster,
            s.service,
            s.outcome.as_str(),
            s.detail
        ));
    }
    out
}

#[cfg(test)]
mod tests;
