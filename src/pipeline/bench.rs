//! The reference for replay benchmarks: a bare `serde_json` parse of the same bytes.
//!
//! Walks the inputs, decompresses gzip, and parses every JSON line into a `serde_json::Value`,
//! single-threaded, doing nothing else. Replay throughput is reported as a ratio to this.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ParseReport {
    pub files: u64,
    pub bytes: u64,
    pub records: u64,
    pub elapsed_secs: f64,
    pub records_per_sec: f64,
}

/// Parse every JSON line under `inputs`.
pub fn bare_parse(inputs: &[PathBuf]) -> anyhow::Result<ParseReport> {
    let started = Instant::now();
    let mut files = Vec::new();
    for p in inputs {
        collect(p, &mut files)?;
    }
    files.sort();
    let (mut records, mut bytes) = (0u64, 0u64);
    let mut line = Vec::with_capacity(64 * 1024);
    for f in &files {
        let raw = std::fs::File::open(f).with_context(|| format!("opening {}", f.display()))?;
        let mut raw = BufReader::new(raw);
        let gzip = raw.fill_buf()?.starts_with(&[0x1f, 0x8b]);
        let reader: Box<dyn Read> = if gzip {
            Box::new(flate2::read::MultiGzDecoder::new(raw))
        } else {
            Box::new(raw)
        };
        let mut reader = BufReader::with_capacity(256 * 1024, reader);
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            bytes += line.len() as u64;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let _value: serde_json::Value = serde_json::from_slice(&line)
                .with_context(|| format!("parsing a line of {}", f.display()))?;
            records += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(ParseReport {
        files: files.len() as u64,
        bytes,
        records,
        elapsed_secs: elapsed,
        records_per_sec: if elapsed > 0.0 {
            (records as f64 / elapsed).round()
        } else {
            0.0
        },
    })
}

fn collect(p: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if p.is_dir() {
        for entry in std::fs::read_dir(p).with_context(|| format!("reading {}", p.display()))? {
            collect(&entry?.path(), out)?;
        }
    } else {
        out.push(p.to_path_buf());
    }
    Ok(())
}
