fn main() -> std::process::ExitCode {
    fn_host::cli::main()
}
