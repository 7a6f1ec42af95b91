//! The librdkafka version gate: some releases connect to Event Hubs and are then dropped by the
//! service (2.6.0 is the known case). `run` logs the linked version and refuses a denied one.
//!
//! The deny list format is one `version ; symptom` line per entry, `#` comments, and an optional
//! `[allow]` section of versions verified against a real namespace.

/// Versions known to break against the Event Hubs Kafka endpoint.
pub const DENIED: &[(&str, &str)] = &[(
    "2.6.0",
    "consumers are disconnected a few seconds after authenticating (fixed in 2.6.1)",
)];

/// A parsed deny list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VersionList {
    pub denied: Vec<(String, String)>,
    pub allowed: Vec<String>,
}

impl VersionList {
    /// Parse the `version ; symptom` format.
    pub fn parse(text: &str) -> VersionList {
        let mut list = VersionList::default();
        let mut in_allow = false;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line == "[allow]" {
                in_allow = true;
                continue;
            }
            let (version, symptom) = line.split_once(';').unwrap_or((line, ""));
            if in_allow {
                list.allowed.push(version.trim().to_owned());
            } else {
                list.denied
                    .push((version.trim().to_owned(), symptom.trim().to_owned()));
            }
        }
        list
    }

    /// The built-in list.
    pub fn builtin() -> VersionList {
        VersionList {
            denied: DENIED
                .iter()
                .map(|(v, s)| ((*v).to_owned(), (*s).to_owned()))
                .collect(),
            allowed: Vec::new(),
        }
    }

    /// Why `version` is refused, if it is.
    pub fn denial(&self, version: &str) -> Option<&str> {
        self.denied
            .iter()
            .find(|(v, _)| v == version)
            .map(|(_, s)| s.as_str())
    }
}

/// The linked librdkafka version string.
pub fn linked() -> String {
    rdkafka::util::get_rdkafka_version().1
}

/// Log the linked version and fail when it is denied.
pub fn check_linked() -> anyhow::Result<String> {
    let version = linked();
    tracing::info!(librdkafka = %version, "librdkafka linked");
    if let Some(why) = VersionList::builtin().denial(&version) {
        anyhow::bail!("librdkafka {version} is refused: {why}");
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_denied_and_allowed() {
        let l = VersionList::parse("# c\n2.6.0 ; dropped\n[allow]\n2.12.1\n");
        assert_eq!(l.denied, vec![("2.6.0".to_owned(), "dropped".to_owned())]);
        assert_eq!(l.allowed, vec!["2.12.1".to_owned()]);
        assert_eq!(l.denial("2.6.0"), Some("dropped"));
        assert_eq!(l.denial("2.6.1"), None);
    }
}
