//! `berth`: parse the command line, load the AWS configuration from the environment, run.

use std::process::ExitCode;

use berth_cli::cli::{run, Cli, Clients, Std};
use berth_cli::exit::Exit;
use clap::{CommandFactory, FromArgMatches};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let matches = Cli::command().after_help(Exit::help()).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let aws = Clients::new(&berth::aws::load().await);
    let exit = run(&cli, &aws, &mut Std).await.unwrap_or_else(|e| {
        eprintln!("berth: {e}");
        e.exit
    });
    ExitCode::from(exit.code())
}
