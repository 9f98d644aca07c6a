//! A hook's check that panics, run through the guard as the hook Lambdas run it. Prints the status
//! the hook would report; `tests/test_release_artifact.py` builds this with cargo-lambda's release
//! flags. Built with `panic = "abort"`, the process dies (exit 134) before printing anything.

use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let outcome: Result<(), String> =
        berth_guard::guarded("AfterAllowTestTraffic", Duration::from_secs(5), async {
            let status: Option<u16> = std::hint::black_box(None);
            let _ = status.expect("the probe got no status");
        })
        .await;
    match outcome {
        Ok(()) => println!("REPORT Succeeded"),
        Err(why) => println!("REPORT Failed: {why}"),
    }
}
