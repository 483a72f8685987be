//! The one parser for the values rampart's annotations use: rates (`5/min`,
//! `100/15min`, `10/s`), sizes (`64KiB`), instants (RFC 3339 or a bare date)
//! and role names. The spec loader, the proc macros and the runtime config all
//! call these, so a value means the same thing wherever it is written.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::suggest::did_you_mean;

/// A value that does not parse: what is wrong, and how to write it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValueError {
    /// What is wrong, quoting the text.
    pub message: String,
    /// An example of a valid value.
    pub help: String,
}

fn value_error(message: String, help: &str) -> ValueError {
    ValueError {
        message,
        help: help.to_owned(),
    }
}

/// A quota: `count` requests per `period`, with an optional burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rate {
    /// Requests allowed per period.
    pub count: u32,
    /// The window length.
    pub period: Duration,
    /// Extra capacity allowed at once (defaults to `count`).
    pub burst: Option<u32>,
}

impl Rate {
    /// `count` per `period`.
    pub const fn new(count: u32, period: Duration) -> Self {
        Rate {
            count,
            period,
            burst: None,
        }
    }

    /// With an explicit burst size.
    pub const fn with_burst(mut self, burst: u32) -> Self {
        self.burst = Some(burst);
        self
    }

    /// The bucket capacity: the burst if given, else the count.
    pub fn capacity(&self) -> u32 {
        self.burst.unwrap_or(self.count).max(1)
    }

    /// Time to earn back one request.
    pub fn emission_interval(&self) -> Duration {
        self.period / self.count.max(1)
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.period.as_secs();
        let (n, unit) = if secs.is_multiple_of(86_400) {
            (secs / 86_400, "d")
        } else if secs.is_multiple_of(3600) {
            (secs / 3600, "h")
        } else if secs.is_multiple_of(60) {
            (secs / 60, "min")
        } else {
            (secs, "s")
        };
        if n == 1 {
            write!(f, "{}/{unit}", self.count)
        } else {
            write!(f, "{}/{n}{unit}", self.count)
        }
    }
}

const RATE_HELP: &str =
    "write a rate as COUNT/PERIOD, e.g. `5/min`, `100/15min`, `10/s`, `1000/h`, `10000/day`";
const UNITS: &[(&str, u64)] = &[
    ("s", 1),
    ("sec", 1),
    ("second", 1),
    ("seconds", 1),
    ("m", 60),
    ("min", 60),
    ("minute", 60),
    ("minutes", 60),
    ("h", 3600),
    ("hr", 3600),
    ("hour", 3600),
    ("hours", 3600),
    ("d", 86_400),
    ("day", 86_400),
    ("days", 86_400),
];

/// Parse a rate such as `5/min`, `100/15min` or `10/s`.
pub fn parse_rate(text: &str) -> Result<Rate, ValueError> {
    let bad = |why: &str| value_error(format!("malformed rate `{text}`: {why}"), RATE_HELP);
    let (count, period) = text
        .trim()
        .split_once('/')
        .ok_or_else(|| bad("expected COUNT/PERIOD"))?;
    let count: u32 = count
        .trim()
        .parse()
        .map_err(|_| bad("the count must be a whole number"))?;
    if count == 0 {
        return Err(bad("the count must be at least 1"));
    }
    let period = period.trim();
    let digits = period.bytes().take_while(u8::is_ascii_digit).count();
    let (multiplier, unit) = period.split_at(digits);
    let multiplier: u64 = if multiplier.is_empty() {
        1
    } else {
        multiplier
            .parse()
            .map_err(|_| bad("the period multiplier is not a number"))?
    };
    if multiplier == 0 {
        return Err(bad("the period must be longer than zero"));
    }
    let unit = unit.trim();
    let seconds = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, s)| *s)
        .ok_or_else(|| {
            bad(&format!(
                "unknown unit `{unit}`{}",
                did_you_mean(unit, UNITS.iter().map(|(n, _)| *n))
            ))
        })?;
    let total = multiplier
        .checked_mul(seconds)
        .filter(|s| *s <= 366 * 86_400)
        .ok_or_else(|| bad("the period may be at most a year"))?;
    Ok(Rate::new(count, Duration::from_secs(total)))
}

const SIZE_HELP: &str =
    "write a size as a number of bytes or with a unit, e.g. `64KiB`, `1MiB`, `512B`";

/// Parse a byte size such as `64KiB`, `1MiB`, `16KB` or `4096`.
pub fn parse_size(text: &str) -> Result<u64, ValueError> {
    let bad = |why: &str| value_error(format!("malformed size `{text}`: {why}"), SIZE_HELP);
    let t = text.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(bad("expected a number first"));
    }
    let (number, unit) = t.split_at(digits);
    let number: u64 = number.parse().map_err(|_| bad("number too large"))?;
    const SIZE_UNITS: &[(&str, u64)] = &[
        ("", 1),
        ("B", 1),
        ("KB", 1000),
        ("KiB", 1024),
        ("MB", 1_000_000),
        ("MiB", 1024 * 1024),
        ("GB", 1_000_000_000),
        ("GiB", 1024 * 1024 * 1024),
    ];
    let unit = unit.trim();
    let factor = SIZE_UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, f)| *f)
        .ok_or_else(|| {
            bad(&format!(
                "unknown unit `{unit}`{}",
                did_you_mean(
                    unit,
                    SIZE_UNITS.iter().map(|(n, _)| *n).filter(|n| !n.is_empty())
                )
            ))
        })?;
    number
        .checked_mul(factor)
        .ok_or_else(|| bad("size too large"))
}

const INSTANT_HELP: &str = "write an instant in RFC 3339, e.g. `2027-06-01T00:00:00Z`, or a date, e.g. `2027-06-01` (midnight UTC)";

/// Parse an instant (RFC 3339 date-time, or `YYYY-MM-DD` meaning midnight UTC) into Unix seconds.
pub fn parse_instant(text: &str) -> Result<i64, ValueError> {
    use time::format_description::well_known::Rfc3339;
    let t = text.trim();
    if let Ok(at) = time::OffsetDateTime::parse(t, &Rfc3339) {
        return Ok(at.unix_timestamp());
    }
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(date) = time::Date::parse(t, &date_format) {
        return Ok(date.midnight().assume_utc().unix_timestamp());
    }
    Err(value_error(
        format!("malformed date `{text}`: not an RFC 3339 date-time or YYYY-MM-DD date"),
        INSTANT_HELP,
    ))
}

/// Check a role name: letters, digits, `_`, `-`, `.` and `:`, starting with a letter.
pub fn parse_role(text: &str) -> Result<&str, ValueError> {
    let valid = text.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
    if valid {
        Ok(text)
    } else {
        Err(value_error(
            format!("malformed role name `{text}`"),
            "role names start with a letter and use letters, digits, `_`, `-`, `.` or `:`",
        ))
    }
}

/// The roles a spec declares, strongest first: a stronger role satisfies a weaker requirement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleHierarchy {
    roles: Vec<String>,
}

impl RoleHierarchy {
    /// Declared roles, strongest first.
    pub fn new<I, S>(roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RoleHierarchy {
            roles: roles.into_iter().map(Into::into).collect(),
        }
    }

    /// The declared roles, strongest first.
    pub fn roles(&self) -> &[String] {
        &self.roles
    }

    /// Whether `role` is declared.
    pub fn contains(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Rank of a role (0 = strongest), if declared.
    pub fn rank(&self, role: &str) -> Option<usize> {
        self.roles.iter().position(|r| r == role)
    }

    /// Whether holding `have` satisfies a requirement for `need`.
    ///
    /// Equal names always satisfy; otherwise both must be declared and `have`
    /// must rank at least as strong as `need`.
    pub fn satisfies(&self, have: &str, need: &str) -> bool {
        have == need || matches!((self.rank(have), self.rank(need)), (Some(h), Some(n)) if h <= n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        assert_eq!(
            parse_rate("5/min").unwrap(),
            Rate::new(5, Duration::from_secs(60))
        );
        assert_eq!(
            parse_rate("100/15min").unwrap(),
            Rate::new(100, Duration::from_secs(900))
        );
        assert_eq!(
            parse_rate("10/s").unwrap(),
            Rate::new(10, Duration::from_secs(1))
        );
        assert_eq!(
            parse_rate("1000/h").unwrap().period,
            Duration::from_secs(3600)
        );
        assert_eq!(parse_rate("100/15min").unwrap().to_string(), "100/15min");
    }

    #[test]
    fn bad_rates_say_why_and_suggest() {
        let err = parse_rate("5/mni").unwrap_err();
        assert_eq!(
            err.message,
            "malformed rate `5/mni`: unknown unit `mni`; did you mean `min`?"
        );
        assert!(parse_rate("five/min").is_err());
        assert!(parse_rate("0/min").is_err());
        assert!(parse_rate("5").is_err());
        assert!(parse_rate("5/0min").is_err());
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("64KiB").unwrap(), 65536);
        assert_eq!(parse_size("1MiB").unwrap(), 1 << 20);
        assert_eq!(parse_size("16KB").unwrap(), 16000);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(
            parse_size("64 kib")
                .unwrap_err()
                .message
                .contains("did you mean `KiB`")
        );
    }

    #[test]
    fn instants_parse() {
        assert_eq!(
            parse_instant("2027-06-01T00:00:00Z").unwrap(),
            1_811_808_000
        );
        assert_eq!(parse_instant("2027-06-01").unwrap(), 1_811_808_000);
        assert!(parse_instant("2027-13-01").is_err());
        assert!(parse_instant("tomorrow").is_err());
    }

    #[test]
    fn stronger_roles_satisfy_weaker() {
        let roles = RoleHierarchy::new(["admin", "editor", "viewer"]);
        assert!(roles.satisfies("admin", "viewer"));
        assert!(roles.satisfies("editor", "editor"));
        assert!(!roles.satisfies("viewer", "editor"));
        assert!(!roles.satisfies("intruder", "viewer"));
    }
}
