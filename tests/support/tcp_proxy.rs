//! A loopback TCP proxy a test switches between forwarding, cut (open connections closed, new
//! ones refused) and blackhole (connections accepted and held, nothing forwarded).

use std::net::SocketAddr;
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    Forward,
    Cut,
    Blackhole,
}

pub struct TcpProxy {
    addr: SocketAddr,
    link: watch::Sender<Link>,
    task: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    /// A proxy on 127.0.0.1 forwarding to `upstream`.
    pub async fn start(upstream: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (link, rx) = watch::channel(Link::Forward);
        let task = tokio::spawn(accept_loop(listener, addr, upstream, rx));
        TcpProxy { addr, link, task }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn set(&self, link: Link) {
        self.link.send_replace(link);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.set(Link::Cut);
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, addr: SocketAddr, upstream: SocketAddr, mut rx: watch::Receiver<Link>) {
    let mut listener = Some(listener);
    loop {
        let link = *rx.borrow_and_update();
        if link == Link::Cut {
            // Refuse: nothing listens on the port until the link comes back.
            listener = None;
            if rx.changed().await.is_err() {
                return;
            }
            continue;
        }
        let bound = match listener.take() {
            Some(l) => l,
            None => TcpListener::bind(addr).await.expect("the proxy's port is free again"),
        };
        tokio::select! {
            accepted = bound.accept() => {
                if let Ok((client, _)) = accepted {
                    tokio::spawn(connection(client, upstream, rx.clone()));
                }
            }
            changed = rx.changed() => if changed.is_err() { return },
        }
        listener = Some(bound);
    }
}

/// One client connection: forwarded while the link forwards, held silent in a blackhole,
/// closed on any other change.
async fn connection(mut client: TcpStream, upstream: SocketAddr, mut rx: watch::Receiver<Link>) {
    let link = *rx.borrow_and_update();
    match link {
        Link::Cut => {}
        Link::Blackhole => {
            let _ = rx.changed().await;
        }
        Link::Forward => {
            let Ok(mut server) = TcpStream::connect(upstream).await else {
                return;
            };
            let changed = tokio::select! {
                _ = copy_bidirectional(&mut client, &mut server) => None,
                changed = rx.changed() => changed.ok().map(|()| *rx.borrow_and_update()),
            };
            // A blackhole keeps both sockets open and silent until the next change.
            if changed == Some(Link::Blackhole) {
                let _ = rx.changed().await;
            }
        }
    }
}
