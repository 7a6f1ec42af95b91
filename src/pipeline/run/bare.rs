//! A bare consume loop (hidden `bare-consume` subcommand): the ceiling `run` is compared with in
//! the streaming benchmark. It joins its own group, counts messages and bytes, and stops after
//! the input has been quiet for `--idle-secs` once something arrived.

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};

#[derive(Debug, Args)]
pub struct BareArgs {
    #[arg(long, default_value = "127.0.0.1:9092")]
    pub bootstrap: String,
    #[arg(long, required = true)]
    pub topic: Vec<String>,
    #[arg(long, default_value = "bare-consume")]
    pub group: String,
    #[arg(long, default_value_t = 5)]
    pub idle_secs: u64,
}

/// Consume until quiet; prints one JSON line with the counts and the rate.
pub fn run(args: &BareArgs) -> anyhow::Result<i32> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(consume(args))
}

async fn consume(args: &BareArgs) -> anyhow::Result<i32> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &args.bootstrap)
        .set("group.id", &args.group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .context("creating the consumer")?;
    let topics: Vec<&str> = args.topic.iter().map(String::as_str).collect();
    consumer.subscribe(&topics).context("subscribing")?;
    let (mut messages, mut bytes, mut rows) = (0u64, 0u64, 0u64);
    let mut first: Option<Instant> = None;
    let mut last = Instant::now();
    let idle = Duration::from_secs(args.idle_secs);
    loop {
        let wait = if first.is_some() {
            idle
        } else {
            Duration::from_secs(60)
        };
        match tokio::time::timeout(wait, consumer.recv()).await {
            Ok(Ok(m)) => {
                first.get_or_insert_with(Instant::now);
                last = Instant::now();
                messages += 1;
                let p = m.payload().unwrap_or_default();
                bytes += p.len() as u64;
                // Rows are counted the cheap way: one per `"Type":` key.
                rows += memchr_count(p, b"\"Type\":");
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "consumer error"),
            Err(_) => break,
        }
    }
    let secs = first.map_or(0.0, |f| (last - f).as_secs_f64());
    let rate = |n: u64| {
        if secs > 0.0 {
            (n as f64 / secs).round()
        } else {
            0.0
        }
    };
    println!(
        "{}",
        serde_json::json!({
            "messages": messages, "bytes": bytes, "rows": rows, "secs": secs,
            "messages_per_sec": rate(messages), "rows_per_sec": rate(rows)
        })
    );
    Ok(0)
}

fn memchr_count(hay: &[u8], needle: &[u8]) -> u64 {
    hay.windows(needle.len()).filter(|w| *w == needle).count() as u64
}
