//! Finding replay input files and the start time their storage-export folder gives them.
//!
//! Main type: [`InputFile`]. Directories are walked recursively in sorted name order, so the
//! file order (the merge's tie-breaker) is deterministic; hidden entries (names starting with
//! `.`) are skipped below the given roots; symbolic links to files are read, links to
//! directories are not followed. Paths are kept exactly as given or joined.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};

/// One file to replay.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InputFile {
    pub path: PathBuf,
    /// Position in discovery order; breaks ties between files deterministically.
    pub order: usize,
    /// Start of the `y=/m=/d=/h=/m=` folder bucket the file sits in, if any.
    pub start: Option<DateTime<Utc>>,
    /// Size on disk (compressed size for gzip), for progress.
    pub size: u64,
}

/// Expand the given paths into files, in a deterministic order.
pub(crate) fn discover(paths: &[PathBuf]) -> Result<Vec<InputFile>> {
    let mut found = Vec::new();
    for path in paths {
        let meta = fs::metadata(path)
            .with_context(|| format!("cannot read replay input {}", path.display()))?;
        if meta.is_dir() {
            walk(path, &mut found)?;
        } else {
            found.push((path.clone(), meta.len()));
        }
    }
    let files = found
        .into_iter()
        .enumerate()
        .map(|(order, (path, size))| InputFile {
            start: folder_start(&path),
            path,
            order,
            size,
        })
        .collect();
    Ok(files)
}

fn walk(dir: &Path, found: &mut Vec<(PathBuf, u64)>) -> Result<()> {
    let mut entries = fs::read_dir(dir)
        .with_context(|| format!("cannot list directory {}", dir.display()))?
        .collect::<std::io::Result<Vec<_>>>()
        .with_context(|| format!("cannot list directory {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().to_ascii_lowercase();
        // Hidden entries and documentation that travels with exports (README.md, SOURCES.md)
        // are not data. Files named on the command line are always read.
        if name.starts_with('.') || name.ends_with(".md") {
            continue;
        }
        let path = entry.path();
        let kind = entry
            .file_type()
            .with_context(|| format!("cannot stat {}", path.display()))?;
        if kind.is_dir() {
            walk(&path, found)?;
        } else if kind.is_file() {
            // Stat relative to the open directory: no walk of the whole path per file.
            let size = entry
                .metadata()
                .with_context(|| format!("cannot stat {}", path.display()))?
                .len();
            found.push((path, size));
        } else if kind.is_symlink() && path.is_file() {
            // Linked files replay like real ones; linked directories are not followed, so a
            // link cycle cannot make the walk endless.
            let size = fs::metadata(&path)
                .with_context(|| format!("cannot stat {}", path.display()))?
                .len();
            found.push((path, size));
        } else if kind.is_symlink() {
            tracing::warn!(path = %path.display(), "replay skips a linked directory");
        }
    }
    Ok(())
}

/// The start of the storage-export bucket named by `.../y=YYYY/m=MM/d=DD/h=HH[/m=mm]/file`.
///
/// The last such run of folders wins; a path without one has no start time.
pub(crate) fn folder_start(path: &Path) -> Option<DateTime<Utc>> {
    let parts: Vec<&str> = path
        .parent()?
        .components()
        .filter_map(|c| c.as_os_str().to_str())
        .collect();
    (0..parts.len()).rev().find_map(|i| bucket_at(&parts[i..]))
}

fn bucket_at(parts: &[&str]) -> Option<DateTime<Utc>> {
    let value =
        |i: usize, key: &str| -> Option<u32> { parts.get(i)?.strip_prefix(key)?.parse().ok() };
    let year = value(0, "y=")?;
    let month = value(1, "m=")?;
    let day = value(2, "d=")?;
    let hour = value(3, "h=")?;
    let minute = value(4, "m=").unwrap_or(0);
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    Some(date.and_hms_opt(hour, minute, 0)?.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_folder_gives_start_time() {
        let p = Path::new(
            "WorkspaceResourceId=/subscriptions/s/workspaces/w/\
             y=2025/m=03/d=04/h=09/m=05/PT05M.json",
        );
        let t = folder_start(p).expect("bucket");
        assert_eq!(t.to_rfc3339(), "2025-03-04T09:05:00+00:00");
    }

    #[test]
    fn hourly_folder_without_minutes_starts_on_the_hour() {
        let p = Path::new("insights-logs-signinlogs/y=2024/m=12/d=31/h=23/PT1H.json");
        assert_eq!(
            folder_start(p).map(|t| t.to_rfc3339()).as_deref(),
            Some("2024-12-31T23:00:00+00:00")
        );
    }

    #[test]
    fn paths_without_bucket_or_bad_dates_have_no_start() {
        assert_eq!(folder_start(Path::new("exports/day1/PT05M.json")), None);
        assert_eq!(
            folder_start(Path::new("y=2025/m=13/d=01/h=00/a.json")),
            None
        );
        assert_eq!(folder_start(Path::new("PT05M.json")), None);
    }

    #[test]
    fn directories_walk_sorted_and_skip_hidden() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        fs::create_dir_all(root.join("b/sub")).expect("mkdir");
        fs::create_dir_all(root.join(".git")).expect("mkdir");
        for f in [
            "b/sub/z.json",
            "b/a.json",
            "c.csv",
            ".hidden.json",
            ".git/x.json",
        ] {
            fs::write(root.join(f), "{}\n").expect("write");
        }
        let files = discover(&[root.to_path_buf()]).expect("discover");
        let names: Vec<String> = files
            .iter()
            .map(|f| {
                f.path
                    .strip_prefix(root)
                    .expect("under root")
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(names, ["b/a.json", "b/sub/z.json", "c.csv"]);
        assert_eq!(files[2].order, 2);
        assert_eq!(files[0].size, 3);
    }

    #[cfg(unix)]
    #[test]
    fn linked_files_are_read_and_linked_directories_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        fs::create_dir_all(root.join("d")).expect("mkdir");
        fs::write(root.join("d/a.json"), "{}\n").expect("write");
        std::os::unix::fs::symlink(root.join("d/a.json"), root.join("d/link.json")).expect("ln");
        std::os::unix::fs::symlink(root, root.join("d/loop")).expect("ln");
        let files = discover(&[root.join("d")]).expect("discover");
        let names: Vec<_> = files.iter().map(|f| f.path.clone()).collect();
        assert_eq!(names, [root.join("d/a.json"), root.join("d/link.json")]);
    }

    #[test]
    fn missing_input_is_an_error_naming_the_path() {
        let err = discover(&[PathBuf::from("no/such/export")]).expect_err("missing");
        assert!(format!("{err:#}").contains("no/such/export"), "{err:#}");
    }
}
