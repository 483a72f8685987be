//! The brute-force lockout, which is configuration (`rampart.toml`'s
//! `[lockout]`), not spec: compared when `--old-config` and `--new-config`
//! are given.
//!
//! The effective lockout of a file is what the runtime would build from
//! it alone: `enabled` (default `true`; `false` turns it off) and `after`
//! (failures per window in the rate grammar, default [`DEFAULT_AFTER`];
//! a client is locked for the window). A missing `[lockout]` table, or a
//! missing key, means the default. The `RAMPART_LOCKOUT` environment
//! variable, which overrides the file at run time, is not seen here.

use rampart_api::grammar::{Rate, parse_rate};

use super::finding::{Finding, Kind, Place, Subject};

/// The runtime's default `after` (`rampart::auth::lockout`'s
/// `DEFAULT_THRESHOLD` failures in `DEFAULT_WINDOW`).
pub(crate) const DEFAULT_AFTER: &str = "5/15min";

/// One file's effective lockout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lockout {
    /// `None`: turned off.
    pub(crate) after: Option<Rate>,
}

impl Lockout {
    fn text(&self) -> String {
        self.after
            .map_or_else(|| "off".to_owned(), |r| r.to_string())
    }
}

/// The effective lockout of a configuration text; `name` names it in errors.
pub(crate) fn read(name: &str, text: &str) -> Result<Lockout, String> {
    let table: toml::Table = toml::from_str(text)
        .map_err(|e| format!("{name}: not a valid TOML configuration: {}", e.message()))?;
    let default =
        || parse_rate(DEFAULT_AFTER).map_err(|e| format!("the default lockout: {}", e.message));
    let Some(lockout) = table.get("lockout") else {
        return Ok(Lockout {
            after: Some(default()?),
        });
    };
    let Some(lockout) = lockout.as_table() else {
        return Err(format!("{name}: `lockout` must be a table (`[lockout]`)"));
    };
    let enabled = match lockout.get("enabled") {
        None => true,
        Some(toml::Value::Boolean(b)) => *b,
        Some(_) => return Err(format!("{name}: [lockout] `enabled` must be true or false")),
    };
    if !enabled {
        return Ok(Lockout { after: None });
    }
    let after = match lockout.get("after") {
        None => default()?,
        Some(toml::Value::String(s)) => {
            parse_rate(s).map_err(|e| format!("{name}: [lockout] `after`: {}", e.message))?
        }
        Some(_) => {
            return Err(format!(
                "{name}: [lockout] `after` must be a rate string such as \"5/15min\""
            ));
        }
    };
    Ok(Lockout { after: Some(after) })
}

/// 1-based line and column of `key` in the `[lockout]` table (of the
/// table's header when `key` is not there), else `(1, 1)`.
fn position(text: &str, key: &str) -> (usize, usize) {
    let mut header = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if header.is_none() {
            if trimmed.starts_with("[lockout]") {
                header = Some((i + 1, line.len() - trimmed.len() + 1));
            }
            continue;
        }
        if trimmed.starts_with('[') {
            break;
        }
        if let Some(rest) = trimmed.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return (i + 1, line.len() - trimmed.len() + 1);
        }
    }
    header.unwrap_or((1, 1))
}

/// The lockout finding between two configurations, if any; `name`s as
/// given on the command line.
pub(crate) fn compare(
    old: (&str, &str),
    new: (&str, &str),
    artifact: &str,
) -> Result<Option<Finding>, String> {
    let (before, after) = (read(old.0, old.1)?, read(new.0, new.1)?);
    let place = |key: &str| {
        let (line, column) = position(new.1, key);
        Place {
            file: new.0.to_owned(),
            artifact: artifact.to_owned(),
            line,
            column,
        }
    };
    let (kind, message, key) = match (before.after, after.after) {
        (Some(_), None) => (
            Kind::LockoutLoosened,
            "lockout turned off".to_owned(),
            "enabled",
        ),
        (None, Some(b)) => (
            Kind::LockoutTightened,
            format!("lockout turned on ({b})"),
            "after",
        ),
        (Some(a), Some(b)) => {
            let mut looser = Vec::new();
            let mut stricter = Vec::new();
            match b.count.cmp(&a.count) {
                std::cmp::Ordering::Greater => looser.push("more failures per window"),
                std::cmp::Ordering::Less => stricter.push("fewer failures per window"),
                std::cmp::Ordering::Equal => {}
            }
            match b.period.cmp(&a.period) {
                std::cmp::Ordering::Less => looser.push("a shorter window and lock"),
                std::cmp::Ordering::Greater => stricter.push("a longer window and lock"),
                std::cmp::Ordering::Equal => {}
            }
            if !looser.is_empty() {
                (
                    Kind::LockoutLoosened,
                    format!("lockout loosened from {a} to {b}: {}", looser.join(", ")),
                    "after",
                )
            } else if !stricter.is_empty() {
                (
                    Kind::LockoutTightened,
                    format!("lockout tightened from {a} to {b}: {}", stricter.join(", ")),
                    "after",
                )
            } else {
                return Ok(None);
            }
        }
        (None, None) => return Ok(None),
    };
    Ok(Some(Finding {
        kind,
        subject: Subject::Lockout,
        old: before.text(),
        new: after.text(),
        message,
        at: place(key),
        accepted: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_without_the_table() {
        let none = read("a.toml", "realm = \"x\"\n").unwrap();
        assert_eq!(none.text(), "5/15min");
        let off = read("a.toml", "[lockout]\nenabled = false\n").unwrap();
        assert_eq!(off.after, None);
        assert!(read("a.toml", "[lockout]\nafter = \"5/mni\"\n").is_err());
        assert!(read("a.toml", "[lockout\n").is_err());
    }

    #[test]
    fn keys_are_found_in_the_table() {
        let text =
            "after = 1\n[jwt]\nafter = 2\n[lockout]\n  enabled = true\n  after = \"5/min\"\n[x]\n";
        assert_eq!(position(text, "after"), (6, 3));
        assert_eq!(position(text, "capacity"), (4, 1));
        assert_eq!(position("x = 1\n", "after"), (1, 1));
    }

    #[test]
    fn removing_a_stricter_table_loosens() {
        let found = compare(
            ("old.toml", "[lockout]\nafter = \"3/15min\"\n"),
            ("new.toml", "realm = \"api\"\n"),
            "new.toml",
        )
        .unwrap()
        .unwrap();
        assert_eq!(found.kind, Kind::LockoutLoosened);
        assert_eq!((found.at.line, found.at.column), (1, 1));
    }
}
