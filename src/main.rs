fn main() -> std::process::ExitCode {
    scoreline::cli::run()
}
