//! Pilot scope: during a rollout only listed users, departments or groups are narrated.

use crate::config::engine::ScopeConfig;
use crate::entity::keys::{EntityKey, EntityKind, normalize_upn};

/// A compiled scope; empty means everyone is in scope.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    users: Vec<String>,
    departments: Vec<String>,
    groups: Vec<String>,
}

impl Scope {
    pub fn new(cfg: &ScopeConfig) -> Self {
        Scope {
            users: cfg.users.iter().filter_map(|u| normalize_upn(u)).collect(),
            departments: cfg
                .departments
                .iter()
                .map(|d| d.trim().to_lowercase())
                .collect(),
            groups: cfg.groups.iter().map(|g| g.trim().to_lowercase()).collect(),
        }
    }

    pub fn is_everyone(&self) -> bool {
        self.users.is_empty() && self.departments.is_empty() && self.groups.is_empty()
    }

    /// Whether a case about this entity is narrated, given its directory department and
    /// groups. Non-user entities are in scope only when no scope is set.
    pub fn admits(&self, key: &EntityKey, department: Option<&str>, groups: &[String]) -> bool {
        if self.is_everyone() {
            return true;
        }
        if key.kind != EntityKind::User {
            return false;
        }
        self.users.contains(&key.id)
            || department.is_some_and(|d| self.departments.contains(&d.trim().to_lowercase()))
            || groups
                .iter()
                .any(|g| self.groups.contains(&g.trim().to_lowercase()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admits(scope: &Scope, key: &str, dept: &str, groups: &[&str]) -> bool {
        let key = EntityKey {
            kind: EntityKind::User,
            id: key.into(),
        };
        let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        scope.admits(&key, Some(dept), &groups)
    }

    #[test]
    fn scope_by_user_department_or_group() {
        let scope = Scope::new(&ScopeConfig {
            users: vec!["Alex.Wilber@Contoso.com".into()],
            departments: vec!["finance".into()],
            groups: vec!["UEBA Pilot".into()],
        });
        assert!(admits(&scope, "alex.wilber@contoso.com", "Sales", &[]));
        assert!(admits(&scope, "b@contoso.com", "Finance", &[]));
        assert!(admits(&scope, "c@contoso.com", "IT", &["ueba pilot"]));
        assert!(!admits(&scope, "d@contoso.com", "IT", &["All Staff"]));
        assert!(admits(
            &Scope::new(&ScopeConfig::default()),
            "d@contoso.com",
            "IT",
            &[]
        ));
    }
}
