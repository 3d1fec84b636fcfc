//! gRPC through tonic against a real tonic server on 127.0.0.1 (tonic-health's generated
//! client and server: no protoc): `GrpcLayer` on a `Channel` classifies by `grpc-status` in
//! headers (trailers-only errors) and trailers (at the end of a stream), rejects as
//! `Status::unavailable` with the breaker's name and retry-after in metadata, and follows the
//! server healthy, answering UNAVAILABLE, killed, and back. The `#[circuit_breaker]` macro on
//! a method returning `Result<Response<T>, Status>` classifies with `grpc::is_failure`. Open
//! waits run on a manual clock.

use cb_runtime::grpc::{GrpcCodes, GrpcLayer};
use cb_runtime::{BreakerConfig, CircuitBreaker, ManualClock, Registry, State, circuit_breaker};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio_stream::Stream;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Code, Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

const HEALTHY: u8 = 0;
const UNAVAILABLE: u8 = 1;
const NOT_FOUND: u8 = 2;

/// A health service whose answers the test switches; `watch` sends one message, then ends
/// with the current error (in the trailers) or OK.
#[derive(Default)]
struct Flaky {
    mode: AtomicU8,
    hits: AtomicU32,
}

impl Flaky {
    fn answer(&self) -> Result<HealthCheckResponse, Status> {
        self.hits.fetch_add(1, Ordering::SeqCst);
        match self.mode.load(Ordering::SeqCst) {
            HEALTHY => Ok(HealthCheckResponse {
                status: ServingStatus::Serving as i32,
            }),
            UNAVAILABLE => Err(Status::unavailable("backend down")),
            _ => Err(Status::not_found("no such service")),
        }
    }
}

/// The service the server runs: a handle on the test's `Flaky`.
struct Svc(Arc<Flaky>);

#[tonic::async_trait]
impl Health for Svc {
    async fn check(&self, _: Request<HealthCheckRequest>) -> Result<Response<HealthCheckResponse>, Status> {
        self.0.answer().map(Response::new)
    }

    type WatchStream = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

    async fn watch(&self, _: Request<HealthCheckRequest>) -> Result<Response<Self::WatchStream>, Status> {
        let first = Ok(HealthCheckResponse {
            status: ServingStatus::Serving as i32,
        });
        let items = match self.0.answer() {
            Ok(_) => vec![first],
            Err(status) => vec![first, Err(status)],
        };
        Ok(Response::new(Box::pin(tokio_stream::iter(items))))
    }
}

/// The tonic server on 127.0.0.1, stoppable (graceful: connections get GOAWAY, later ones are
/// refused) and restartable on the same address.
struct Server_ {
    flaky: Arc<Flaky>,
    addr: SocketAddr,
    stop: Option<(oneshot::Sender<()>, tokio::task::JoinHandle<()>)>,
}

impl Server_ {
    async fn start() -> Server_ {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut server = Server_ {
            flaky: Arc::default(),
            addr,
            stop: None,
        };
        server.serve(listener);
        server
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let (tx, rx) = oneshot::channel();
        let service = HealthServer::new(Svc(self.flaky.clone()));
        let task = tokio::spawn(async move {
            let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
            let _ = Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = rx.await;
                })
                .await;
        });
        self.stop = Some((tx, task));
    }

    fn set(&self, mode: u8) {
        self.flaky.mode.store(mode, Ordering::SeqCst);
    }

    fn hits(&self) -> u32 {
        self.flaky.hits.load(Ordering::SeqCst)
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn kill(&mut self) {
        if let Some((tx, task)) = self.stop.take() {
            let _ = tx.send(());
            let _ = task.await;
        }
    }

    async fn restart(&mut self) {
        self.kill().await;
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }
}

fn breaker(clock: &ManualClock, name: &str) -> Arc<CircuitBreaker> {
    let registry: &'static Registry = Box::leak(Box::new(Registry::with_clock(clock.clone())));
    let config = BreakerConfig::builder()
        .consecutive_failures(2)
        .jitter(0.0)
        .success_threshold(1)
        .half_open_max_calls(1)
        .build()
        .unwrap();
    registry.breaker(name, &config)
}

type Protected = cb_runtime::grpc::GrpcService<Channel>;

/// A channel to `server`, connecting on first use.
fn channel(server: &Server_) -> Channel {
    Endpoint::from_shared(server.url())
        .unwrap()
        .connect_timeout(Duration::from_secs(2))
        .connect_lazy()
}

fn client(server: &Server_, layer: GrpcLayer) -> HealthClient<Protected> {
    let channel = channel(server);
    HealthClient::new(tower::ServiceBuilder::new().layer(layer).service(channel))
}

async fn check(client: &mut HealthClient<Protected>) -> Result<i32, Status> {
    let response = client.check(HealthCheckRequest { service: String::new() }).await?;
    Ok(response.into_inner().status)
}

#[tokio::test]
async fn a_protected_channel_follows_the_server_healthy_unavailable_killed_and_back() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, "grpc-health");
    let mut server = Server_::start().await;
    let mut client = client(&server, GrpcLayer::new(breaker.clone()));

    assert_eq!(check(&mut client).await.unwrap(), ServingStatus::Serving as i32);
    assert_eq!(
        breaker.snapshot().totals.successes,
        1,
        "OK in the trailers is a success"
    );

    server.set(NOT_FOUND);
    assert_eq!(check(&mut client).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(
        breaker.snapshot().totals.successes,
        2,
        "NOT_FOUND is an answer, not a failure"
    );

    server.set(UNAVAILABLE);
    for _ in 0..2 {
        let status = check(&mut client).await.unwrap_err();
        assert_eq!((status.code(), status.message()), (Code::Unavailable, "backend down"));
    }
    assert_eq!(
        breaker.state(),
        State::Open,
        "UNAVAILABLE (trailers-only) counted as failures"
    );

    let hits = server.hits();
    let rejected = check(&mut client).await.unwrap_err();
    assert_eq!(rejected.code(), Code::Unavailable);
    assert_eq!(rejected.message(), "circuit breaker `grpc-health` is open");
    assert_eq!(rejected.metadata().get("cb-breaker").unwrap(), "grpc-health");
    assert_eq!(rejected.metadata().get("retry-after-ms").unwrap(), "30000");
    assert_eq!(server.hits(), hits, "the server was not called");

    server.set(HEALTHY);
    clock.advance(Duration::from_secs(31));
    assert!(check(&mut client).await.is_ok());
    assert_eq!(breaker.state(), State::Closed, "the probe's OK closed it");

    server.kill().await;
    for _ in 0..2 {
        let status = check(&mut client).await.unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    }
    assert_eq!(breaker.state(), State::Open, "refused connections counted as failures");
    let rejected = check(&mut client).await.unwrap_err();
    assert_eq!(rejected.message(), "circuit breaker `grpc-health` is open");

    server.restart().await;
    clock.advance(Duration::from_secs(61));
    let mut answered = check(&mut client).await;
    if answered.is_err() {
        // The channel may still hold the refused connection's error once; the next probe connects.
        clock.advance(Duration::from_secs(121));
        answered = check(&mut client).await;
    }
    assert_eq!(answered.unwrap(), ServingStatus::Serving as i32);
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test]
async fn a_status_in_the_trailers_of_a_stream_counts_when_the_stream_ends() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, "grpc-watch");
    let server = Server_::start().await;
    let mut client = client(&server, GrpcLayer::new(breaker.clone()));
    server.set(UNAVAILABLE);
    let mut stream = client
        .watch(HealthCheckRequest { service: String::new() })
        .await
        .unwrap()
        .into_inner();
    assert!(stream.message().await.unwrap().is_some(), "the first message");
    assert_eq!(
        breaker.snapshot().totals.failures,
        0,
        "nothing counted before the trailers"
    );
    assert_eq!(stream.message().await.unwrap_err().code(), Code::Unavailable);
    assert_eq!(
        breaker.snapshot().totals.failures,
        1,
        "the trailers' UNAVAILABLE counted"
    );

    server.set(HEALTHY);
    let mut stream = client
        .watch(HealthCheckRequest { service: String::new() })
        .await
        .unwrap()
        .into_inner();
    while stream.message().await.unwrap().is_some() {}
    assert_eq!(breaker.snapshot().totals.successes, 1);
}

#[tokio::test]
async fn a_dropped_stream_counts_nothing_and_frees_its_probe_slot() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, "grpc-drop");
    let server = Server_::start().await;
    let mut client = client(&server, GrpcLayer::new(breaker.clone()));
    server.set(UNAVAILABLE);
    for _ in 0..2 {
        let _ = check(&mut client).await;
    }
    assert_eq!(breaker.state(), State::Open);
    clock.advance(Duration::from_secs(31));
    let mut stream = client
        .watch(HealthCheckRequest { service: String::new() })
        .await
        .unwrap()
        .into_inner();
    assert!(stream.message().await.unwrap().is_some());
    assert_eq!(breaker.snapshot().half_open_in_flight, 1, "the probe is still running");
    drop(stream);
    let s = breaker.snapshot();
    assert_eq!(
        (s.state, s.half_open_in_flight, s.totals.failures),
        (State::HalfOpen, 0, 2)
    );
}

#[tokio::test]
async fn failure_codes_are_configurable() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, "grpc-codes");
    let server = Server_::start().await;
    let codes = GrpcCodes::DEFAULT.with(Code::NotFound).without(Code::Unavailable);
    let mut client = client(&server, GrpcLayer::new(breaker.clone()).failure_codes(codes));
    server.set(UNAVAILABLE);
    for _ in 0..3 {
        let _ = check(&mut client).await;
    }
    assert_eq!(
        breaker.snapshot().totals.successes,
        3,
        "UNAVAILABLE taken off the failures"
    );
    server.set(NOT_FOUND);
    for _ in 0..2 {
        let _ = check(&mut client).await;
    }
    assert_eq!(breaker.state(), State::Open, "NOT_FOUND added to them");
}

/// A client method protected by the macro: rejections become `Status::unavailable` through
/// `From<Rejected> for Status`, and only `grpc::is_failure` codes count as failures.
struct Inventory {
    client: HealthClient<Channel>,
}

impl Inventory {
    #[circuit_breaker(name = "grpc-macro", consecutive_failures = 2, failure_if = cb_runtime::grpc::is_failure)]
    async fn check(&self) -> Result<Response<HealthCheckResponse>, Status> {
        self.client
            .clone()
            .check(HealthCheckRequest { service: String::new() })
            .await
    }
}

#[tokio::test]
async fn the_macro_on_a_method_returning_a_tonic_result() {
    let server = Server_::start().await;
    let channel = Endpoint::from_shared(server.url()).unwrap().connect_lazy();
    let inventory = Inventory {
        client: HealthClient::new(channel),
    };
    assert!(inventory.check().await.is_ok());
    server.set(NOT_FOUND);
    for _ in 0..3 {
        assert_eq!(inventory.check().await.unwrap_err().code(), Code::NotFound);
    }
    let b = cb_runtime::registry().get("grpc-macro").unwrap();
    assert_eq!((b.state(), b.snapshot().totals.successes), (State::Closed, 4));
    server.set(UNAVAILABLE);
    for _ in 0..2 {
        assert_eq!(inventory.check().await.unwrap_err().message(), "backend down");
    }
    let hits = server.hits();
    let rejected = inventory.check().await.unwrap_err();
    assert_eq!(rejected.code(), Code::Unavailable);
    assert_eq!(rejected.message(), "circuit breaker `grpc-macro` is open");
    assert_eq!(rejected.metadata().get("cb-breaker").unwrap(), "grpc-macro");
    assert_eq!(server.hits(), hits);
}

/// A gRPC breaker under another one (a per-host breaker under a client-wide one): the inner
/// breaker's rejection means the backend was not called, so the outer breaker counts it as
/// ignored, not as a failure (one host's open breaker must not open the client-wide one).
#[tokio::test]
async fn an_inner_grpc_breakers_rejection_is_no_failure_of_the_outer_one() {
    let clock = ManualClock::new();
    let inner = breaker(&clock, "grpc-inner");
    let registry: &'static Registry = Box::leak(Box::new(Registry::with_clock(clock.clone())));
    let outer = registry.breaker(
        "grpc-outer",
        &BreakerConfig::builder().consecutive_failures(3).build().unwrap(),
    );
    let server = Server_::start().await;
    let channel = channel(&server);
    let service = tower::ServiceBuilder::new()
        .layer(GrpcLayer::new(outer.clone()))
        .layer(GrpcLayer::new(inner.clone()))
        .service(channel);
    let mut client = HealthClient::new(service);
    let mut check = async || {
        client
            .check(HealthCheckRequest { service: String::new() })
            .await
            .map(|r| r.into_inner().status)
    };
    server.set(UNAVAILABLE);
    for _ in 0..2 {
        assert_eq!(check().await.unwrap_err().code(), Code::Unavailable);
    }
    assert_eq!(inner.state(), State::Open);
    for _ in 0..5 {
        let rejected = check().await.unwrap_err();
        assert_eq!(rejected.message(), "circuit breaker `grpc-inner` is open");
    }
    let totals = outer.snapshot().totals;
    assert_eq!(
        (totals.failures, totals.ignored),
        (2, 5),
        "the backend's two failures count; the inner breaker's five rejections are ignored"
    );
    assert_eq!(outer.state(), State::Closed);
}

/// A `CircuitBreakerLayer` under a `GrpcLayer` (a client-wide gRPC breaker over a per-host
/// tower one): the inner rejection reaches the tonic caller as a rejection, UNAVAILABLE naming
/// the inner breaker with its metadata (tonic made UNKNOWN of the tower error), and the outer
/// breaker counts it as ignored.
#[tokio::test]
async fn an_inner_tower_breakers_rejection_reaches_the_caller_as_unavailable() {
    let clock = ManualClock::new();
    let inner = breaker(&clock, "grpc-tower-inner");
    let outer = breaker(&clock, "grpc-tower-outer");
    let server = Server_::start().await;
    let channel = channel(&server);
    let service = tower::ServiceBuilder::new()
        .layer(GrpcLayer::new(outer.clone()))
        .layer(cb_runtime::tower::CircuitBreakerLayer::new(inner.clone()))
        .service(channel);
    let mut client = HealthClient::new(service);
    let request = || HealthCheckRequest { service: String::new() };
    assert!(client.check(request()).await.is_ok(), "through both while closed");
    inner.force_open();
    let hits = server.hits();
    let rejected = client.check(request()).await.unwrap_err();
    assert_eq!(rejected.code(), Code::Unavailable, "{rejected:?}");
    assert_eq!(rejected.message(), "circuit breaker `grpc-tower-inner` is forced open");
    assert_eq!(rejected.metadata().get("cb-breaker").unwrap(), "grpc-tower-inner");
    assert_eq!(server.hits(), hits, "the server was not called");
    let totals = outer.snapshot().totals;
    assert_eq!((totals.successes, totals.failures, totals.ignored), (1, 0, 1));
}
