//! Which function queued an entry: its payload names it, `{"fn":"<path>","args":[..]}`, so a
//! replayer never runs another function's entry (two functions sharing a breaker name and a
//! queue cannot share a sub-queue in one process, but a restarted process may give the
//! sub-queue to the other one). An entry written without the name (the bare arguments array
//! of cb before 2026-11-25, or by hand) replays through whichever function owns its sub-queue.

/// `args` (the arguments as a JSON array) stored as queued by `function`.
pub(crate) fn tag(function: &str, args: &[u8]) -> Vec<u8> {
    let name = serde_json::to_string(function).unwrap_or_else(|_| "\"\"".to_owned());
    let mut out = Vec::with_capacity(args.len() + name.len() + 16);
    out.extend_from_slice(b"{\"fn\":");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b",\"args\":");
    out.extend_from_slice(args);
    out.push(b'}');
    out
}

/// The function an entry's payload names, if it names one, and its arguments: a payload that
/// is not a tagged entry is returned whole (the handler reports it if it does not decode).
pub(crate) fn untag(payload: Vec<u8>) -> (Option<String>, Vec<u8>) {
    #[derive(serde::Deserialize)]
    struct Tagged {
        #[serde(rename = "fn")]
        function: String,
        args: serde_json::Value,
    }
    if !payload.trim_ascii_start().starts_with(b"{") {
        return (None, payload);
    }
    match serde_json::from_slice::<Tagged>(&payload) {
        Ok(tagged) => match serde_json::to_vec(&tagged.args) {
            Ok(args) => (Some(tagged.function), args),
            Err(_) => (None, payload),
        },
        Err(_) => (None, payload),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tagged_entry_gives_back_its_function_and_arguments() {
        let tagged = tag("app::Billing::charge", br#"[700,"x \"y\""]"#);
        assert_eq!(
            String::from_utf8(tagged.clone()).unwrap(),
            r#"{"fn":"app::Billing::charge","args":[700,"x \"y\""]}"#
        );
        let (function, args) = untag(tagged);
        assert_eq!(function.as_deref(), Some("app::Billing::charge"));
        assert_eq!(args, br#"[700,"x \"y\""]"#);
        let (function, _) = untag(b" \n\t{\"fn\":\"a::b\",\"args\":[]}".to_vec());
        assert_eq!(function.as_deref(), Some("a::b"), "leading whitespace");
    }

    #[test]
    fn an_untagged_or_foreign_payload_is_returned_whole() {
        for payload in [
            &b"[1,2]"[..],
            b"{\"a\":1}",
            b"{not json",
            b"",
            b"{\"fn\":3,\"args\":[]}",
        ] {
            assert_eq!(untag(payload.to_vec()), (None, payload.to_vec()), "{payload:?}");
        }
    }
}
