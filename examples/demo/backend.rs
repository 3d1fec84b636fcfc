//! The flaky backend and the HTTP/1.1 the demo's clients speak to it: just enough HTTP over
//! tokio's `TcpListener` and `TcpStream` (one request per connection) that the demo builds in
//! about a minute, without an HTTP framework.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the backend does with every request.
#[derive(Clone, Copy, PartialEq)]
pub enum Mode {
    /// 200 at once, with `fresh <path>`.
    Healthy,
    /// 500 at once.
    Failing,
    /// 200 after a second.
    Slow,
}

impl Mode {
    fn from_u8(v: u8) -> Mode {
        match v {
            0 => Mode::Healthy,
            1 => Mode::Failing,
            _ => Mode::Slow,
        }
    }
}

/// Serves every connection on `listener` as `mode` says at the time of the request.
pub async fn serve(listener: TcpListener, mode: Arc<AtomicU8>) {
    while let Ok((stream, _)) = listener.accept().await {
        let mode = mode.clone();
        tokio::spawn(async move {
            let _ = answer(stream, Mode::from_u8(mode.load(Ordering::Relaxed))).await;
        });
    }
}

async fn answer(stream: TcpStream, mode: Mode) -> io::Result<()> {
    let mut stream = BufReader::new(stream);
    let mut request_line = String::new();
    stream.read_line(&mut request_line).await?;
    let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    loop {
        let mut header = String::new();
        if stream.read_line(&mut header).await? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let (status, body) = match mode {
        Mode::Healthy => ("200 OK", format!("fresh {}", path.trim_start_matches('/'))),
        Mode::Failing => ("500 Internal Server Error", "boom".into()),
        Mode::Slow => {
            tokio::time::sleep(Duration::from_secs(1)).await;
            ("200 OK", "late".into())
        }
    };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.get_mut().write_all(response.as_bytes()).await
}

/// A failed GET: the connection, or a status other than 2xx.
#[derive(Debug)]
pub enum HttpError {
    /// Connecting, writing or reading failed.
    Io,
    /// The backend answered with a status other than 2xx.
    Status,
}

/// `GET http://{addr}{path}`: the body of a 2xx answer.
pub async fn get(addr: &str, path: &str) -> Result<String, HttpError> {
    let mut stream = TcpStream::connect(addr).await.map_err(|_| HttpError::Io)?;
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.map_err(|_| HttpError::Io)?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.map_err(|_| HttpError::Io)?;
    let status: u16 = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(HttpError::Io)?;
    if !(200..300).contains(&status) {
        return Err(HttpError::Status);
    }
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    Ok(body.to_owned())
}
