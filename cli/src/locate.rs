//! Which state machine to drive: `--state-machine` (or `BERTH_STATE_MACHINE_ARN`), else the
//! `StateMachineArn` output of the CloudFormation stack berth was installed as (`--stack`).

use aws_sdk_cloudformation::Client;

use crate::error::{sdk, CliError};

/// The stack output `template.yaml` declares for the state machine.
pub const OUTPUT: &str = "StateMachineArn";

pub async fn state_machine_arn(
    explicit: Option<&str>,
    stack: &str,
    cfn: &Client,
) -> Result<String, CliError> {
    if let Some(arn) = explicit.filter(|a| !a.trim().is_empty()) {
        return Ok(arn.to_owned());
    }
    let out = cfn.describe_stacks().stack_name(stack).send().await.map_err(|e| {
        let mut e = sdk("DescribeStacks", e);
        e.message = format!(
            "cannot find the state machine: stack {stack:?}: {}. Give the stack berth was installed as \
             with --stack, or the state machine with --state-machine ARN (or BERTH_STATE_MACHINE_ARN)",
            e.message
        );
        e
    })?;
    out.stacks()
        .iter()
        .flat_map(|s| s.outputs())
        .find(|o| o.output_key() == Some(OUTPUT))
        .and_then(|o| o.output_value())
        .map(str::to_owned)
        .ok_or_else(|| {
            CliError::failed(format!(
                "stack {stack:?} has no output {OUTPUT}: is it berth's stack? Give the state machine \
                 with --state-machine ARN (or BERTH_STATE_MACHINE_ARN)"
            ))
        })
}

/// An execution's ARN from its ARN or its name (under `state_machine`).
pub fn execution_arn(state_machine: &str, arn_or_name: &str) -> String {
    if arn_or_name.starts_with("arn:") {
        arn_or_name.to_owned()
    } else {
        format!(
            "{}:{arn_or_name}",
            state_machine.replacen(":stateMachine:", ":execution:", 1)
        )
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudformation::operation::describe_stacks::{
        DescribeStacksError, DescribeStacksOutput,
    };
    use aws_sdk_cloudformation::types::{Output, Stack, StackStatus};
    use aws_smithy_mocks::mock;
    use berth::testing::mock_client;

    use super::*;

    const SM: &str = "arn:aws:states:eu-west-1:123456789012:stateMachine:berth-deploy";

    fn stack(outputs: Vec<Output>) -> Stack {
        Stack::builder()
            .stack_name("berth")
            .stack_status(StackStatus::CreateComplete)
            .creation_time(aws_smithy_types::DateTime::from_secs(0))
            .set_outputs(Some(outputs))
            .build()
    }

    #[tokio::test]
    async fn the_flag_wins_and_no_call_is_made() {
        let rule =
            mock!(Client::describe_stacks).then_output(|| DescribeStacksOutput::builder().build());
        let cfn = mock_client!(aws_sdk_cloudformation, [&rule]);
        assert_eq!(
            state_machine_arn(Some(SM), "berth", &cfn).await.unwrap(),
            SM
        );
        assert_eq!(rule.num_calls(), 0);
    }

    #[tokio::test]
    async fn the_stack_output_names_the_state_machine() {
        let rule = mock!(Client::describe_stacks)
            .match_requests(|r| r.stack_name() == Some("berth-prod"))
            .then_output(|| {
                DescribeStacksOutput::builder()
                    .stacks(stack(vec![
                        Output::builder()
                            .output_key("DeployLogGroupName")
                            .output_value("x")
                            .build(),
                        Output::builder()
                            .output_key(OUTPUT)
                            .output_value(SM)
                            .build(),
                    ]))
                    .build()
            });
        let cfn = mock_client!(aws_sdk_cloudformation, [&rule]);
        assert_eq!(
            state_machine_arn(None, "berth-prod", &cfn).await.unwrap(),
            SM
        );
    }

    #[tokio::test]
    async fn a_stack_without_the_output_is_a_clear_error() {
        let rule = mock!(Client::describe_stacks).then_output(|| {
            DescribeStacksOutput::builder()
                .stacks(stack(vec![]))
                .build()
        });
        let cfn = mock_client!(aws_sdk_cloudformation, [&rule]);
        let e = state_machine_arn(None, "other", &cfn).await.unwrap_err();
        assert!(
            e.message.contains("no output StateMachineArn"),
            "{}",
            e.message
        );
        assert!(e.message.contains("--state-machine"), "{}", e.message);
    }

    #[tokio::test]
    async fn a_missing_stack_says_how_to_name_the_state_machine() {
        let rule = mock!(Client::describe_stacks).then_error(|| {
            DescribeStacksError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("ValidationError")
                    .message("Stack with id berth does not exist")
                    .build(),
            )
        });
        let cfn = mock_client!(aws_sdk_cloudformation, [&rule]);
        let e = state_machine_arn(None, "berth", &cfn).await.unwrap_err();
        assert!(
            e.message.contains("Stack with id berth does not exist"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("--stack") && e.message.contains("BERTH_STATE_MACHINE_ARN"),
            "{}",
            e.message
        );
    }

    #[test]
    fn an_execution_name_becomes_its_arn() {
        assert_eq!(
            execution_arn(SM, "berth-cli-web-1"),
            "arn:aws:states:eu-west-1:123456789012:execution:berth-deploy:berth-cli-web-1"
        );
        let arn = "arn:aws:states:eu-west-1:123456789012:execution:berth-deploy:x";
        assert_eq!(execution_arn(SM, arn), arn);
    }
}
