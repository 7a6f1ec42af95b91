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
    Replay(Box<ReplayArgs>),
    /// Generate a synthetic tenant (users, peers, activity, injected scenarios) as an export.
    Loadgen(LoadgenArgs),
    /// Benchmark reference: parse the JSON lines of the inputs and nothing else.
    #[command(hide = true)]
    BenchParse {
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
    /// Stream from Kafka / Event Hubs: narrate cases and write records and dead letters to topics.
    Run(RunArgs),
    /// Count messages on a topic with a bare consumer (benchmark baseline).
    #[command(hide = true)]
    BareConsume(crate::pipeline::run::bare::BareArgs),
    /// Serve a local mock of Azure OpenAI / OpenAI chat completions (tests and benchmarks).
    MockLlm(MockLlmArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Configuration file (TOML) with a `[kafka]` section; `UEBA__KAFKA__...` overrides it.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Address of the health and metrics endpoint (overrides `[ops] listen`; empty disables).
    #[arg(long)]
    pub ops_listen: Option<String>,
    /// Also write the end-of-run summary as JSON.
    #[arg(long)]
    pub summary_json: Option<PathBuf>,
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
    #[command(flatten)]
    pub llm: LlmArgs,
}

/// LLM narrator flags of `replay` (override the `[llm]` section).
#[derive(Debug, Args)]
pub struct LlmArgs {
    /// `offline` or `llm`.
    #[arg(long)]
    pub narrator: Option<String>,
    /// `azure_classic`, `azure_v1` or `openai`.
    #[arg(long)]
    pub llm_provider: Option<String>,
    /// Endpoint base URL (`https://<resource>.openai.azure.com`).
    #[arg(long)]
    pub llm_endpoint: Option<String>,
    /// Deployment (Azure) or model name.
    #[arg(long)]
    pub llm_deployment: Option<String>,
    #[arg(long)]
    pub llm_api_version: Option<String>,
    /// `api_key`, `bearer`, `entra_managed_identity` or `entra_developer_tools`.
    #[arg(long)]
    pub llm_auth: Option<String>,
    /// Environment variable that holds the API key.
    #[arg(long)]
    pub llm_api_key_env: Option<String>,
    #[arg(long)]
    pub llm_rpm: Option<u32>,
    #[arg(long)]
    pub llm_tpm: Option<u32>,
    #[arg(long)]
    pub llm_concurrency: Option<usize>,
    /// Append every LLM exchange (tokenized request, response, outcome) to this JSON Lines file.
    #[arg(long)]
    pub audit: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MockLlmArgs {
    #[arg(long, default_value = "127.0.0.1:8089")]
    pub listen: std::net::SocketAddr,
    /// Accepted key; empty accepts any non-empty `api-key` or bearer value.
    #[arg(long, default_value = "")]
    pub api_key: String,
    /// Delay added to every answer.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Requests per minute before 429s.
    #[arg(long)]
    pub rpm: Option<u32>,
    /// Tokens per minute (prompt estimate + max_tokens) before 429s.
    #[arg(long)]
    pub tpm: Option<u32>,
    /// Scripted answers (`{"steps": [{"status", "headers", "body", "delay_ms"}]}`).
    #[arg(long)]
    pub script: Option<PathBuf>,
    /// Append every received request body here (JSON Lines).
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// Follow instructions found in the prompt's data (proves the injection defences).
    #[arg(long)]
    pub obey: bool,
    /// Also deliver records to this output (configured in its config section); repeatable.
    #[arg(long = "sink", value_parser = ["logs-ingestion", "amqp", "incidents"])]
    pub sinks: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LoadgenArgs {
    /// Write the storage-export layout (`am-<Table>/.../y=/m=/d=/h=/m=/PT05M.json`) here.
    #[arg(long, required_unless_present = "kafka")]
    pub out_dir: Option<PathBuf>,
    /// Produce export messages to this Kafka bootstrap address instead of writing files.
    #[arg(long, value_name = "BOOTSTRAP")]
    pub kafka: Option<String>,
    /// With --kafka: one topic per table, `am-<Table>` (the default).
    #[arg(long, conflicts_with = "topic")]
    pub topic_per_table: bool,
    /// With --kafka: every table on this one topic.
    #[arg(long)]
    pub topic: Option<String>,
    /// With --kafka: target rows per second (0: as fast as possible).
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// With --kafka: rows per export message (bodies never exceed 1,000,000 bytes).
    #[arg(long, default_value_t = 500)]
    pub batch_rows: usize,
    /// With --kafka: write the ground truth (injected scenarios) here.
    #[arg(long)]
    pub truth: Option<PathBuf>,
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
        Command::Replay(args) => replay_cmd(*args),
        Command::Loadgen(args) => loadgen_cmd(args),
        Command::BenchParse { inputs } => {
            let report = crate::pipeline::bench::bare_parse(&inputs)?;
            println!(
                "{}",
                serde_json::to_string(&report).context("serialising the report")?
            );
            Ok(0)
        }
        Command::Run(args) => run_cmd(args),
        Command::BareConsume(args) => crate::pipeline::run::bare::run(&args),
        Command::MockLlm(args) => mock_llm_cmd(args),
    }
}

fn replay_cmd(args: ReplayArgs) -> anyhow::Result<i32> {
    let mut cfg = config::load(args.config.as_deref())?;
    if let Some(a) = args.audience {
        anyhow::ensure!(
            a == "tier1" || a == "hunter",
            "--audience must be `tier1` or `hunter`, got `{a}`"
        );
        cfg.narrator.audience = a;
    }
    if !args.scope_users.is_empty() {
        cfg.scope.users = args.scope_users;
    }
    apply_llm_args(&mut cfg, args.llm)?;
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

fn run_cmd(args: RunArgs) -> anyhow::Result<i32> {
    let mut cfg = config::load(args.config.as_deref())?;
    if let Some(listen) = args.ops_listen {
        cfg.ops.listen = listen;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let report = rt.block_on(async {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            wait_signal().await;
            let _ = tx.send(());
            wait_signal().await;
            eprintln!("second signal: exiting at once");
            std::process::exit(130);
        });
        crate::pipeline::run::run(cfg, async {
            let _ = rx.await;
        })
        .await
    })?;
    eprintln!(
        "run: {} messages, {} records, {} dead letters, {} suppressed during warm-up \
         (librdkafka {})",
        report.messages,
        report.records_sent,
        report.dead_letters_sent,
        report.suppressed,
        report.librdkafka
    );
    if let Some(path) = args.summary_json {
        let text = serde_json::to_string_pretty(&report).context("serialising the summary")?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(0)
}

/// SIGINT or SIGTERM.
async fn wait_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

fn loadgen_kafka(args: &LoadgenArgs, bootstrap: &str) -> anyhow::Result<i32> {
    use crate::loadgen::TenantSpec;
    use crate::loadgen::kafka::{KafkaLoad, TopicMode, produce};
    let spec = if args.sample {
        TenantSpec::sample()
    } else {
        let mut spec = TenantSpec::bench(args.users, args.days);
        spec.seed = args.seed;
        spec.anomaly_share = args.anomaly_share;
        spec
    };
    let load = KafkaLoad {
        bootstrap: bootstrap.to_owned(),
        topics: args
            .topic
            .clone()
            .map_or(TopicMode::PerTable, TopicMode::One),
        rate: args.rate,
        batch_rows: args.batch_rows,
    };
    let report = produce(&spec, &load)?;
    if let Some(path) = &args.truth {
        let text = serde_json::to_string_pretty(&report.truth).context("serialising truth")?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    eprintln!(
        "loadgen: {} rows in {} messages ({} bytes) in {:.2} s: {} rows/s achieved (target {})",
        report.rows,
        report.messages,
        report.bytes,
        report.elapsed_secs,
        report.rows_per_sec,
        if args.rate == 0 {
            "unlimited".to_owned()
        } else {
            args.rate.to_string()
        }
    );
    println!(
        "{}",
        serde_json::to_string(&report).context("serialising the report")?
    );
    Ok(0)
}

fn loadgen_cmd(args: LoadgenArgs) -> anyhow::Result<i32> {
    use crate::loadgen::{TenantSpec, write_blob_export, write_sample};
    if let Some(bootstrap) = args.kafka.clone() {
        return loadgen_kafka(&args, &bootstrap);
    }
    let out_dir = args
        .out_dir
        .clone()
        .context("--out-dir is required without --kafka")?;
    let stats = if args.sample {
        write_sample(&out_dir)?
    } else {
        let mut spec = TenantSpec::bench(args.users, args.days);
        spec.seed = args.seed;
        spec.anomaly_share = args.anomaly_share;
        write_blob_export(&spec, &out_dir)?
    };
    eprintln!("loadgen: wrote {} -> {:?}", out_dir.display(), stats);
    Ok(0)
}

fn apply_llm_args(cfg: &mut config::Config, a: LlmArgs) -> anyhow::Result<()> {
    let l = &mut cfg.llm;
    let text = |v: String| toml::Value::String(v);
    if let Some(v) = a.narrator {
        cfg.narrator.kind = v;
    }
    if let Some(v) = a.llm_provider {
        l.provider = text(v).try_into().context("--llm-provider")?;
    }
    if let Some(v) = a.llm_auth {
        l.auth = text(v).try_into().context("--llm-auth")?;
    }
    let strings = [
        (a.llm_endpoint, &mut l.endpoint),
        (a.llm_deployment, &mut l.deployment),
        (a.llm_api_version, &mut l.api_version),
        (a.llm_api_key_env, &mut l.api_key_env),
    ];
    for (v, slot) in strings {
        if let Some(v) = v {
            *slot = v;
        }
    }
    l.requests_per_minute = a.llm_rpm.unwrap_or(l.requests_per_minute);
    l.tokens_per_minute = a.llm_tpm.unwrap_or(l.tokens_per_minute);
    l.concurrency = a.llm_concurrency.unwrap_or(l.concurrency);
    if let Some(p) = a.audit {
        l.audit_file = Some(p.display().to_string());
    }
    anyhow::ensure!(
        ["offline", "llm"].contains(&cfg.narrator.kind.as_str()),
        "--narrator must be offline or llm"
    );
    Ok(())
}

fn mock_llm_cmd(args: MockLlmArgs) -> anyhow::Result<i32> {
    use crate::mockllm::{MockOptions, load_script, serve};
    let opts = MockOptions {
        api_key: args.api_key,
        latency: std::time::Duration::from_millis(args.latency_ms),
        rpm: args.rpm,
        tpm: args.tpm,
        script: match &args.script {
            Some(p) => load_script(p)?,
            None => Vec::new(),
        },
        record: args.record,
        obey: args.obey,
    };
    let rt = tokio::runtime::Runtime::new().context("starting the runtime")?;
    rt.block_on(serve(args.listen, opts))?;
    Ok(0)
}
