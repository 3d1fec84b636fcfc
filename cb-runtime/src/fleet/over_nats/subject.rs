//! Breaker and fleet names as NATS subject tokens: any name, dots, spaces, `*` and `>`
//! included, maps to one token of `[A-Za-z0-9_-]` and back, so a name can neither add a level
//! to a subject nor act as a wildcard.

/// `name` as a subject token: ASCII letters, digits and `-` as they are, every other byte of
/// its UTF-8 as `_` and two upper-case hex digits; the empty name is `_`. Injective: distinct
/// names give distinct tokens.
pub(crate) fn token(name: &str) -> String {
    if name.is_empty() {
        return "_".into();
    }
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' {
            out.push(b as char);
        } else {
            out.push_str(&format!("_{b:02X}"));
        }
    }
    out
}

/// The name a token stands for; `None` if no name maps to it.
pub(crate) fn name(token: &str) -> Option<String> {
    match token {
        "" => return None,
        "_" => return Some(String::new()),
        _ => {}
    }
    let bytes = token.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'_' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                if hex.bytes().any(|c| c.is_ascii_lowercase()) {
                    return None;
                }
                let b = u8::from_str_radix(hex, 16).ok()?;
                if b.is_ascii_alphanumeric() || b == b'-' {
                    return None;
                }
                out.push(b);
                i += 3;
            }
            b if b.is_ascii_alphanumeric() || b == b'-' => {
                out.push(b);
                i += 1;
            }
            _ => return None,
        }
    }
    String::from_utf8(out).ok()
}

/// The subjects, stream and bucket of one fleet.
/// The longest subject the fleet publishes on: a command line carries the subject, a reply
/// inbox and sizes, and must stay under the server's default `max_control_line` of 4096 bytes.
pub(crate) const MAX_SUBJECT: usize = 3072;

#[derive(Clone, Debug)]
pub(crate) struct Layout {
    fleet: String,
    /// The stream of the fleet's events: `cb_{fleet}`.
    pub(crate) stream: String,
    /// The key-value bucket of the probe leases: `cb_{fleet}_probe`.
    pub(crate) bucket: String,
}

impl Layout {
    pub(crate) fn new(fleet: &str) -> Layout {
        let fleet = token(fleet);
        Layout {
            stream: format!("cb_{fleet}"),
            bucket: format!("cb_{fleet}_probe"),
            fleet,
        }
    }

    /// Every subject of the fleet (the stream's one subject filter): `{fleet}.>`.
    pub(crate) fn all(&self) -> String {
        format!("{}.>", self.fleet)
    }

    /// Trips, closes and probe leases of breaker `name`: `{fleet}.circuit.{name}`.
    pub(crate) fn circuit(&self, name: &str) -> String {
        format!("{}.circuit.{}", self.fleet, token(name))
    }

    /// Outcome batches of breaker `name`: `{fleet}.outcomes.{name}`.
    pub(crate) fn outcomes(&self, name: &str) -> String {
        format!("{}.outcomes.{}", self.fleet, token(name))
    }

    /// Instances joining (the server's time at a join anchors a replay): `{fleet}.hello`.
    pub(crate) fn hello(&self) -> String {
        format!("{}.hello", self.fleet)
    }

    /// The length of the longest subject breaker `name` needs (its outcomes subject or its
    /// lease key `$KV.{bucket}.{token}`), when that is more than [`MAX_SUBJECT`]: a NATS
    /// server closes the connection of a client whose command line passes its control-line
    /// limit (4 KiB by default), so such a breaker cannot be shared.
    pub(crate) fn too_long(&self, name: &str) -> Option<usize> {
        let token = token(name).len();
        let longest = token + (self.fleet.len() + ".outcomes.".len()).max(self.bucket.len() + "$KV..".len());
        (longest > MAX_SUBJECT).then_some(longest)
    }

    /// What a subject of this fleet's stream is about.
    pub(crate) fn parse(&self, subject: &str) -> Subject {
        let Some(rest) = subject
            .strip_prefix(self.fleet.as_str())
            .and_then(|r| r.strip_prefix('.'))
        else {
            return Subject::Unknown;
        };
        if rest == "hello" {
            return Subject::Hello;
        }
        let (kind, token) = rest.split_once('.').unwrap_or((rest, ""));
        match (kind, name(token)) {
            ("circuit", Some(name)) if !token.contains('.') => Subject::Circuit(name),
            ("outcomes", Some(name)) if !token.contains('.') => Subject::Outcomes(name),
            _ => Subject::Unknown,
        }
    }
}

/// A subject of the fleet's stream, read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Subject {
    Circuit(String),
    Outcomes(String),
    Hello,
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_one_safe_token_and_comes_back() {
        for name in [
            "payments",
            "a.b",
            "a b",
            "*",
            ">",
            "a.*.>",
            "",
            "_",
            "_2E",
            "ünï",
            "tab\there",
            "x-y_z",
        ] {
            let t = token(name);
            assert!(!t.is_empty());
            assert!(
                t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "{name:?} -> {t:?}"
            );
            assert_eq!(super::name(&t).as_deref(), Some(name), "{t:?}");
        }
        assert_ne!(token("a.b"), token("a_2Eb"), "injective");
        assert_ne!(token("_"), token(""));
    }

    #[test]
    fn tokens_no_name_maps_to_are_refused() {
        for bad in ["a.b", "_2", "_zz", "_2e", "_41", "a b", "*", ">", "", "_FF"] {
            assert_eq!(name(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn subjects_of_hostile_names_stay_one_level() {
        let l = Layout::new("my fleet.prod");
        assert_eq!(l.all(), "my_20fleet_2Eprod.>");
        assert_eq!(l.circuit("a.*.>"), "my_20fleet_2Eprod.circuit.a_2E_2A_2E_3E");
        assert_eq!(l.parse(&l.circuit("a.*.>")), Subject::Circuit("a.*.>".into()));
        assert_eq!(l.parse(&l.outcomes("x y")), Subject::Outcomes("x y".into()));
        assert_eq!(l.parse(&l.hello()), Subject::Hello);
        assert_eq!(l.parse("my_20fleet_2Eprod.circuit.a.b"), Subject::Unknown);
        assert_eq!(l.parse("my_20fleet_2Eprod.other.a"), Subject::Unknown);
        assert_eq!(l.parse("other.circuit.a"), Subject::Unknown);
        assert_eq!(l.stream, "cb_my_20fleet_2Eprod");
    }

    #[test]
    fn names_whose_subjects_pass_the_control_line_are_told_apart() {
        let l = Layout::new("fleet");
        assert_eq!(l.too_long(&"x".repeat(3000)), None);
        assert!(l.too_long(&"x".repeat(3100)).is_some());
        assert!(l.too_long(&".".repeat(1100)).is_some(), "three bytes per escaped byte");
        let longest = l.too_long(&"y".repeat(MAX_SUBJECT)).unwrap();
        assert_eq!(longest, format!("$KV.{}.{}", l.bucket, "y".repeat(MAX_SUBJECT)).len());
    }
}
