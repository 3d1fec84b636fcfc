//! The tests' JetStream streams on the NATS at 127.0.0.1:4222.

/// The NATS server the tests use.
pub const NATS: &str = "nats://127.0.0.1:4222";

/// The stream kept in the account for good (see [`delete_stream`]).
const ANCHOR: &str = "CB_TESTS_ANCHOR";

/// Deletes stream `name`, keeping another stream in the account first. nats-server removes an
/// account's store directory with its last stream, and a stream created at that moment (by a
/// test running beside this one) then fails with "error creating store for stream" (10049);
/// with the anchor stream the account is never empty.
pub async fn delete_stream(name: &str) {
    let client = async_nats::connect(NATS).await.expect("NATS on 127.0.0.1:4222");
    let js = async_nats::jetstream::new(client);
    js.get_or_create_stream(async_nats::jetstream::stream::Config {
        name: ANCHOR.to_owned(),
        subjects: vec!["cb-tests-anchor".to_owned()],
        max_messages: 1,
        ..Default::default()
    })
    .await
    .expect("the anchor stream");
    let _ = js.delete_stream(name).await;
}
