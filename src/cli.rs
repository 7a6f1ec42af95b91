//! Command-line interface: subcommands and their flags, turned into library calls.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config;
use crate::pipeline::replay::{self, ReplayJob};
use crate::source::ReplayOptions;

#[derive(Debug, Parser)]
#[command(
    name = "ueba-narrator",
    version,
    about = "Turns Microsoft Sentinel UEBA signals into grounded investigation starters"
)]
pub struct Cli {
    /// Log filter (`info`, `debug`, `ueba_narrator=debug`...); RUST_LOG wins when set.
    #[arg(long, global = true, default_value = "warn")]
    pub log_level: String,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Plain)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Plain,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Replay historical exports (files or directories) and write narrated records.
    Replay(ReplayArgs),
    /// Generate a synthetic tenant (users, peers, activity, injected scenarios) as an export.
    Loadgen(LoadgenArgs),
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Export files or directories (JSON Lines, `{"records":[...]}`, query API JSON, portal CSV,
    /// gzip of any; storage-export folders `y=/m=/d=/h=/m=` are merged by event time).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Configuration file (TOML); `UEBA__SECTION__KEY` environment variables override it.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Write records here instead of stdout.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Dead letters (input that could not be used, with the reason and source).
    #[arg(long, default_value = "dead-letters.jsonl")]
    pub dead_letters: PathBuf,
    /// Also write the summary as JSON.
    #[arg(long)]
    pub summary_json: Option<PathBuf>,
    /// Narrative audience: tier-1 triage or threat hunter.
    #[arg(long)]
    pub audience: Option<String>,
    /// Narrate only these users (pilot scope); repeatable.
    #[arg(long = "scope-user")]
    pub scope_users: Vec<String>,
    /// Records each file may hold back to fix local disorder.
    #[arg(long, default_value_t = 4096)]
    pub reorder_window: usize,
    /// Never draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Also deliver records to this output (configured in its config section); repeatable.
    #[arg(long = "sink", value_parser = ["logs-ingestion", "amqp", "incidents"])]
    pub sinks: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LoadgenArgs {
    /// Write the storage-export layout (`am-<Table>/.../y=/m=/d=/h=/m=/PT05M.json`) here.
    #[arg(long)]
    pub out_dir: PathBuf,
    /// Write the shipped sample tenant (ignores the size flags).
    #[arg(long)]
    pub sample: bool,
    #[arg(long, default_value_t = 200)]
    pub users: usize,
    #[arg(long, default_value_t = 42)]
    pub days: u32,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Share of extra high-priority UEBA rows (0.0–1.0).
    #[arg(long, default_value_t = 0.0)]
    pub anomaly_share: f64,
}

/// Run the parsed command; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Replay(args) => replay_cmd(args),
        Command::Loadgen(args) => loadgen_cmd(args),
    }
}

fn replay_cmd(args: ReplayArgs) -> anyhow::Result<i32> {
    let mut cfg = config::load(args.config.as_deref())?;
    if let Some(a) = args.audience {
        cfg.narrator.audience = a;
    }
    if !args.scope_users.is_empty() {
        cfg.scope.users = args.scope_users;
    }
    cfg.delivery.sinks.extend(args.sinks);
    let job = ReplayJob {
        inputs: args.inputs,
        out: args.out,
        dead_letters: args.dead_letters,
        config: cfg,
        source: ReplayOptions {
            reorder_window: args.reorder_window,
            ..ReplayOptions::default()
        },
        progress: !args.no_progress && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let report = replay::run(&job)?;
    eprint!("{}", replay::render_summary(&report));
    if let Some(path) = args.summary_json {
        let text = serde_json::to_string_pretty(&report).context("serialising the summary")?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(0)
}

fn loadgen_cmd(args: LoadgenArgs) -> anyhow::Result<i32> {
    use crate::loadgen::{TenantSpec, write_blob_export, write_sample};
    let stats = if args.sample {
        write_sample(&args.out_dir)?
    } else {
        let mut spec = TenantSpec::bench(args.users, args.days);
        spec.seed = args.seed;
        spec.anomaly_share = args.anomaly_share;
        write_blob_export(&spec, &args.out_dir)?
    };
    eprintln!("loadgen: wrote {} -> {:?}", args.out_dir.display(), stats);
    Ok(0)
}
