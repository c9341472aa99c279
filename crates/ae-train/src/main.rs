//! The `ae-train` binary.

use clap::Parser;

fn main() {
    let cli = ae_train::cli::Cli::parse();
    if let Err(e) = ae_train::cli::run(cli) {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}
