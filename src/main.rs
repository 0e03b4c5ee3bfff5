//! The `rollout-sim` binary: parse arguments, run, exit with the code.
//!
//! The command line lives here, in the binary only: its clap types are not
//! part of any library's API. Everything it runs comes from the workspace's
//! crates (README, "Crates").

mod cli;

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(cli::main_with_args(std::env::args_os()).code())
}
