//! Checks behind the generated rules for keywords a Rust type cannot carry
//! (`enum` by value, `multipleOf`). Generated code calls them from small
//! functions that hold the spec's values; see `rampart-codegen`'s
//! `types::keywords`.

use validator::ValidationError;

/// `enum`: `value` must equal one of `allowed` (compared by value, so
/// `1` and `1.0` are different only where their types differ).
pub fn allowed<T: PartialEq + ?Sized, A: std::borrow::Borrow<T>>(
    value: &T,
    allowed: &[A],
) -> Result<(), ValidationError> {
    if allowed.iter().any(|a| a.borrow() == value) {
        Ok(())
    } else {
        Err(ValidationError::new("enum"))
    }
}

/// `multipleOf`: `value / divisor` must be an integer (to a relative
/// tolerance of 1e-9, so `0.3` is a multiple of `0.1` despite binary floats).
pub fn multiple_of(value: f64, divisor: f64) -> Result<(), ValidationError> {
    let quotient = value / divisor;
    let ok = quotient.is_finite()
        && (quotient - quotient.round()).abs() <= 1e-9 * quotient.abs().max(1.0);
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new("multiple_of"))
    }
}

/// `required` on a map: every key in `keys` is present.
pub fn required_keys<V>(
    map: &std::collections::BTreeMap<String, V>,
    keys: &[&str],
) -> Result<(), ValidationError> {
    match keys.iter().find(|k| !map.contains_key(**k)) {
        None => Ok(()),
        Some(missing) => {
            let mut error = ValidationError::new("required");
            error.add_param("missing".into(), missing);
            Err(error)
        }
    }
}

/// An item of a `prefixItems` array as the type of its position's schema.
pub fn item_as<'de, T: serde::Deserialize<'de>>(
    item: &'de serde_json::Value,
) -> Result<T, ValidationError> {
    T::deserialize(item).map_err(|e| {
        let mut error = ValidationError::new("prefix_items");
        error.message = Some(e.to_string().into());
        error
    })
}

/// `propertyNames`: every key of `map` passes `check`.
pub fn property_names<V>(
    map: &std::collections::BTreeMap<String, V>,
    check: impl Fn(&str) -> bool,
) -> Result<(), ValidationError> {
    match map.keys().find(|k| !check(k)) {
        None => Ok(()),
        Some(bad) => {
            let mut error = ValidationError::new("property_names");
            error.add_param("name".into(), bad);
            Err(error)
        }
    }
}

/// `pattern` that needs look-around or backreferences, matched by a
/// backtracking engine built with a step limit: a value whose match would
/// take longer is refused (`pattern`, with `limit` said), so matching stays
/// bounded whatever the input.
pub fn backtracking_pattern(
    pattern: &fancy_regex::Regex,
    value: &str,
) -> Result<(), ValidationError> {
    match pattern.is_match(value) {
        Ok(true) => Ok(()),
        Ok(false) => Err(ValidationError::new("regex")),
        Err(_) => {
            let mut error = ValidationError::new("regex");
            error.message = Some(
                "the pattern needs more backtracking steps than allowed for this value".into(),
            );
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_values_are_compared_by_value() {
        assert!(allowed(&2i64, &[1, 2, 3]).is_ok());
        assert_eq!(allowed(&4i64, &[1, 2, 3]).unwrap_err().code, "enum");
        assert!(allowed(&true, &[true]).is_ok());
        assert!(allowed(&false, &[true]).is_err());
        let json = [serde_json::json!(1), serde_json::json!("a")];
        assert!(allowed(&serde_json::json!("a"), &json).is_ok());
        assert!(allowed(&serde_json::json!("1"), &json).is_err());
    }

    #[test]
    fn required_keys_of_a_map_must_be_present() {
        let mut map = std::collections::BTreeMap::new();
        map.insert("a".to_owned(), 1);
        assert!(required_keys(&map, &["a"]).is_ok());
        let err = required_keys(&map, &["a", "b"]).unwrap_err();
        assert_eq!(err.code, "required");
        assert_eq!(err.params["missing"], "b");
    }

    #[test]
    fn backtracking_patterns_match_and_stay_bounded() {
        let backref = fancy_regex::Regex::new(r"^(a+)-\1$").unwrap();
        assert!(backtracking_pattern(&backref, "aa-aa").is_ok());
        assert_eq!(
            backtracking_pattern(&backref, "aa-a").unwrap_err().code,
            "regex"
        );
        // Catastrophic backtracking is cut off by the step limit: refused, not hung.
        let evil = fancy_regex::RegexBuilder::new(r"^((a)(?=a)|a)+$")
            .backtrack_limit(10_000)
            .build()
            .unwrap();
        let err = backtracking_pattern(&evil, &format!("{}!", "a".repeat(40))).unwrap_err();
        assert!(err.message.is_some(), "{err:?}");
    }

    #[test]
    fn multiples_tolerate_binary_fractions_only() {
        assert!(multiple_of(0.3, 0.1).is_ok());
        assert!(multiple_of(10.0, 2.0).is_ok());
        assert!(multiple_of(-6.0, 3.0).is_ok());
        assert_eq!(multiple_of(7.0, 2.0).unwrap_err().code, "multiple_of");
        assert!(multiple_of(0.35, 0.1).is_err());
        assert!(multiple_of(f64::INFINITY, 1.0).is_err());
    }
}
