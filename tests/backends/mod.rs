//! The two fleet backends seen from a test: the shared server of each (Redis 127.0.0.1:6379,
//! NATS with JetStream 127.0.0.1:4222, or a private server when it does not answer), private
//! servers to stop and restart, and a way to write a hostile value where the fleet reads.
#![allow(dead_code)]

use crate::fleet_support::{RedisServer, eventually, free_port, test_redis, unique};
use async_nats::jetstream;
use std::path::PathBuf;
use std::time::Duration;

/// Which backend a test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Redis,
    Nats,
}

/// A backend for one test: its URL and the private server behind it, if any.
pub struct Backend {
    pub kind: Kind,
    pub url: String,
    _server: Option<Server>,
}

/// The shared server of `kind` (`CB_TEST_REDIS_URL` / `CB_TEST_NATS_URL` if set), or a private
/// one when it does not answer.
pub async fn shared(kind: Kind) -> Backend {
    match kind {
        Kind::Redis => {
            let redis = test_redis().await;
            Backend {
                kind,
                url: redis.url.clone(),
                _server: Some(Server::Shared(redis)),
            }
        }
        Kind::Nats => {
            let url = std::env::var("CB_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
            if jetstream_answers(&url).await {
                return Backend {
                    kind,
                    url,
                    _server: None,
                };
            }
            let server = NatsServer::start(&[]).await;
            Backend {
                kind,
                url: server.url(),
                _server: Some(Server::Nats(server)),
            }
        }
    }
}

enum Server {
    Shared(crate::fleet_support::TestRedis),
    Nats(NatsServer),
}

/// A private server of `kind` on a free port, to stop and restart.
pub enum Private {
    Redis(RedisServer),
    Nats(NatsServer),
}

impl Private {
    pub async fn start(kind: Kind) -> Private {
        match kind {
            Kind::Redis => Private::Redis(RedisServer::start(&[]).await),
            Kind::Nats => Private::Nats(NatsServer::start(&[]).await),
        }
    }

    pub fn url(&self) -> String {
        match self {
            Private::Redis(s) => s.url(),
            Private::Nats(s) => s.url(),
        }
    }

    /// Kills the server process (a NATS server keeps its store directory).
    pub fn stop(&mut self) {
        match self {
            Private::Redis(s) => s.kill(),
            Private::Nats(s) => s.kill(),
        }
    }

    /// Starts the server again on the same port (and store).
    pub async fn restart(&mut self) {
        match self {
            Private::Redis(s) => *s = RedisServer::start_on(s.port, &[]).await,
            Private::Nats(s) => s.restart().await,
        }
    }
}

/// Whether a JetStream-enabled NATS answers at `url`.
pub async fn jetstream_answers(url: &str) -> bool {
    let mut options = async_nats::ConnectOptions::new().connection_timeout(Duration::from_millis(500));
    let mut url = url.to_owned();
    if let Some((userinfo, host)) = url.trim_start_matches("nats://").split_once('@')
        && let Some((user, pass)) = userinfo.split_once(':')
    {
        options = options.user_and_password(user.into(), pass.into());
        url = format!("nats://{host}");
    }
    let connect = options.connect(url);
    let Ok(Ok(client)) = tokio::time::timeout(Duration::from_secs(1), connect).await else {
        return false;
    };
    let info = client.request("$JS.API.INFO", "".into());
    matches!(
        tokio::time::timeout(Duration::from_secs(1), info).await,
        Ok(Ok(m)) if String::from_utf8_lossy(&m.payload).contains("account_info_response")
    )
}

/// Publishes `payload` on `subject` of the NATS at `url` (as a hostile or broken instance would).
pub async fn nats_publish(url: &str, subject: String, payload: &'static str) {
    let client = async_nats::connect(url).await.unwrap();
    let js = jetstream::new(client);
    js.publish(subject, payload.into()).await.unwrap().await.unwrap();
}

/// The subject token of a breaker or fleet name (as the fleet maps it: letters, digits and `-`
/// kept, every other byte `_XX`).
pub fn token(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' {
                (b as char).to_string()
            } else {
                format!("_{b:02X}")
            }
        })
        .collect()
}

/// Writes a malformed value where breaker `breaker` of fleet `fleet` reads its events.
pub async fn write_malformed(backend: &Backend, fleet: &str, breaker: &str) {
    match backend.kind {
        Kind::Redis => {
            let _: () = crate::fleet_support::redis_run(
                &backend.url,
                redis::cmd("SET")
                    .arg(format!("cb:{fleet}:{breaker}:state"))
                    .arg("not:a:number:at all")
                    .arg("PX")
                    .arg(60_000),
            )
            .await;
        }
        Kind::Nats => {
            let subject = format!("{}.circuit.{}", token(fleet), token(breaker));
            nats_publish(&backend.url, subject, "not:a:number:at all").await;
        }
    }
}

/// Removes what fleet `fleet` left on a shared NATS (its stream and lease bucket); Redis keys
/// expire by themselves.
pub async fn clean_up(backend: &Backend, fleet: &str) {
    if backend.kind == Kind::Nats {
        let client = async_nats::connect(backend.url.as_str()).await.unwrap();
        let js = jetstream::new(client);
        let _ = js.delete_stream(format!("cb_{}", token(fleet))).await;
        let _ = js.delete_stream(format!("KV_cb_{}_probe", token(fleet))).await;
    }
}

/// A private nats-server with JetStream on a free port and its own store directory, killed
/// (and its directory removed) when dropped.
pub struct NatsServer {
    child: Option<std::process::Child>,
    pub port: u16,
    dir: PathBuf,
    args: Vec<String>,
}

impl NatsServer {
    pub async fn start(args: &[&str]) -> NatsServer {
        let dir = std::env::temp_dir().join(unique("cb-nats-store"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = NatsServer {
            child: None,
            port: free_port(),
            dir,
            args: args.iter().map(|a| a.to_string()).collect(),
        };
        server.restart().await;
        server
    }

    fn binary() -> &'static str {
        if std::path::Path::new("/usr/sbin/nats-server").exists() {
            "/usr/sbin/nats-server"
        } else {
            "nats-server"
        }
    }

    /// Starts the server (again) on its port and store, and waits until JetStream answers.
    pub async fn restart(&mut self) {
        self.kill();
        let child = std::process::Command::new(Self::binary())
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string(), "-js", "-sd"])
            .arg(&self.dir)
            .args(&self.args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nats-server must be installed (apt-get install nats-server; bash .ci/run does it)");
        self.child = Some(child);
        let url = self.open_url();
        let start = std::time::Instant::now();
        while !jetstream_answers(&url).await {
            assert!(start.elapsed() < Duration::from_secs(10), "nats-server did not answer");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The URL with the credentials of `--user`/`--pass`, if given.
    fn open_url(&self) -> String {
        let arg = |name: &str| {
            self.args
                .iter()
                .position(|a| a == name)
                .map(|at| self.args[at + 1].clone())
        };
        match (arg("--user"), arg("--pass")) {
            (Some(u), Some(p)) => format!("nats://{u}:{p}@127.0.0.1:{}", self.port),
            _ => self.url(),
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Waits until every instance is connected.
pub async fn all_connected(fleet: &[&crate::fleet_support::Instance]) {
    eventually("connecting", Duration::from_secs(10), || {
        fleet.iter().all(|i| i.fleet.connected())
    })
    .await;
}
