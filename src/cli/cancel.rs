//! Cancellation: what Ctrl-C (SIGINT) and SIGTERM do.
//!
//! This is the one place that knows the user asked the command to stop. A
//! signal thread (signal-hook) waits for either signal. What the first one
//! does depends on the command, as in cargo-nextest:
//!
//! - `explore` and `scenario` ask for a graceful stop ([`graceful`]): the
//!   first signal only sets a flag. The command then starts no new work
//!   (`explore` lets the seeds under way finish; `scenario` leaves the
//!   files under way unfinished), prints the summary of what finished,
//!   writes every requested report marked partial, and exits
//!   [`Exit::Cancelled`] (130).
//! - Every other command, and a second signal to those two, ends the
//!   process at once: [`rollout_report::abandon`] rolls back any
//!   transaction on a user's database and removes every temporary file,
//!   and the process exits 130. Nothing half-written is left and nothing
//!   is replaced.
//!
//! Either signal does the same (DESIGN §5): Kubernetes stops a pod with
//! SIGTERM, a terminal with SIGINT, and both want the results so far.

use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use super::Exit;

/// The command stops gracefully on the first signal.
static GRACEFUL: AtomicBool = AtomicBool::new(false);

/// A first signal came while [`GRACEFUL`] was set.
static REQUESTED: AtomicBool = AtomicBool::new(false);

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
                for signal in signals.forever() {
                    if GRACEFUL.load(Ordering::SeqCst) && !REQUESTED.swap(true, Ordering::SeqCst) {
                        let name = if signal == SIGTERM { "SIGTERM" } else { "SIGINT" };
                        super::note(format_args!(
                            "{name}: cancelling: no new runs start, and the reports of those that finished are written, marked partial; send it again to stop at once"
                        ));
                    } else {
                        cancel();
                    }
                }
            });
    });
}

/// Makes the first signal a request to stop gracefully, and returns the
/// flag it sets: the command's job loops stop taking work once it is set.
pub fn graceful() -> &'static AtomicBool {
    GRACEFUL.store(true, Ordering::SeqCst);
    &REQUESTED
}

/// True once a signal asked a graceful command to stop.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

fn cancel() -> ! {
    rollout_report::abandon();
    std::process::exit(i32::from(Exit::Cancelled.code()))
}
