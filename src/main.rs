mod cli;

fn main() -> std::process::ExitCode {
    // SAFETY: the first thing the process does, before any thread or git2 call.
    unsafe { dotback::tls::defer_roots() };
    cli::main()
}
