use clap::Parser;

fn main() -> std::process::ExitCode {
    // argon2 allocates 19 MiB per hash. glibc serves the first such blocks by mmap, then
    // raises its threshold and keeps later ones in per-thread arenas: 40 sign-ins at once left
    // 310 MB resident. A fixed threshold returns them (same as MALLOC_MMAP_THRESHOLD_=131072).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
    let cli = mpanel::config::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mpanel: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(mpanel::cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mpanel: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
