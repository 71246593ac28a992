//! The `moralbank` command; everything it does is in `moralbank::cli`.

/// mimalloc hands large blocks (an argon2 hash takes 7 MiB) back to the system and keeps small
/// allocations cheap across threads; glibc's allocator kept each blocking thread's arena grown.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    moralbank::cli::main()
}
