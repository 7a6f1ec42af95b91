//! `ueba-narrator` binary: parse arguments, set up logging, run the library, map the exit code.

use clap::Parser;
use mimalloc::MiMalloc;
use tracing_subscriber::EnvFilter;

use ueba_narrator::cli::{Cli, LogFormat, run};

/// Rows are allocated on the reader thread and freed on the engine thread; mimalloc handles
/// that pattern far better than the system allocator.
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

fn main() {
    let cli = Cli::parse();
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&cli.log_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Plain => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}
