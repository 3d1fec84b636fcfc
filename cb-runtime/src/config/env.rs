//! `CB_BREAKER__<NAME>__<KEY>` variables: checking every one of them (any variable of the
//! process may be non-UTF-8: none of this panics), and names two breakers map to.

use super::file::FileError;
use super::resolve::env_var;
use super::value::{Value, clip, keys, parse_setting};
use std::ffi::OsStr;

/// The prefix of every breaker variable.
pub(crate) const PREFIX: &str = "CB_BREAKER__";

/// Every `CB_BREAKER__<NAME>__<KEY>` variable with an empty name, an unknown key, a bad or
/// non-UTF-8 value. Variables of other programs are not looked at, whatever their encoding.
pub fn env_problems() -> Vec<FileError> {
    std::env::vars_os()
        .filter_map(|(var, value)| problem(&var, &value))
        .collect()
}

/// What is wrong with one variable, if it is a breaker variable and something is.
fn problem(var: &OsStr, value: &OsStr) -> Option<FileError> {
    let Some(var) = var.to_str() else {
        let lossy = var.to_string_lossy();
        return lossy
            .starts_with(PREFIX)
            .then(|| env_error(&lossy, None, "the variable's name is not UTF-8".to_owned()));
    };
    let Some(rest) = var.strip_prefix(PREFIX) else {
        return misspelt_prefix(var);
    };
    let Some((name, key)) = rest.rsplit_once("__") else {
        return Some(env_error(var, None, "expected CB_BREAKER__<NAME>__<KEY>".to_owned()));
    };
    if name.is_empty() {
        return Some(env_error(
            var,
            None,
            "the breaker name is empty: expected CB_BREAKER__<NAME>__<KEY>".to_owned(),
        ));
    }
    let written = key;
    let key = key.to_ascii_lowercase();
    if !keys().contains(&key.as_str()) {
        let upper: Vec<String> = keys().iter().map(|k| k.to_ascii_uppercase()).collect();
        let hint = super::value::did_you_mean(&key, keys()).map_or_else(
            || format!("expected one of {}", upper.join(", ")),
            |k| format!("did you mean `{}`?", k.to_ascii_uppercase()),
        );
        return Some(env_error(
            var,
            Some(&key),
            format!("unknown key `{}`; {hint}", clip(written)),
        ));
    }
    let Some(text) = value.to_str() else {
        return Some(env_error(var, Some(&key), "the value is not UTF-8".to_owned()));
    };
    value_problem(var, &key, text)
}

/// A variable that starts like a breaker variable but not with `CB_BREAKER__` exactly
/// (`CB_BREAKER_X__KEY`, `CB_BREAKERS__X__KEY`, lower case): never read, so named.
fn misspelt_prefix(var: &str) -> Option<FileError> {
    let upper = var.to_ascii_uppercase();
    let rest = upper.strip_prefix("CB_BREAKER")?;
    let meant = format!("{PREFIX}{}", rest.trim_start_matches('S').trim_start_matches('_'));
    // Only what would be a breaker variable with the prefix mended: `CB_BREAKER_PORT` or
    // `CB_BREAKERS_ENABLED` belong to someone else.
    let (_, key) = meant[PREFIX.len()..].rsplit_once("__")?;
    if !keys().contains(&key.to_ascii_lowercase().as_str()) {
        return None;
    }
    Some(env_error(
        var,
        None,
        format!(
            "not read: breaker variables are CB_BREAKER__<NAME>__<KEY>, in capitals, with two underscores after CB_BREAKER; did you mean `{}`?",
            clip(&meant)
        ),
    ))
}

/// What is wrong with the value of a known key, if anything.
pub(crate) fn value_problem(var: &str, key: &str, text: &str) -> Option<FileError> {
    match parse_setting(key, &Value::from_env(text)) {
        Ok(Some(_)) => None,
        Ok(None) => Some(env_error(
            var,
            Some(key),
            format!(
                "unknown preset `{}`; expected one of default, aggressive, lenient",
                clip(text.trim())
            ),
        )),
        Err(p) => Some(env_error(var, Some(key), p.message)),
    }
}

/// A problem with variable `var`.
pub(crate) fn env_error(var: &str, key: Option<&str>, message: String) -> FileError {
    FileError {
        breaker: None,
        at: None,
        variable: Some(clip(var).into_owned()),
        key: key.map(str::to_owned),
        message,
    }
}

/// The breaker variable prefix of `name`: `CB_BREAKER__<NAME>__`.
fn prefix_of(name: &str) -> String {
    env_var(name, "")
}

/// Whether any breaker variable of `name` is set.
pub(crate) fn has_variables(name: &str) -> bool {
    let prefix = prefix_of(name);
    keys()
        .iter()
        .any(|key| std::env::var_os(format!("{prefix}{}", key.to_ascii_uppercase())).is_some())
}

/// The error for the variables of `name`, if another breaker's name maps to the same
/// variables (`partner/acme` and `partner-acme` both read `CB_BREAKER__PARTNER_ACME__…`).
pub(crate) fn collision<'a>(name: &str, others: impl IntoIterator<Item = &'a str>) -> Option<FileError> {
    let prefix = prefix_of(name);
    let other = others
        .into_iter()
        .find(|other| *other != name && prefix_of(other) == prefix)?;
    Some(env_error(
        &format!("{prefix}*"),
        None,
        format!(
            "breakers `{}` and `{}` map to the same variables; they apply to both (rename one to tell them apart)",
            clip(name),
            clip(other)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn problems_of_one_variable() {
        let p = |var: &str, value: &[u8]| problem(OsStr::new(var), OsStr::from_bytes(value)).map(|e| e.to_string());
        assert_eq!(p("PATH", b"/bin"), None);
        assert_eq!(
            p("OTHER", b"\xff\xfe"),
            None,
            "variables of other programs are not read"
        );
        assert_eq!(
            p("CB_BREAKER__X__OPEN_TIMEOUT", b"\xff"),
            Some("CB_BREAKER__X__OPEN_TIMEOUT: the value is not UTF-8".to_owned())
        );
        assert_eq!(
            p("CB_BREAKER____OPEN_TIMEOUT", b"1s"),
            Some(
                "CB_BREAKER____OPEN_TIMEOUT: the breaker name is empty: expected CB_BREAKER__<NAME>__<KEY>".to_owned()
            )
        );
        assert_eq!(
            p("CB_BREAKER__X__OPEN_TIMOUT", b"1s"),
            Some("CB_BREAKER__X__OPEN_TIMOUT: unknown key `OPEN_TIMOUT`; did you mean `OPEN_TIMEOUT`?".to_owned())
        );
        assert_eq!(p("CB_BREAKER__X__CONSECUTIVE_FAILURES", b"off"), None);
        assert_eq!(
            p("CB_BREAKER_X__OPEN_TIMEOUT", b"1s"),
            Some("CB_BREAKER_X__OPEN_TIMEOUT: not read: breaker variables are CB_BREAKER__<NAME>__<KEY>, in capitals, with two underscores after CB_BREAKER; did you mean `CB_BREAKER__X__OPEN_TIMEOUT`?".to_owned())
        );
        for near in ["CB_BREAKERS__X__OPEN_TIMEOUT", "cb_breaker__x__open_timeout"] {
            let problem = p(near, b"1s").unwrap_or_default();
            assert!(
                problem.contains("did you mean `CB_BREAKER__X__OPEN_TIMEOUT`?"),
                "{problem}"
            );
        }
        assert_eq!(p("CB_CONFIG", b"x.toml"), None);
        assert_eq!(p("CB_BREAKER_DASHBOARD_PORT", b"9000"), None, "not a breaker variable");
        assert_eq!(p("CB_BREAKERS_ENABLED", b"1"), None);
        let long = format!("CB_BREAKER__X__{}", "Y".repeat(1 << 20));
        assert!(p(&long, b"1").unwrap().len() < 1000, "bounded");
        let non_utf8_name = OsStr::from_bytes(b"CB_BREAKER__\xff__OPEN_TIMEOUT");
        assert!(
            problem(non_utf8_name, OsStr::new("1s"))
                .unwrap()
                .to_string()
                .contains("not UTF-8")
        );
    }

    #[test]
    fn colliding_names_are_named() {
        let err = collision("partner/acme", ["partner-acme", "other"]).unwrap();
        assert_eq!(
            err.to_string(),
            "CB_BREAKER__PARTNER_ACME__*: breakers `partner/acme` and `partner-acme` map to the same variables; they apply to both (rename one to tell them apart)"
        );
        assert!(collision("partner/acme", ["partner/acme", "partner"]).is_none());
    }
}
