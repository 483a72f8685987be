//! Access control: roles with a hierarchy and OAuth2 scopes.
//!
//! Roles are declared in the spec strongest first (`[admin, editor, viewer]`):
//! a stronger role satisfies a weaker requirement (admin ⊇ editor ⊇ viewer).
//! An operation's `roles` are alternatives (any one suffices); a scheme
//! requirement's scopes must all be granted.

use rampart_api::grammar::RoleHierarchy;

/// The roles an operation requires, precomputed at router build time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleRequirement {
    /// Required roles not in the hierarchy: only an exact match satisfies them.
    exact: Box<[String]>,
    /// Rank of the weakest declared role required: any held role ranking at
    /// least as strong satisfies the requirement.
    weakest_rank: Option<usize>,
}

impl RoleRequirement {
    /// The requirement for `roles` (alternatives) under `hierarchy`.
    pub fn new(hierarchy: &RoleHierarchy, roles: &[String]) -> Self {
        let mut exact = Vec::new();
        let mut weakest_rank = None;
        for role in roles {
            match hierarchy.rank(role) {
                Some(rank) => {
                    weakest_rank = Some(weakest_rank.map_or(rank, |w: usize| w.max(rank)))
                }
                None => exact.push(role.clone()),
            }
        }
        RoleRequirement {
            exact: exact.into(),
            weakest_rank,
        }
    }

    /// Whether any role is required.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.weakest_rank.is_none()
    }

    /// Whether holding `held` satisfies the requirement.
    pub fn allows<S: AsRef<str>>(&self, hierarchy: &RoleHierarchy, held: &[S]) -> bool {
        if self.is_empty() {
            return true;
        }
        held.iter().any(|have| {
            let have = have.as_ref();
            self.exact.iter().any(|need| need == have)
                || matches!((self.weakest_rank, hierarchy.rank(have)), (Some(need), Some(rank)) if rank <= need)
        })
    }
}

/// The first of `required` that `granted` lacks, if any.
pub fn missing_scope<'a, S: AsRef<str>>(required: &'a [String], granted: &[S]) -> Option<&'a str> {
    required
        .iter()
        .find(|need| !granted.iter().any(|g| g.as_ref() == need.as_str()))
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles() -> RoleHierarchy {
        RoleHierarchy::new(["admin", "editor", "viewer"])
    }

    #[test]
    fn stronger_roles_satisfy_weaker_requirements() {
        let h = roles();
        let need_editor = RoleRequirement::new(&h, &["editor".to_owned()]);
        assert!(need_editor.allows(&h, &["admin"]));
        assert!(need_editor.allows(&h, &["editor"]));
        assert!(!need_editor.allows(&h, &["viewer"]));
        assert!(!need_editor.allows(&h, &["intruder"]));
        assert!(!need_editor.allows::<&str>(&h, &[]));
    }

    #[test]
    fn alternatives_take_the_weakest() {
        let h = roles();
        let any = RoleRequirement::new(&h, &["admin".to_owned(), "viewer".to_owned()]);
        assert!(any.allows(&h, &["viewer"]));
        let undeclared = RoleRequirement::new(&h, &["auditor".to_owned()]);
        assert!(undeclared.allows(&h, &["auditor"]));
        assert!(!undeclared.allows(&h, &["admin"]));
        assert!(RoleRequirement::new(&h, &[]).allows::<&str>(&h, &[]));
    }

    #[test]
    fn scopes_must_all_be_granted() {
        let required = vec!["pets:read".to_owned(), "pets:write".to_owned()];
        assert_eq!(missing_scope(&required, &["pets:read"]), Some("pets:write"));
        assert_eq!(missing_scope(&required, &["pets:write", "pets:read"]), None);
    }
}
