//! How a request's result counts.

use crate::Outcome;
use reqwest::{Response, StatusCode};
use reqwest_middleware::Error;

/// The middleware's default classification: a 5xx or 429 response, a connect error, a timeout
/// or an error while sending is a failure; any other response a success; an error building
/// the request or following redirects is ignored (the caller's, not the host's); an error of
/// another middleware is a failure.
pub fn default_outcome(result: &Result<Response, Error>) -> Outcome {
    match result {
        Ok(response) => {
            let status = response.status();
            if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                Outcome::Failure
            } else {
                Outcome::Success
            }
        }
        Err(Error::Reqwest(e)) if e.is_builder() || e.is_redirect() => Outcome::Ignored,
        Err(_) => Outcome::Failure,
    }
}
