//! Sink size limits: measures each output column of a narrative and trims oversized ones.
//!
//! Text columns (`Summary`, `Narrative`, `BaselineComparison`, `PeerComparison`) are measured
//! in UTF-8 bytes; list columns (`Hypotheses`, `Claims`...) are sent as dynamic JSON and measured
//! as their serialised JSON. A trimmed text ends with [`TRUNCATED_MARKER`]; cuts always land on
//! a character boundary, so names like `Zoë` are never split mid-character.

use serde::Serialize;

use super::schema::Narrative;
use super::validate::{Issue, MAX_FIELD_BYTES, TRUNCATED_MARKER, field_issue};

/// Strings shorter than this are not worth cutting further.
const MIN_CUTTABLE: usize = 64;

const LIST_COLUMNS: [&str; 7] = [
    "Hypotheses",
    "KqlQueries",
    "MitreTechniques",
    "Playbooks",
    "WatchlistProposal",
    "InterviewQuestions",
    "Claims",
];

/// Every output column and its size in bytes.
pub(crate) fn field_sizes(n: &Narrative) -> Vec<(&'static str, usize)> {
    let mut sizes = vec![
        ("Summary", n.summary.len()),
        ("Narrative", n.narrative.len()),
        ("BaselineComparison", n.baseline_comparison.len()),
        ("PeerComparison", n.peer_comparison.len()),
    ];
    sizes.extend(LIST_COLUMNS.iter().map(|c| (*c, list_size(n, c))));
    sizes
}

/// Trims every column over [`MAX_FIELD_BYTES`]; returns one issue per trimmed column.
pub(crate) fn trim_oversized(n: &mut Narrative) -> Vec<Issue> {
    let mut fixed = Vec::new();
    let texts = [
        ("Summary", &mut n.summary),
        ("Narrative", &mut n.narrative),
        ("BaselineComparison", &mut n.baseline_comparison),
        ("PeerComparison", &mut n.peer_comparison),
    ];
    for (name, text) in texts {
        if text.len() > MAX_FIELD_BYTES {
            fixed.push(field_issue(name, text.len()));
            cut(text, MAX_FIELD_BYTES);
        }
    }
    for column in LIST_COLUMNS {
        let size = list_size(n, column);
        if size > MAX_FIELD_BYTES {
            fixed.push(field_issue(column, size));
            trim_list(n, column);
        }
    }
    fixed
}

/// Cuts `text` so that it fits in `max` bytes including the marker.
pub(crate) fn cut(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let mut end = max.saturating_sub(TRUNCATED_MARKER.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(TRUNCATED_MARKER);
}

fn trim_list(n: &mut Narrative, column: &str) {
    loop {
        let excess = list_size(n, column).saturating_sub(MAX_FIELD_BYTES);
        if excess == 0 {
            return;
        }
        let mut strings = list_strings(n, column);
        let Some(longest) = strings.iter_mut().max_by_key(|s| s.len()) else {
            return;
        };
        if longest.len() < MIN_CUTTABLE {
            drop(strings);
            pop_last(n, column);
            continue;
        }
        let target = longest
            .len()
            .saturating_sub(excess + TRUNCATED_MARKER.len());
        let target = target.min(longest.len() / 2 + longest.len() / 4);
        cut(longest, target.max(TRUNCATED_MARKER.len()));
    }
}

fn pop_last(n: &mut Narrative, column: &str) {
    match column {
        "Hypotheses" => drop(n.hypotheses.pop()),
        "KqlQueries" => drop(n.kql_queries.pop()),
        "MitreTechniques" => drop(n.mitre_techniques.pop()),
        "Playbooks" => drop(n.playbooks.pop()),
        "WatchlistProposal" => n.watchlist_proposal = None,
        "InterviewQuestions" => drop(n.interview_questions.pop()),
        _ => drop(n.claims.pop()),
    }
}

fn list_size(n: &Narrative, column: &str) -> usize {
    match column {
        "Hypotheses" => json_len(&n.hypotheses),
        "KqlQueries" => json_len(&n.kql_queries),
        "MitreTechniques" => json_len(&n.mitre_techniques),
        "Playbooks" => json_len(&n.playbooks),
        "WatchlistProposal" => json_len(&n.watchlist_proposal),
        "InterviewQuestions" => json_len(&n.interview_questions),
        _ => json_len(&n.claims),
    }
}

fn list_strings<'a>(n: &'a mut Narrative, column: &str) -> Vec<&'a mut String> {
    match column {
        "Hypotheses" => n
            .hypotheses
            .iter_mut()
            .flat_map(|h| {
                let fixed = [&mut h.title, &mut h.rationale];
                fixed.into_iter().chain(h.verification_steps.iter_mut())
            })
            .collect(),
        "KqlQueries" => n
            .kql_queries
            .iter_mut()
            .flat_map(|q| [&mut q.purpose, &mut q.query])
            .collect(),
        "MitreTechniques" => n.mitre_techniques.iter_mut().map(|m| &mut m.name).collect(),
        "Playbooks" => n.playbooks.iter_mut().collect(),
        "WatchlistProposal" => n
            .watchlist_proposal
            .iter_mut()
            .flat_map(|w| [&mut w.reason, &mut w.item_key])
            .collect(),
        "InterviewQuestions" => n.interview_questions.iter_mut().collect(),
        _ => n.claims.iter_mut().map(|c| &mut c.text).collect(),
    }
}

fn json_len<T: Serialize>(value: &T) -> usize {
    serde_json::to_vec(value)
        .map(|v| v.len())
        .unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_lands_on_char_boundary_and_marks() {
        let mut s = "é".repeat(100); // 200 bytes
        cut(&mut s, 51);
        assert!(s.ends_with(TRUNCATED_MARKER));
        assert!(s.len() <= 51);
        assert_eq!(s.trim_end_matches(TRUNCATED_MARKER), "é".repeat(19));
    }

    #[test]
    fn cut_leaves_short_text_alone() {
        let mut s = String::from("short");
        cut(&mut s, 51);
        assert_eq!(s, "short");
    }
}
