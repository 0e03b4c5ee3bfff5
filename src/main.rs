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

/// `mi_option_purge_delay` in mimalloc.h (mimalloc v3, the version
/// libmimalloc-sys 0.1.49 builds), which libmimalloc-sys names no constant
/// for; the test below checks it is the option whose default is 1,000 ms
/// (`options.c`).
#[cfg(feature = "mimalloc")]
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// mimalloc keeps freed memory a second before it returns it to the system.
/// A run frees its whole world at its end and the next file's run starts
/// at once, so a suite peaked at up to 1.3 times its largest file; purged
/// at once it peaks at 1.1 times, and a million-rollout run 50 MB lower,
/// at no measurable cost in instructions (BENCHMARKS.md, "Hot path"). An
/// explicit `MIMALLOC_PURGE_DELAY` in the environment wins.
#[cfg(feature = "mimalloc")]
fn purge_freed_memory_at_once() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one of the allocator's options; mimalloc reads it
        // on each purge decision, and any value is valid.
        unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 0) };
    }
}

fn main() -> std::process::ExitCode {
    #[cfg(feature = "mimalloc")]
    purge_freed_memory_at_once();
    std::process::ExitCode::from(cli::main_with_args(std::env::args_os()).code())
}

#[cfg(all(test, feature = "mimalloc"))]
mod tests {
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // The documented default, read before anything sets it (tests do
        // not run `main`), unless the environment chose another.
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // SAFETY: reads one of the allocator's options.
            assert_eq!(
                unsafe { libmimalloc_sys::mi_option_get(super::PURGE_DELAY) },
                1000
            );
        }
        super::purge_freed_memory_at_once();
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // SAFETY: as above.
            assert_eq!(
                unsafe { libmimalloc_sys::mi_option_get(super::PURGE_DELAY) },
                0
            );
        }
    }
}
