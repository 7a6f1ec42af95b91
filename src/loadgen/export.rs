//! Writing a generated tenant in the workspace-export-to-storage layout.
//!
//! Each row goes to `am-<Table>/WorkspaceResourceId=/subscriptions/<sub>/resourcegroups/<rg>/
//! providers/microsoft.operationalinsights/workspaces/<ws>/y=YYYY/m=MM/d=DD/h=HH/m=mm/PT05M.json`
//! (JSON Lines), the folder being the 5-minute bucket of the row's `TimeGenerated`; the ground
//! truth goes to `ground-truth.json` beside the `export/` folder that holds the rows, so replaying
//! `export/` reads data only. The shipped sample uses the compact layout instead: one gzipped
//! JSON Lines file per table (`export/<Table>.jsonl.gz`). Rows arrive in time order, so each
//! table keeps one open file and moves on when the bucket changes; files are opened in append
//! mode, so a row that arrives late still lands in its own bucket.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{GroundTruth, TenantSpec, generate};
use crate::decode::time;

/// Rows written per table, and where.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExportStats {
    pub rows_per_table: BTreeMap<String, u64>,
    pub files: u64,
    pub scenarios: usize,
}

impl ExportStats {
    pub fn total_rows(&self) -> u64 {
        self.rows_per_table.values().sum()
    }
}

/// The blob path (relative to the export root) of a row of `table` generated at `time`.
pub fn blob_path(workspace_resource_id: &str, table: &str, time: DateTime<Utc>) -> PathBuf {
    let minute = time.minute() / 5 * 5;
    PathBuf::from(format!(
        "am-{table}/WorkspaceResourceId={workspace_resource_id}/\
         y={:04}/m={:02}/d={:02}/h={:02}/m={minute:02}/PT05M.json",
        time.year(),
        time.month(),
        time.day(),
        time.hour(),
    ))
}

/// How rows are laid out under `export/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Storage-export blobs in 5-minute folders.
    Blobs,
    /// One gzipped JSON Lines file per table.
    GzipPerTable,
}

/// One gzipped JSON Lines file per table.
struct GzipWriter {
    root: PathBuf,
    open: BTreeMap<String, flate2::write::GzEncoder<BufWriter<File>>>,
    stats: ExportStats,
}

impl GzipWriter {
    fn write(&mut self, table: &str, row: &Map<String, Value>) -> Result<()> {
        if !self.open.contains_key(table) {
            let path = self.root.join(format!("{table}.jsonl.gz"));
            let file =
                File::create(&path).with_context(|| format!("creating {}", path.display()))?;
            // A fixed header (no name, mtime 0) keeps the bytes reproducible.
            let gz = flate2::GzBuilder::new()
                .mtime(0)
                .write(BufWriter::new(file), flate2::Compression::best());
            self.open.insert(table.to_owned(), gz);
            self.stats.files += 1;
        }
        let out = self
            .open
            .get_mut(table)
            .context("gzip writer just opened")?;
        serde_json::to_writer(&mut *out, row)
            .and_then(|()| out.write_all(b"\n").map_err(serde_json::Error::io))
            .with_context(|| format!("writing {table}.jsonl.gz"))?;
        *self
            .stats
            .rows_per_table
            .entry(table.to_string())
            .or_default() += 1;
        Ok(())
    }

    fn finish(self) -> Result<ExportStats> {
        for (table, gz) in self.open {
            let mut inner = gz
                .finish()
                .with_context(|| format!("finishing {table}.jsonl.gz"))?;
            inner
                .flush()
                .with_context(|| format!("flushing {table}.jsonl.gz"))?;
        }
        Ok(self.stats)
    }
}

/// One open blob per table.
struct BlobWriter {
    root: PathBuf,
    open: BTreeMap<String, (PathBuf, BufWriter<File>)>,
    stats: ExportStats,
    error: Option<anyhow::Error>,
}

impl BlobWriter {
    fn write(&mut self, table: &str, row: &Map<String, Value>) -> Result<()> {
        let stamp = row
            .get("TimeGenerated")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let at = time::parse_instant(stamp)
            .with_context(|| format!("{table} row without a usable TimeGenerated: {stamp:?}"))?;
        let wsid = row
            .get("_Internal_WorkspaceResourceId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let path = self.root.join(blob_path(wsid, table, at));
        let current = self.open.get(table).map(|(p, _)| p);
        if current != Some(&path) {
            self.switch(table, path)?;
        }
        let (path, out) = self.open.get_mut(table).context("blob just opened")?;
        serde_json::to_writer(&mut *out, row)
            .and_then(|()| out.write_all(b"\n").map_err(serde_json::Error::io))
            .with_context(|| format!("writing {}", path.display()))?;
        *self
            .stats
            .rows_per_table
            .entry(table.to_string())
            .or_default() += 1;
        Ok(())
    }

    fn switch(&mut self, table: &str, path: PathBuf) -> Result<()> {
        if let Some((old, mut w)) = self.open.remove(table) {
            w.flush()
                .with_context(|| format!("flushing {}", old.display()))?;
        }
        let dir = path.parent().context("blob path has a parent")?;
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let existed = path.exists();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        if !existed {
            self.stats.files += 1;
        }
        self.open
            .insert(table.to_string(), (path, BufWriter::new(file)));
        Ok(())
    }

    fn finish(mut self) -> Result<ExportStats> {
        for (path, mut w) in std::mem::take(&mut self.open).into_values() {
            w.flush()
                .with_context(|| format!("flushing {}", path.display()))?;
        }
        Ok(self.stats)
    }
}

/// Write the storage-export layout of `spec`'s tenant under `dir/export/` and
/// `dir/ground-truth.json`.
pub fn write_blob_export(spec: &TenantSpec, dir: &Path) -> Result<ExportStats> {
    export(spec, dir, Layout::Blobs).map(|(stats, _)| stats)
}

fn export(spec: &TenantSpec, dir: &Path, layout: Layout) -> Result<(ExportStats, GroundTruth)> {
    let root = dir.join("export");
    fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let mut error: Option<anyhow::Error> = None;
    let (truth, mut stats) = match layout {
        Layout::Blobs => {
            let mut writer = BlobWriter {
                root,
                open: BTreeMap::new(),
                stats: ExportStats::default(),
                error: None,
            };
            let truth = generate(spec, &mut |table, row| {
                if writer.error.is_none()
                    && let Err(e) = writer.write(table, &row)
                {
                    writer.error = Some(e);
                }
            });
            error = writer.error.take();
            (truth, writer.finish()?)
        }
        Layout::GzipPerTable => {
            let mut writer = GzipWriter {
                root,
                open: BTreeMap::new(),
                stats: ExportStats::default(),
            };
            let truth = generate(spec, &mut |table, row| {
                if error.is_none()
                    && let Err(e) = writer.write(table, &row)
                {
                    error = Some(e);
                }
            });
            (truth, writer.finish()?)
        }
    };
    if let Some(e) = error {
        return Err(e);
    }
    stats.scenarios = truth.scenarios.len();
    write_truth(&truth, &dir.join("ground-truth.json"))?;
    tracing::info!(
        dir = %dir.display(),
        rows = stats.total_rows(),
        files = stats.files,
        scenarios = stats.scenarios,
        "tenant export written"
    );
    Ok((stats, truth))
}

fn write_truth(truth: &GroundTruth, path: &Path) -> Result<()> {
    let mut text = serde_json::to_string_pretty(truth).context("serialising ground truth")?;
    text.push('\n');
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Write the shipped sample (`TenantSpec::sample()`) into `dir`, with its README.
pub fn write_sample(dir: &Path) -> Result<ExportStats> {
    let old = dir.join("export");
    if old.exists() {
        fs::remove_dir_all(&old)
            .with_context(|| format!("removing old export {}", old.display()))?;
    }
    let spec = TenantSpec::sample();
    let (stats, truth) = export(&spec, dir, Layout::GzipPerTable)?;
    let readme = super::readme::sample_readme(&spec, &stats, &truth);
    fs::write(dir.join("README.md"), readme)
        .with_context(|| format!("writing {}", dir.join("README.md").display()))?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn blob_path_uses_five_minute_bucket() {
        let t = Utc
            .with_ymd_and_hms(2025, 1, 6, 8, 14, 59)
            .single()
            .expect("valid date");
        let p = blob_path(
            "/subscriptions/s/resourcegroups/rg/providers/x/workspaces/w",
            "SigninLogs",
            t,
        );
        assert_eq!(
            p.to_string_lossy(),
            "am-SigninLogs/WorkspaceResourceId=/subscriptions/s/resourcegroups/rg/providers/x/\
             workspaces/w/y=2025/m=01/d=06/h=08/m=10/PT05M.json"
        );
    }
}
