//! The `rollout-sim` binary: parse arguments, run, exit with the code.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(rollout_sim::cli::main_with_args(std::env::args_os()).code())
}
