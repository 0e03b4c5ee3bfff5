//! Cancellation: what Ctrl-C (SIGINT) and SIGTERM do.
//!
//! This is the one place that knows the user asked the command to stop. A
//! signal thread (signal-hook) waits for either signal;
//! today a request ends the process at once: [`rollout_report::abandon`] rolls back
//! any transaction on a user's database and removes every temporary file,
//! and the process exits [`Exit::Cancelled`] (130), for either signal, as
//! DESIGN §5 says. Nothing half-written is left and nothing is replaced.
//!
//! DESIGN §5 asks for more: finish nothing new, print the summary of what
//! ran, write the reports marked partial (issue 15). That grows from here:
//! the signal thread only sets a flag, the job loops stop taking work once
//! it is set, the command writes its partial outputs and
//! returns `Exit::Cancelled`, and a second signal abandons at once as now.
//!

use std::sync::Once;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use super::Exit;

/// Starts listening for SIGINT and SIGTERM (once per process).
pub fn install() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        // Without a handler the signals keep their default action: the
        // process ends, and so do its temporary files' chances of removal;
        // that is all that is lost.
        let Ok(mut signals) = Signals::new([SIGINT, SIGTERM]) else {
            return;
        };
        let _ = std::thread::Builder::new()
            .name("cancel".into())
            .spawn(move || {
                if signals.forever().next().is_some() {
                    cancel();
                }
            });
    });
}

fn cancel() -> ! {
    rollout_report::abandon();
    std::process::exit(i32::from(Exit::Cancelled.code()))
}
