//! The NATS JetStream backend (feature `nats`, `nats://` URLs); the layout and guarantees are
//! described in the module docs of [`fleet`](crate::fleet).

mod agent;
mod events;
mod lease;
mod subject;

pub(crate) use agent::{Agent, run};

use crate::fleet::secret::percent_decode;

/// Where and as whom to connect: the URL without its credentials, and the credentials apart
/// (they go to the server in the CONNECT message only, never into a URL the client may log).
pub(crate) struct Target {
    pub(crate) url: String,
    auth: Auth,
}

enum Auth {
    None,
    UserPassword(String, String),
    Token(String),
}

impl Target {
    /// Reads a `nats://[user:password@|token@]host[:port]` URL.
    pub(crate) fn parse(url: &str) -> Result<Target, String> {
        let rest = url
            .strip_prefix("nats://")
            .ok_or_else(|| "a NATS URL starts with nats://".to_owned())?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
        if authority.len() != rest.len() && !matches!(&rest[authority.len()..], "/" | "") {
            return Err("a NATS URL has no path, query or fragment".into());
        }
        let (auth, host) = match authority.rsplit_once('@') {
            None => (Auth::None, authority),
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, password)) => (Auth::UserPassword(percent_decode(user), percent_decode(password)), host),
                None => (Auth::Token(percent_decode(userinfo)), host),
            },
        };
        if host.is_empty() || host.starts_with(':') {
            return Err("the URL names no host".into());
        }
        let url = format!("nats://{host}");
        url.parse::<async_nats::ServerAddr>().map_err(|e| e.to_string())?;
        Ok(Target { url, auth })
    }

    /// Connection options carrying the credentials, with `timeout` for connecting and requests.
    pub(crate) fn options(&self, timeout: std::time::Duration) -> async_nats::ConnectOptions {
        let options = async_nats::ConnectOptions::new()
            .connection_timeout(timeout)
            .request_timeout(Some(timeout))
            .ignore_discovered_servers();
        match &self.auth {
            Auth::None => options,
            Auth::UserPassword(user, password) => options.user_and_password(user.clone(), password.clone()),
            Auth::Token(token) => options.token(token.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_and_credentials_kept_apart() {
        let t = Target::parse("nats://user:p%40ss@127.0.0.1:4222").unwrap();
        assert_eq!(t.url, "nats://127.0.0.1:4222");
        assert!(matches!(&t.auth, Auth::UserPassword(u, p) if u == "user" && p == "p@ss"));
        let t = Target::parse("nats://s3cret@localhost").unwrap();
        assert!(matches!(&t.auth, Auth::Token(t) if t == "s3cret"));
        assert_eq!(t.url, "nats://localhost");
        for bad in ["redis://h", "nats://", "nats://u:p@", "nats://h/x", "nats://:4222"] {
            assert!(Target::parse(bad).is_err(), "{bad:?}");
        }
    }
}
