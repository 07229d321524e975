fn main() -> std::process::ExitCode {
    dotback::cli::main()
}
