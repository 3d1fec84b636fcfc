//! Ready-made axum handlers (feature `axum`) to inspect breakers, and to steer them when the
//! application opts in:
//!
//! | route | answer |
//! |---|---|
//! | `GET /circuits` | every breaker's snapshot, by name |
//! | `GET /circuits/{name}` | `{ "snapshot": .., "config": .. }`: the snapshot and where each configuration value comes from (`Registry::explain`) |
//! | `GET /health` | `{ "status": "UP", "circuits": { "<name>": { "status": "CIRCUIT_OPEN", .. } } }` |
//! | `POST /circuits/{name}/force-open`, `/disable`, `/metrics-only`, `/reset` | only with [`Endpoints::with_manual_control`]: the snapshot after the change |
//!
//! Names may contain `/` (keyed breakers, `webhook/billing`): `GET /circuits/webhook/billing`
//! and `POST /circuits/webhook/billing/reset` both work, as does `webhook%2Fbilling`. An unknown
//! breaker or action, or an empty name (`/circuits/`), is a 404 with `{ "error": ".." }`;
//! without manual control, a `POST` is a 405. `/health` answers 200 whatever the breakers'
//! states (an open circuit is a dependency's trouble, not a reason to restart this process)
//! unless [`Endpoints::health_fails_when_open`] makes it 503 while a circuit is open.
//!
//! ```
//! use cb_runtime::endpoints::Endpoints;
//!
//! let app: axum::Router = Endpoints::global().router();   // read-only
//! let admin: axum::Router = Endpoints::global().with_manual_control().router();
//! # let _ = (app, admin);
//! ```

use crate::config::Explanation;
use crate::{Registry, Snapshot, registry};
use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde::Serialize;

/// What the router serves: which registry, and whether it may change breakers.
#[derive(Clone, Copy, Debug)]
pub struct Endpoints {
    registry: &'static Registry,
    control: bool,
    fail_when_open: bool,
}

impl Endpoints {
    /// Read-only endpoints over the global [`registry()`].
    pub fn global() -> Self {
        Self::new(registry())
    }

    /// Read-only endpoints over `registry`.
    pub fn new(registry: &'static Registry) -> Self {
        Endpoints {
            registry,
            control: false,
            fail_when_open: false,
        }
    }

    /// Adds the `POST /circuits/{name}/{action}` routes (`force-open`, `disable`,
    /// `metrics-only`, `reset`): put them behind your own authentication.
    pub fn with_manual_control(mut self) -> Self {
        self.control = true;
        self
    }

    /// `GET /health` answers 503 while any circuit is open (for a readiness probe that should
    /// take the instance out of rotation).
    pub fn health_fails_when_open(mut self) -> Self {
        self.fail_when_open = true;
        self
    }

    /// The routes, to serve or to merge into the application's router.
    pub fn router<S: Clone + Send + Sync + 'static>(self) -> axum::Router<S> {
        let r = self.registry;
        let mut one = get(move |Path(name): Path<String>| async move { detail(r, &name) });
        if self.control {
            one = one.post(move |Path(target): Path<String>| async move { control(r, &target) });
        }
        axum::Router::new()
            .route("/circuits", get(move || async move { Json(r.snapshots()) }))
            .route("/circuits/{*name}", one)
            .route(
                "/circuits/",
                any(|| async { not_found("expected /circuits/{name}: the name is empty".into()) }),
            )
            .route("/health", get(move || async move { health(r, self.fail_when_open) }))
    }
}

/// A snapshot with the explanation of its configuration.
#[derive(Serialize)]
struct Detail {
    snapshot: Snapshot,
    config: Explanation,
}

#[derive(Serialize)]
struct ErrorBody {
    error: String,
}

fn not_found(error: String) -> Response {
    (StatusCode::NOT_FOUND, Json(ErrorBody { error })).into_response()
}

fn unknown(name: &str) -> Response {
    not_found(format!("no circuit breaker named `{name}` is registered"))
}

fn detail(registry: &Registry, name: &str) -> Response {
    match registry.snapshot(name) {
        Some(snapshot) => Json(Detail {
            snapshot,
            config: registry.explain(name),
        })
        .into_response(),
        None => unknown(name),
    }
}

fn health(registry: &Registry, fail_when_open: bool) -> Response {
    let health = registry.health();
    let code = if fail_when_open && health.status == crate::HealthStatus::CircuitOpen {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (code, Json(health)).into_response()
}

/// The manual actions, by the path segment that names them.
const ACTIONS: [&str; 4] = ["force-open", "disable", "metrics-only", "reset"];

/// `target` is `{name}/{action}`; the name may contain `/` itself.
fn control(registry: &Registry, target: &str) -> Response {
    let Some((name, action)) = target.rsplit_once('/') else {
        return not_found(format!(
            "expected /circuits/{{name}}/{{action}}, action one of {ACTIONS:?}"
        ));
    };
    let done = match action {
        "force-open" => registry.force_open(name),
        "disable" => registry.disable(name),
        "metrics-only" => registry.metrics_only(name),
        "reset" => registry.reset(name),
        other => return not_found(format!("unknown action `{other}`: expected one of {ACTIONS:?}")),
    };
    match (done, registry.snapshot(name)) {
        (Ok(()), Some(snapshot)) => Json(snapshot).into_response(),
        _ => unknown(name),
    }
}
