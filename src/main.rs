//! Entry point: parse arguments, run, map the outcome to an exit code.

use clap::Parser;

fn main() {
    let cli = escalate::cli::Cli::parse();
    let code = match escalate::run(cli) {
        Ok(code) => code,
        Err(err) if escalate::error::is_broken_pipe(&err) => escalate::error::Code::Ok,
        Err(err) => {
            // The error may quote a peer's reply or a title: no control
            // characters reach the terminal.
            eprintln!(
                "escalate: {}",
                escalate::text::terminal(&format!("{err:#}"))
            );
            escalate::error::code_of(&err)
        }
    };
    std::process::exit(code.as_i32());
}
