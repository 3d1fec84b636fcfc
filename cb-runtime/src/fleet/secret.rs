//! Keeping the backend's password or token out of every message, error and `Debug` output.

/// The password (or token) of a fleet URL and the URL with it masked.
pub(crate) struct Secrets {
    password: Option<String>,
    /// The URL with its password replaced by `***`.
    pub(crate) url: String,
}

impl Secrets {
    /// The secrets of `url`, already `redacted`.
    pub(crate) fn of(url: &str, redacted: String) -> Secrets {
        Secrets {
            password: password(url).filter(|p| !p.is_empty()).map(str::to_owned),
            url: redacted,
        }
    }

    /// `text` with the password masked wherever it appears (also percent-decoded).
    pub(crate) fn scrub(&self, text: &str) -> String {
        match &self.password {
            Some(p) => mask(text, p),
            None => text.to_owned(),
        }
    }
}

/// The userinfo's password of `url`, as written (a userinfo without `:` counts as one: some
/// clients read it so).
fn password(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let userinfo = &rest[..userinfo_end(rest)?];
    Some(userinfo.split_once(':').map_or(userinfo, |(_, p)| p))
}

/// Where the userinfo of `rest` (a URL after `scheme://`) ends: its authority's last `@`, or,
/// when the authority has none, the last `@` of the whole text, so that a password written
/// with an unescaped `/`, `?` or `#` (which ends the authority, making the URL invalid) is
/// still masked in the error that says so.
fn userinfo_end(rest: &str) -> Option<usize> {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority.rfind('@').or_else(|| rest.rfind('@'))
}

fn mask(text: &str, password: &str) -> String {
    let mut out = text.replace(password, "***");
    let decoded = percent_decode(password);
    if !decoded.is_empty() && decoded != password {
        out = out.replace(&decoded, "***");
    }
    out
}

/// `s` with its `%XX` escapes decoded (invalid UTF-8 replaced).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, ..) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `url` with its password (if any) replaced by `***`.
pub(crate) fn redact_url(url: &str) -> String {
    match password(url) {
        Some(p) if !p.is_empty() => {
            let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
            let at = userinfo_end(rest).unwrap_or(0);
            let (userinfo, host) = rest.split_at(at);
            let sep = if scheme.is_empty() { "" } else { "://" };
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{scheme}{sep}{user}:***{host}"),
                None => format!("{scheme}{sep}***{host}"),
            }
        }
        _ => url.to_owned(),
    }
}

/// `text` with the password of `url` masked.
pub(crate) fn scrub(text: &str, url: &str) -> String {
    Secrets::of(url, String::new()).scrub(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_in_urls_and_text() {
        assert_eq!(redact_url("redis://:hunter2@host:6379/0"), "redis://:***@host:6379/0");
        assert_eq!(redact_url("rediss://user:p%40ss@host"), "rediss://user:***@host");
        assert_eq!(redact_url("redis://host:6379"), "redis://host:6379");
        assert_eq!(
            redact_url("redis://lone@host"),
            "redis://***@host",
            "a lone userinfo may be a password"
        );
        let s = Secrets::of("redis://u:p%40ss@h", String::new());
        assert_eq!(s.scrub("bad p%40ss and p@ss"), "bad *** and ***");
        assert_eq!(scrub("nothing to hide", "redis://h"), "nothing to hide");
    }

    #[test]
    fn hostile_urls_do_not_panic() {
        for url in [
            "",
            "@",
            "://@",
            "redis://:@",
            "redis://a:b@c@d/e",
            "%",
            "redis://:%zz@h",
            "redis://:%e2%82@h",
        ] {
            let r = redact_url(url);
            let _ = scrub(&r, url);
        }
        assert_eq!(redact_url("redis://a:b@c@d/e"), "redis://a:***@d/e");
    }

    #[test]
    fn passwords_with_unescaped_delimiters_are_masked() {
        for (url, shown) in [
            ("nats://u:pa/ss@127.0.0.1:4222", "nats://u:***@127.0.0.1:4222"),
            ("nats://tok/en+x@127.0.0.1", "nats://***@127.0.0.1"),
            ("redis://:p?w#d@h:6379/0", "redis://:***@h:6379/0"),
        ] {
            assert_eq!(redact_url(url), shown);
            let secret = &url[url.find("//").unwrap() + 2..url.rfind('@').unwrap()];
            let secret = secret.split_once(':').map_or(secret, |(_, p)| p);
            assert!(!scrub(&format!("bad {url}"), url).contains(secret), "{url}");
        }
    }
}
