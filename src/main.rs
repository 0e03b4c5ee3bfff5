//! The `rollout-sim` binary: parse arguments, run, exit with the code.
//!
//! The command line lives here, in the binary only: its clap types are not
//! part of any library's API. Everything it runs comes from the workspace's
//! crates (README, "Crates").

mod cli;

// A sweep allocates and frees small blocks all the time: mimalloc, not
// glibc's malloc (Cargo.toml, feature `mimalloc`).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(cli::main_with_args(std::env::args_os()).code())
}
