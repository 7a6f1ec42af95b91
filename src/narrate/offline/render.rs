//! Template rendering for the text fields (summary, narrative, baseline and peer comparison).
//!
//! Templates live in `prompts/offline/*.j2`, embedded at compile time and compiled once per
//! narrator. Undefined variables are errors (strict mode) so a template typo cannot print an
//! empty placeholder. Output is normalised: each line trimmed, runs of spaces collapsed, empty
//! lines dropped, so rendering is byte-stable.

use minijinja::{Environment, UndefinedBehavior, Value};

pub(super) const SUMMARY: &str = "summary";
pub(super) const NARRATIVE_TIER1: &str = "narrative_tier1";
pub(super) const NARRATIVE_HUNTER: &str = "narrative_hunter";
pub(super) const BASELINE: &str = "baseline";
pub(super) const PEERS: &str = "peers";

const TEMPLATES: [(&str, &str); 5] = [
    (SUMMARY, include_str!("../../../prompts/offline/summary.j2")),
    (
        NARRATIVE_TIER1,
        include_str!("../../../prompts/offline/narrative_tier1.j2"),
    ),
    (
        NARRATIVE_HUNTER,
        include_str!("../../../prompts/offline/narrative_hunter.j2"),
    ),
    (
        BASELINE,
        include_str!("../../../prompts/offline/baseline.j2"),
    ),
    (PEERS, include_str!("../../../prompts/offline/peers.j2")),
];

/// Builds the template environment; fails only if an embedded template does not compile.
pub(super) fn environment() -> anyhow::Result<Environment<'static>> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|e| anyhow::anyhow!("offline template {name} does not compile: {e:#}"))?;
    }
    Ok(env)
}

/// Renders a template; on failure (a template/data mismatch) logs and returns `None`.
pub(super) fn render(env: &Environment<'_>, name: &str, ctx: Value) -> Option<String> {
    let rendered = env.get_template(name).and_then(|t| t.render(ctx));
    match rendered {
        Ok(text) => Some(text),
        Err(e) => {
            tracing::error!(template = name, error = %e, "offline template failed to render");
            None
        }
    }
}

/// Trims lines, collapses spaces and drops empty lines; lines are joined with `sep`.
pub(super) fn normalise(text: &str, sep: &str) -> String {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(sep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_templates_compile() {
        let env = environment().expect("templates compile");
        assert_eq!(env.templates().count(), 5);
    }

    #[test]
    fn normalise_collapses_whitespace_and_blank_lines() {
        assert_eq!(normalise("  a   b \n\n   c\n", " "), "a b c");
        assert_eq!(normalise("x\n \ny", "\n"), "x\ny");
    }
}
