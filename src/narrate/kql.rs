//! A pragmatic KQL checker: does a query name only known tables and columns?
//!
//! [`check`] tokenizes the query (string literals, `datetime(...)` bodies and numbers are
//! skipped), splits it into pipe stages and checks each stage against the catalog
//! ([`super::catalog::kql_table`]): the first identifier and every table after `union` or inside
//! a `join (...)` must be a known table; identifiers used as columns in `where`, `project`,
//! `extend`, `summarize`, `distinct`, `order by`/`sort by` and `top` must be a column of a
//! referenced table or one the query created earlier (`x = ...`). Function names (an identifier
//! followed by `(`), property paths after `.` and KQL keywords are not columns. It is a linter,
//! not a parser: it errs on the side of accepting what it does not understand.

use std::collections::BTreeSet;

use super::catalog::kql_table;

/// Why a query was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KqlProblem {
    UnknownTable(String),
    UnknownColumn(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Punct(String),
    Literal,
}

/// Operators and keywords that can appear where a column could.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "has",
    "has_any",
    "has_all",
    "has_cs",
    "hasprefix",
    "hassuffix",
    "contains",
    "contains_cs",
    "startswith",
    "startswith_cs",
    "endswith",
    "endswith_cs",
    "matches",
    "regex",
    "between",
    "by",
    "asc",
    "desc",
    "nulls",
    "first",
    "last",
    "true",
    "false",
    "kind",
    "inner",
    "innerunique",
    "leftouter",
    "rightouter",
    "fullouter",
    "leftanti",
    "rightanti",
    "leftsemi",
    "rightsemi",
    "on",
    "with",
    "typeof",
    "null",
    "step",
    "from",
    "to",
    "of",
    "bin",
    "ago",
    "now",
    "dynamic",
    "datetime",
    "timespan",
    "long",
    "int",
    "real",
    "string",
    "bool",
    "withsource",
    "isfuzzy",
    "hint",
    "strategy",
    "shuffle",
    "broadcast",
];

/// Check one query; returns every problem found (empty when the query looks sound).
pub fn check(query: &str) -> Vec<KqlProblem> {
    let toks = tokenize(query);
    let mut problems = Vec::new();
    check_tokens(&toks, &mut problems);
    problems
}

fn check_tokens(toks: &[Tok], problems: &mut Vec<KqlProblem>) -> BTreeSet<String> {
    let stages = split_stages(toks);
    let mut cols = BTreeSet::new();
    let Some(first) = stages.first() else {
        return cols;
    };
    let before = problems.len();
    source_stage(first, &mut cols, problems);
    if problems.len() > before {
        // Columns of an unknown table cannot be judged; the table is the problem to report.
        return cols;
    }
    for stage in &stages[1..] {
        pipe_stage(stage, &mut cols, problems);
    }
    cols
}

/// The tabular source: `Table`, or `union T1, T2`.
fn source_stage(stage: &[Tok], cols: &mut BTreeSet<String>, problems: &mut Vec<KqlProblem>) {
    match stage.first() {
        Some(Tok::Ident(name)) if name == "union" => union_tables(&stage[1..], cols, problems),
        Some(Tok::Ident(name)) => add_table(name, cols, problems),
        _ => {}
    }
}

fn union_tables(rest: &[Tok], cols: &mut BTreeSet<String>, problems: &mut Vec<KqlProblem>) {
    let mut expect_table = true;
    for t in rest {
        match t {
            Tok::Ident(n) if expect_table && !is_keyword(n) => {
                add_table(n, cols, problems);
                expect_table = false;
            }
            Tok::Punct(p) if p == "," => expect_table = true,
            _ => {}
        }
    }
}

fn add_table(name: &str, cols: &mut BTreeSet<String>, problems: &mut Vec<KqlProblem>) {
    match kql_table(name) {
        Some(t) => cols.extend(t.columns.iter().cloned()),
        None => problems.push(KqlProblem::UnknownTable(name.to_string())),
    }
}

fn pipe_stage(stage: &[Tok], cols: &mut BTreeSet<String>, problems: &mut Vec<KqlProblem>) {
    let Some(Tok::Ident(op)) = stage.first() else {
        return;
    };
    let body = &stage[1..];
    match op.as_str() {
        "where" | "filter" | "distinct" | "top" => check_columns(body, cols, problems, false),
        "order" | "sort" => check_columns(body, cols, problems, false),
        "extend" => check_columns(body, cols, problems, true),
        "summarize" => check_columns(body, cols, problems, true),
        "project" if is_dash_suffix(body) => check_columns(&body[2..], cols, problems, false),
        "project" => {
            let mut projected = BTreeSet::new();
            check_columns(body, cols, problems, true);
            for item in split_top(body, ",") {
                if let Some(Tok::Ident(n)) = item.first() {
                    projected.insert(n.clone());
                }
            }
            *cols = projected;
        }
        "join" => join_stage(body, cols, problems),
        "union" => union_tables(body, cols, problems),
        _ => {}
    }
}

/// `project-away`, `project-keep`, `project-rename`: tokenized as `project - away`.
fn is_dash_suffix(body: &[Tok]) -> bool {
    matches!(body.first(), Some(Tok::Punct(p)) if p == "-")
}

/// `join kind=... (Subquery) on Col`: check the subquery, then add its columns.
fn join_stage(body: &[Tok], cols: &mut BTreeSet<String>, problems: &mut Vec<KqlProblem>) {
    let Some(open) = body.iter().position(|t| *t == Tok::Punct("(".into())) else {
        return;
    };
    let close = matching_paren(body, open).unwrap_or(body.len());
    let inner = check_tokens(&body[open + 1..close], problems);
    cols.extend(inner);
}

/// Check identifiers used as columns; with `defines`, `name =` creates a column.
fn check_columns(
    body: &[Tok],
    cols: &mut BTreeSet<String>,
    problems: &mut Vec<KqlProblem>,
    defines: bool,
) {
    let mut created = Vec::new();
    for (i, t) in body.iter().enumerate() {
        let Tok::Ident(name) = t else { continue };
        let next = body.get(i + 1);
        let prev = i.checked_sub(1).and_then(|p| body.get(p));
        if matches!(next, Some(Tok::Punct(p)) if p == "(") || is_keyword(name) {
            continue;
        }
        if matches!(prev, Some(Tok::Punct(p)) if p == "." || p == "$") {
            continue;
        }
        if defines && matches!(next, Some(Tok::Punct(p)) if p == "=") {
            created.push(name.clone());
            continue;
        }
        if !cols.contains(name) && !created.contains(name) {
            problems.push(KqlProblem::UnknownColumn(name.clone()));
        }
    }
    cols.extend(created);
    if defines && body.iter().any(|t| *t == Tok::Ident("count".into())) {
        cols.insert("count_".into());
    }
}

fn is_keyword(name: &str) -> bool {
    KEYWORDS.contains(&name)
}

fn split_stages(toks: &[Tok]) -> Vec<&[Tok]> {
    split_top(toks, "|")
}

/// Split at a punctuation token outside parentheses and brackets.
fn split_top<'a>(toks: &'a [Tok], sep: &str) -> Vec<&'a [Tok]> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, t) in toks.iter().enumerate() {
        if let Tok::Punct(p) = t {
            match p.as_str() {
                "(" | "[" => depth += 1,
                ")" | "]" => depth -= 1,
                s if s == sep && depth == 0 => {
                    out.push(&toks[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
    }
    out.push(&toks[start..]);
    out
}

fn matching_paren(toks: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::Punct(p) if p == "(" => depth += 1,
            Tok::Punct(p) if p == ")" => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn tokenize(q: &str) -> Vec<Tok> {
    let chars: Vec<char> = q.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            i = skip_line(&chars, i);
        } else if c == '"' || c == '\'' {
            i = skip_string(&chars, i + 1, c, true);
            toks.push(Tok::Literal);
        } else if (c == '@' || c == 'h' || c == 'H') && matches!(chars.get(i + 1), Some('"' | '\''))
        {
            i = skip_string(&chars, i + 2, chars[i + 1], c != '@');
            toks.push(Tok::Literal);
        } else if c.is_ascii_digit() {
            i = skip_number(&chars, i);
            toks.push(Tok::Literal);
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            i = push_word(word, &chars, i, &mut toks);
        } else {
            i = push_punct(&chars, i, &mut toks);
        }
    }
    toks
}

/// Push an identifier; `datetime(...)`/`timespan(...)` bodies are literals.
fn push_word(word: String, chars: &[char], mut i: usize, toks: &mut Vec<Tok>) -> usize {
    let literal_call = matches!(word.as_str(), "datetime" | "timespan" | "guid");
    toks.push(Tok::Ident(word));
    if literal_call && chars.get(i) == Some(&'(') {
        toks.push(Tok::Punct("(".into()));
        while i < chars.len() && chars[i] != ')' {
            i += 1;
        }
        toks.push(Tok::Literal);
    }
    i
}

fn push_punct(chars: &[char], i: usize, toks: &mut Vec<Tok>) -> usize {
    let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
    let len = match two.as_str() {
        "==" | "=~" | "!=" | "<=" | ">=" | ".." | "!~" => 2,
        _ => 1,
    };
    toks.push(Tok::Punct(chars[i..i + len].iter().collect()));
    i + len
}

fn skip_line(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() && chars[i] != '\n' {
        i += 1;
    }
    i
}

/// Skip a string body starting after the opening quote; returns the index after the closing one.
fn skip_string(chars: &[char], mut i: usize, quote: char, escapes: bool) -> usize {
    while i < chars.len() {
        if escapes && chars[i] == '\\' {
            i += 2;
            continue;
        }
        if chars[i] == quote {
            return i + 1;
        }
        i += 1;
    }
    i
}

/// Numbers, timespans (`30d`, `1h`) and reals (`0.5`).
fn skip_number(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() {
        let c = chars[i];
        let decimal = c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if !(c.is_alphanumeric() || c == '_' || decimal) {
            break;
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_signin_query_with_datetime_and_escaped_literal() {
        let q = "SigninLogs \
                 | where TimeGenerated between \
                 (datetime(2025-02-03T01:45:00Z) .. datetime(2025-02-03T03:15:00Z)) \
                 | where UserPrincipalName =~ \"a\\\"b|where Bogus\" \
                 | project TimeGenerated, IPAddress, Location";
        assert_eq!(check(q), vec![]);
    }

    #[test]
    fn rejects_unknown_table() {
        assert_eq!(
            check("SignInLog | take 10"),
            vec![KqlProblem::UnknownTable("SignInLog".into())]
        );
    }

    #[test]
    fn rejects_unknown_column_and_columns_dropped_by_project() {
        assert_eq!(
            check("SigninLogs | where ClientIP == \"1.2.3.4\""),
            vec![KqlProblem::UnknownColumn("ClientIP".into())]
        );
        let q = "SigninLogs | project IPAddress | where Location == \"BR\"";
        assert_eq!(check(q), vec![KqlProblem::UnknownColumn("Location".into())]);
    }

    #[test]
    fn accepts_created_columns_functions_and_property_paths() {
        let q = "OfficeActivity | where TimeGenerated > ago(30d) | summarize Downloads = count() \
                 by Day = bin(TimeGenerated, 1d), Site_Url | extend Ratio = Downloads / 6.5 \
                 | order by Day asc | project Day, Downloads, Ratio";
        assert_eq!(check(q), vec![]);
        let q2 = "SigninLogs | extend City = tostring(LocationDetails.city) | distinct City";
        assert_eq!(check(q2), vec![]);
    }

    #[test]
    fn checks_union_and_join_tables() {
        let q = "union SigninLogs, AADNonInteractiveUserSignInLogs | where IPAddress == \"x\"";
        assert_eq!(check(q), vec![]);
        let bad = "SigninLogs | join kind=inner (Nope | where X == 1) on UserId";
        assert_eq!(check(bad), vec![KqlProblem::UnknownTable("Nope".into())]);
        let ok = "SigninLogs | join kind=leftouter (IdentityInfo | project AccountObjectId, \
                  Department) on $left.UserId == $right.AccountObjectId | project Department";
        assert_eq!(check(ok), vec![]);
    }
}
