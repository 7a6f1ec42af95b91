//! The README written beside the shipped sample tenant.
//!
//! Built from the spec, the export counts and the ground truth, so it always describes the files
//! next to it and the golden check covers it too.

use std::fmt::Write;

use super::{ExportStats, GroundTruth, TenantSpec};

/// Markdown describing the sample tenant, its scenarios and how to regenerate it.
pub fn sample_readme(spec: &TenantSpec, stats: &ExportStats, truth: &GroundTruth) -> String {
    let mut md = String::new();
    let end = spec.start + chrono::Duration::days(i64::from(spec.days));
    let _ = writeln!(md, "# Sample tenant\n");
    let _ = writeln!(
        md,
        "A synthetic Microsoft Sentinel workspace export made by the ueba-narrator tenant \
         generator (seed {}). Every person, address and identifier is invented: addresses come \
         from non-routable test ranges (198.18.0.0/15, 192.0.2.0/24, 198.51.100.0/24, \
         203.0.113.0/24) and the forwarding domain ends in `.example`.\n",
        spec.seed
    );
    let _ = writeln!(md, "## Tenant\n");
    let _ = writeln!(
        md,
        "- {} users of `{}` in Finance, Sales, Engineering, HR, Legal, IT and Marketing, living \
         in the US, the Netherlands and the United Kingdom; each department has a head who \
         manages the others.",
        spec.users, spec.domain
    );
    let _ = writeln!(
        md,
        "- {} days from {} to {} (UTC). Users work 08:00-18:00 local time on weekdays, from \
         one or two home addresses with one device and browser; weekends are quiet.",
        spec.days,
        spec.start.format("%Y-%m-%d"),
        end.format("%Y-%m-%d")
    );
    let _ = writeln!(
        md,
        "- Workspace id (`TenantId`) `{}`, Entra tenant `{}`.",
        spec.workspace_id, spec.aad_tenant_id
    );
    let _ = writeln!(
        md,
        "- IdentityInfo full syncs and UserPeerAnalytics rankings (up to 20 peers, name columns \
         empty) on days 0 and 14, plus change rows for title changes, a granted role and a \
         leaver.\n"
    );
    let _ = writeln!(md, "## Layout\n");
    let _ = writeln!(
        md,
        "`export/` holds one gzipped JSON Lines file per table (`<Table>.jsonl.gz`), rows exactly \
         as a Log Analytics data export writes them, in time order; `ueba-narrator replay` merges \
         the files by event time. `ueba-narrator loadgen --out-dir DIR` writes the same kind of \
         tenant in the storage-export layout instead \
         (`am-<Table>/WorkspaceResourceId=.../y=YYYY/m=MM/d=DD/h=HH/m=mm/PT05M.json`). \
         `ground-truth.json` lists the injected scenarios.\n"
    );
    let _ = writeln!(md, "| Table | Rows |\n|---|---:|");
    for (table, rows) in &stats.rows_per_table {
        let _ = writeln!(md, "| {table} | {rows} |");
    }
    let _ = writeln!(md, "| **total** | {} |\n", stats.total_rows());
    let _ = writeln!(md, "## Scenarios\n");
    let _ = writeln!(
        md,
        "| Scenario | User | When (UTC) | Malicious | Key facts |\n|---|---|---|---|---|"
    );
    for s in &truth.scenarios {
        let kind = serde_json::to_value(s.kind).ok();
        let kind = kind.as_ref().and_then(|v| v.as_str()).unwrap_or("?");
        let _ = writeln!(
            md,
            "| `{kind}` | {} | {} to {} | {} | {} |",
            s.user,
            s.start.format("%Y-%m-%d %H:%M"),
            s.end.format("%Y-%m-%d %H:%M"),
            if s.malicious { "yes" } else { "no" },
            s.key_facts.join(", ")
        );
    }
    let _ = writeln!(md);
    for s in &truth.scenarios {
        let kind = serde_json::to_value(s.kind).ok();
        let kind = kind.as_ref().and_then(|v| v.as_str()).unwrap_or("?");
        let _ = writeln!(md, "- `{kind}`: {}", s.description);
    }
    let _ = writeln!(md, "\n## Regenerating\n");
    let _ = writeln!(
        md,
        "The files are produced by `ueba_narrator::loadgen::write_sample` and are byte-for-byte \
         reproducible. A test compares them with a fresh run; after an intended change to the \
         generator, rewrite them with:\n\n```sh\nUEBA_REGENERATE_SAMPLE=1 cargo test --test \
         loadgen_sample\n```"
    );
    md
}
