//! Abort and promote by hand: the `berth:control` tag `berth abort` / `berth promote` put on a
//! service, and what the states that poll the service make of it.
//!
//! berth keeps no store of its own, so the control travels on the service itself: the tag's value
//! is `abort:<execution name>` or `promote:<execution name>`. Only the named execution obeys it;
//! a control naming another execution (left behind by a CLI that was stopped) is stale and ignored,
//! and a value berth cannot read is ignored with a log line, never acted on.

use aws_sdk_ecs::types::Service;

/// The tag key on the ECS service.
pub const TAG: &str = "berth:control";

/// What the execution records when it obeys an abort (the cause of a rollback or a refusal).
pub const ABORTED: &str = "aborted by hand (berth abort)";
/// What the canary result records when it obeys a promote.
pub const PROMOTED: &str = "promoted by hand (berth promote)";

/// The longest value ECS accepts for a tag.
pub const MAX_VALUE_CHARS: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Stop the deployment: roll back what it changed, or change nothing if it changed nothing yet.
    Abort,
    /// End the canary bake now, as a pass.
    Promote,
}

impl Action {
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Abort => "abort",
            Action::Promote => "promote",
        }
    }
}

/// A control as the tag's value spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    pub action: Action,
    /// The execution's name under the state machine (`$$.Execution.Name`), not its ARN.
    pub execution: String,
}

/// Whether ECS accepts `c` in a tag value: letters, digits, white space and `_ . : / = + - @`.
fn allowed_in_tag_value(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c)
}

/// The tag value for `action` on `execution`, or why ECS could not store it.
pub fn value(action: Action, execution: &str) -> Result<String, String> {
    if execution.trim().is_empty() {
        return Err("the execution's name is empty".into());
    }
    if let Some(c) = execution.chars().find(|c| !allowed_in_tag_value(*c)) {
        return Err(format!(
            "the execution name {execution:?} holds {c:?}, which an ECS tag value cannot: \
             ECS allows letters, digits, spaces and _ . : / = + - @"
        ));
    }
    let v = format!("{}:{execution}", action.as_str());
    if v.chars().count() > MAX_VALUE_CHARS {
        return Err(format!(
            "{TAG} = {v:?} is longer than the {MAX_VALUE_CHARS} characters ECS allows"
        ));
    }
    Ok(v)
}

/// Read a tag value: `abort:NAME` or `promote:NAME` (the action in any case, white space around
/// the value ignored). Anything else is malformed, with the reason.
pub fn parse(value: &str) -> Result<Control, String> {
    let v = value.trim();
    let Some((action, execution)) = v.split_once(':') else {
        return Err(format!(
            "{v:?} is not <action>:<execution> (abort:NAME or promote:NAME)"
        ));
    };
    let action = match action.trim().to_ascii_lowercase().as_str() {
        "abort" => Action::Abort,
        "promote" => Action::Promote,
        other => {
            return Err(format!(
                "unknown action {other:?} in {v:?} (abort or promote)"
            ))
        }
    };
    let execution = execution.trim();
    if execution.is_empty() {
        return Err(format!("{v:?} names no execution"));
    }
    Ok(Control {
        action,
        execution: execution.to_owned(),
    })
}

/// What the tag means to the execution named `me`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// No control on the service.
    Absent,
    /// A control for this execution.
    Act(Action),
    /// A control for another execution: ignored.
    Stale(Control),
    /// A value berth cannot read: ignored.
    Malformed { value: String, why: String },
}

impl Reading {
    /// The action this execution must take, if any.
    pub fn action(&self) -> Option<Action> {
        match self {
            Reading::Act(a) => Some(*a),
            _ => None,
        }
    }
}

/// Decide from the tag's value (if the service has the tag) for the execution named `me`.
pub fn read(tag: Option<&str>, me: &str) -> Reading {
    let Some(value) = tag else {
        return Reading::Absent;
    };
    match parse(value) {
        Ok(c) if c.execution == me => Reading::Act(c.action),
        Ok(c) => Reading::Stale(c),
        Err(why) => Reading::Malformed {
            value: value.to_owned(),
            why,
        },
    }
}

/// The `berth:control` tag's value on a service described with its tags (DescribeServices
/// `include: ["TAGS"]`).
pub fn tag_of(service: &Service) -> Option<&str> {
    service
        .tags()
        .iter()
        .find(|t| t.key() == Some(TAG))
        .map(|t| t.value().unwrap_or_default())
}

/// What `me` must do about the service's control, with one log line when there is a control.
pub fn for_execution(service: &Service, me: &str, state: &str) -> Option<Action> {
    let reading = read(tag_of(service), me);
    let name = service.service_name().unwrap_or("?");
    match &reading {
        Reading::Absent => {}
        Reading::Act(a) => {
            tracing::info!(service = %name, execution = %me, action = a.as_str(), state, "{TAG}: {} by hand", a.as_str())
        }
        Reading::Stale(c) => {
            tracing::info!(service = %name, execution = %me, other = %c.execution, action = c.action.as_str(), state, "{TAG} names another execution: ignored")
        }
        Reading::Malformed { value, why } => {
            tracing::warn!(service = %name, execution = %me, value = %value, state, "{TAG} cannot be read, ignored: {why}")
        }
    }
    reading.action()
}

#[cfg(test)]
mod tests {
    use aws_sdk_ecs::types::Tag;

    use super::*;

    const ME: &str = "berth-cli-web-1795996927581-2309";

    #[test]
    fn a_control_for_this_execution_is_obeyed() {
        assert_eq!(
            read(Some(&format!("abort:{ME}")), ME),
            Reading::Act(Action::Abort)
        );
        assert_eq!(
            read(Some(&format!("promote:{ME}")), ME),
            Reading::Act(Action::Promote)
        );
        assert_eq!(
            read(Some(&format!(" PROMOTE:{ME} ")), ME).action(),
            Some(Action::Promote)
        );
    }

    #[test]
    fn no_tag_means_nothing_to_do() {
        assert_eq!(read(None, ME), Reading::Absent);
        assert_eq!(read(None, ME).action(), None);
    }

    #[test]
    fn a_control_for_another_execution_is_stale_and_ignored() {
        let r = read(Some("abort:web-0123456789abcdef"), ME);
        assert_eq!(
            r,
            Reading::Stale(Control {
                action: Action::Abort,
                execution: "web-0123456789abcdef".into()
            })
        );
        assert_eq!(r.action(), None);
        // A name that only starts like ours is another execution.
        assert_eq!(read(Some(&format!("abort:{ME}-2")), ME).action(), None);
        assert_eq!(read(Some("abort:berth-cli-web"), ME).action(), None);
    }

    #[test]
    fn malformed_values_are_ignored_never_acted_on() {
        for bad in [
            "",
            "abort",
            ME,
            "abort:",
            "abort:   ",
            "rollback:x",
            "stop:berth-cli-web-1795996927581-2309",
            ":berth-cli-web-1795996927581-2309",
            "abort berth-cli-web-1795996927581-2309",
        ] {
            let r = read(Some(bad), ME);
            assert!(matches!(r, Reading::Malformed { .. }), "{bad:?}: {r:?}");
            assert_eq!(r.action(), None, "{bad:?}");
        }
    }

    #[test]
    fn what_the_cli_writes_the_states_read_back() {
        for action in [Action::Abort, Action::Promote] {
            let v = value(action, ME).expect("value");
            assert_eq!(v, format!("{}:{ME}", action.as_str()));
            assert_eq!(read(Some(&v), ME), Reading::Act(action));
        }
        let push = "web-978087b96032bf6e0d3c4ea1a3cd0ba38e6ba2e4";
        assert_eq!(
            parse(&value(Action::Abort, push).unwrap())
                .unwrap()
                .execution,
            push
        );
    }

    #[test]
    fn an_execution_name_ecs_cannot_store_is_refused_before_tagging() {
        let e = value(Action::Abort, "web(1)").unwrap_err();
        assert!(e.contains("'('") && e.contains("ECS allows"), "{e}");
        assert!(value(Action::Abort, " ").is_err());
        assert!(value(Action::Promote, &"x".repeat(250)).is_err());
        assert!(value(Action::Promote, "a.b_c-d+e=f@g").is_ok());
    }

    #[test]
    fn the_tag_is_read_from_the_described_service() {
        let service = Service::builder()
            .service_name("web")
            .tags(Tag::builder().key("berth:repository").value("web").build())
            .tags(Tag::builder().key(TAG).value(format!("abort:{ME}")).build())
            .build();
        assert_eq!(tag_of(&service), Some(format!("abort:{ME}").as_str()));
        assert_eq!(
            for_execution(&service, ME, "check-stability"),
            Some(Action::Abort)
        );
        assert_eq!(for_execution(&service, "other", "check-stability"), None);
        assert_eq!(tag_of(&Service::builder().build()), None);
    }
}
