//! The fleet over TLS (`rediss://`, feature `redis-tls`) against a real TLS redis-server on
//! loopback, with a CA and a server certificate this test makes with the `openssl` CLI
//! (`.ci/run` installs it where it is missing).
#![cfg(feature = "redis-tls")]

mod fleet_support;

use cb_runtime::State;
use fleet_support::*;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

const PASSWORD: &str = "tls-only-s3cret";

/// A CA, and a certificate for IP 127.0.0.1 it signed, in a fresh directory.
struct Certs {
    dir: PathBuf,
}

impl Certs {
    fn make() -> Certs {
        let dir = std::env::temp_dir().join(unique("cb-fleet-tls"));
        std::fs::create_dir_all(&dir).unwrap();
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .output()
                .expect("the openssl CLI must be installed (apt-get install openssl; bash .ci/run does it)");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        openssl(
            &[
                &["req", "-x509"][..],
                &ec,
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                    "-days",
                    "1",
                    "-subj",
                    "/CN=cb test CA",
                ],
            ]
            .concat(),
        );
        openssl(
            &[
                &["req"][..],
                &ec,
                &["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"],
            ]
            .concat(),
        );
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "1",
            "-extfile",
            "server.ext",
        ]);
        Certs { dir }
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).to_string_lossy().into_owned()
    }

    fn ca(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("ca.pem")).unwrap()
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A redis-server accepting only TLS, with a password.
struct TlsServer {
    child: std::process::Child,
    port: u16,
}

impl TlsServer {
    async fn start(certs: &Certs) -> TlsServer {
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--tls-port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--tls-cert-file",
                &certs.path("server.pem"),
                "--tls-key-file",
                &certs.path("server.key"),
            ])
            .args(["--tls-ca-cert-file", &certs.path("ca.pem"), "--tls-auth-clients", "no"])
            .args(["--requirepass", PASSWORD, "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server must be installed");
        eventually("the TLS port listening", Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        })
        .await;
        TlsServer { child, port }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn no_secret(reports: &[String], problems: &[String], what: &str) {
    for text in reports.iter().chain(problems) {
        assert!(!text.contains(PASSWORD), "{what}: the password leaked in {text:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_shares_state_over_tls_with_a_certificate_it_trusts() {
    let certs = Certs::make();
    let server = TlsServer::start(&certs).await;
    let url = format!("rediss://:{PASSWORD}@127.0.0.1:{}", server.port);
    let name = unique("fleet-tls");
    let trusted = |_: ()| instance_tuned(&name, &url, consecutive_config(), |f| f.tls_root_cert(certs.ca()));
    let (a, b) = (trusted(()), trusted(()));
    let mut reports = Reports::of(a.registry);
    connected(&[&a, &b]).await;
    trip(&a.breaker);
    eventually("b adopting a's trip over TLS", Duration::from_secs(3), || {
        b.breaker.state() == State::Open
    })
    .await;
    assert!(retry_after(&b.breaker) > Duration::from_secs(29));
    reports.poll();
    assert!(
        reports.seen.iter().any(|m| m.contains("rediss://:***@127.0.0.1")),
        "{:#?}",
        reports.seen
    );
    no_secret(&reports.seen, &a.fleet.problems(), "connected");
    assert!(!format!("{:?}", a.fleet).contains(PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_or_plain_redis_is_reported_not_silent() {
    let certs = Certs::make();
    let server = TlsServer::start(&certs).await;
    for (what, url) in [
        (
            "a certificate no system root signed",
            format!("rediss://:{PASSWORD}@127.0.0.1:{}", server.port),
        ),
        (
            "plain redis:// to a TLS port",
            format!("redis://:{PASSWORD}@127.0.0.1:{}", server.port),
        ),
    ] {
        let i = instance_tuned(&unique("fleet-tls-bad"), &url, consecutive_config(), |f| {
            f.op_timeout(Duration::from_millis(500))
        });
        let mut reports = Reports::of(i.registry);
        reports.wait_for("cannot be used", Duration::from_secs(10)).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(reports.count("cannot be used"), 1, "{what}: {:#?}", reports.seen);
        assert!(!i.fleet.connected(), "{what}");
        no_secret(&reports.seen, &i.fleet.problems(), what);
        trip(&i.breaker);
        i.clock.advance(Duration::from_secs(31));
        assert!(i.breaker.try_acquire().is_ok(), "{what}: probing is local");
    }
}
