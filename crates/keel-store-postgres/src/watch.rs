//! Connections that give up on a silent server.
//!
//! A database behind a network partition, or a frozen server, keeps its sockets open and simply
//! stops answering: nothing errors, and without a bound a request would wait for ever (the
//! kernel gives up on unacknowledged data only after about fifteen minutes). Every pooled
//! connection is therefore opened by [`WatchedConnect`] over a [`Watched`] socket, which follows
//! the protocol's framing on both directions: each simple query (`Q`), each extended-protocol
//! `Sync` (`S`) and the start-up handshake is one exchange the server ends with `ReadyForQuery`
//! (`Z`). While an exchange is open and the server has sent nothing for the socket's limit (the
//! statement timeout plus a grace), reading fails with `TimedOut`: the driver closes the
//! connection, every request on it fails at once with a closed connection (503 `unavailable`),
//! and the pool drops it instead of handing it out again. An idle connection, or one whose
//! statement is still streaming rows, is never cut.
//!
//! TCP keepalive (30 s idle, then 3 probes 10 s apart) and a TCP user timeout of the same limit
//! close connections to a peer that has vanished while idle or while data is unacknowledged.

use deadpool_postgres::Connect;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config, NoTls};

/// How long an idle TCP connection goes before keepalive probes start.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);
/// Between keepalive probes.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
/// Probes unanswered before the kernel closes the connection.
const KEEPALIVE_RETRIES: u32 = 3;

/// Where a stream of protocol messages stands.
#[derive(Debug, Clone)]
struct Framing {
    /// The next message has no type byte (the frontend's start-up message).
    untyped: bool,
    /// Bytes of the current message's header read so far (type byte and 4-byte length).
    header: [u8; 5],
    filled: usize,
    /// Body bytes of the current message still to come.
    body_left: usize,
}

impl Framing {
    fn new(untyped_first: bool) -> Self {
        Framing { untyped: untyped_first, header: [0; 5], filled: 0, body_left: 0 }
    }

    /// Feeds bytes in order; calls `done` with the type byte of every header completed (0 for
    /// the untyped start-up message).
    fn feed(&mut self, mut bytes: &[u8], mut done: impl FnMut(u8)) {
        while !bytes.is_empty() {
            if self.body_left > 0 {
                let n = self.body_left.min(bytes.len());
                self.body_left -= n;
                bytes = &bytes[n..];
                continue;
            }
            let need = if self.untyped { 4 } else { 5 };
            let n = (need - self.filled).min(bytes.len());
            self.header[self.filled..self.filled + n].copy_from_slice(&bytes[..n]);
            self.filled += n;
            bytes = &bytes[n..];
            if self.filled == need {
                let (kind, len) = if self.untyped {
                    (0, u32::from_be_bytes([self.header[0], self.header[1], self.header[2], self.header[3]]))
                } else {
                    (
                        self.header[0],
                        u32::from_be_bytes([self.header[1], self.header[2], self.header[3], self.header[4]]),
                    )
                };
                // The length counts itself (and, untyped, nothing else of the header).
                self.body_left = (len as usize).saturating_sub(4);
                self.filled = 0;
                self.untyped = false;
                done(kind);
            }
        }
    }
}

/// A socket that fails a read when the server leaves an exchange unanswered for too long.
pub struct Watched<S> {
    inner: S,
    limit: Duration,
    sent: Framing,
    received: Framing,
    /// Exchanges sent whose `ReadyForQuery` has not arrived.
    open: u64,
    /// Syncs sent since the last Execute: if that Execute starts a `COPY … FROM STDIN`, the
    /// server is in copy-in mode when they arrive and ignores them (the driver sends one with
    /// the COPY's Bind and Execute, and answers only the one after CopyDone).
    syncs_after_execute: u64,
    /// A write could not go out (the send buffer is full): the server is not reading either.
    write_stuck: bool,
    timer: Pin<Box<Sleep>>,
    armed: bool,
}

impl<S> Watched<S> {
    /// Wraps a freshly connected socket (nothing sent yet) with the given silence limit.
    pub fn new(inner: S, limit: Duration) -> Self {
        Watched {
            inner,
            limit,
            sent: Framing::new(true),
            received: Framing::new(false),
            open: 0,
            syncs_after_execute: 0,
            write_stuck: false,
            timer: Box::pin(tokio::time::sleep(limit)),
            armed: false,
        }
    }

    /// Whether the server owes an answer.
    fn waiting(&self) -> bool {
        self.open > 0 || self.write_stuck
    }

    /// Starts the silence clock again (the server just said something, or an exchange began).
    fn restart(&mut self) {
        self.timer.as_mut().reset(Instant::now() + self.limit);
        self.armed = true;
    }

    fn after_write(&mut self, bytes: &[u8]) {
        let before = self.waiting();
        let (open, since) = (&mut self.open, &mut self.syncs_after_execute);
        // The start-up message (0), a simple query and a Sync each end in ReadyForQuery.
        self.sent.feed(bytes, |kind| match kind {
            0 | b'Q' => {
                *open += 1;
                *since = 0;
            }
            b'E' => *since = 0,
            b'S' => {
                *open += 1;
                *since += 1;
            }
            _ => {}
        });
        self.write_stuck = false;
        if !before && self.waiting() {
            self.restart();
        }
    }

    fn after_read(&mut self, bytes: &[u8]) {
        let (open, since) = (&mut self.open, &mut self.syncs_after_execute);
        self.received.feed(bytes, |kind| match kind {
            b'Z' => *open = open.saturating_sub(1),
            // CopyInResponse: the Syncs sent since the COPY's Execute reach a server in copy-in
            // mode, which ignores them.
            b'G' => {
                *open = open.saturating_sub(*since);
                *since = 0;
            }
            _ => {}
        });
        if self.waiting() {
            self.restart();
        } else {
            self.armed = false;
        }
    }

    fn stuck(&mut self) {
        if !self.waiting() {
            self.write_stuck = true;
            self.restart();
        }
        self.write_stuck = true;
    }
}

impl<S> Watched<S> {
    /// Polls the silence clock while the server owes an answer, so that the task is woken when
    /// it runs out (from whichever of read, write or flush polled last); the error once it has.
    fn expired(&mut self, cx: &mut Context<'_>) -> Option<io::Error> {
        if !(self.waiting() && self.armed) || self.timer.as_mut().poll(cx).is_pending() {
            return None;
        }
        Some(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the database sent nothing for {} ms while a statement was open", self.limit.as_millis()),
        ))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let start = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let got = buf.filled()[start..].to_vec();
                this.after_read(&got);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match this.expired(cx) {
                Some(e) => Poll::Ready(Err(e)),
                None => Poll::Pending,
            },
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        match &r {
            Poll::Ready(Ok(n)) => this.after_write(&buf[..*n]),
            Poll::Ready(Err(_)) => return r,
            Poll::Pending => this.stuck(),
        }
        // The driver may not read again before the clock runs out: register it now.
        match this.expired(cx) {
            Some(e) => Poll::Ready(Err(e)),
            None => r,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_flush(cx);
        match &r {
            Poll::Ready(Err(_)) => return r,
            Poll::Pending => this.stuck(),
            Poll::Ready(Ok(())) => {}
        }
        match this.expired(cx) {
            Some(e) => Poll::Ready(Err(e)),
            None => r,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The socket under a watched connection.
pub enum Socket {
    /// TCP, with keepalive and a user timeout.
    Tcp(TcpStream),
    /// A Unix-domain socket (a `host` that is a directory).
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
    /// No socket could be opened: the first write reports why, so the driver's start-up fails
    /// with that error like any other.
    Failed(Option<io::Error>),
}

impl AsyncRead for Socket {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(unix)]
            Socket::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Socket::Failed(e) => {
                Poll::Ready(Err(e.take().unwrap_or_else(|| io::ErrorKind::NotConnected.into())))
            }
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(unix)]
            Socket::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Socket::Failed(e) => {
                Poll::Ready(Err(e.take().unwrap_or_else(|| io::ErrorKind::NotConnected.into())))
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(unix)]
            Socket::Unix(s) => Pin::new(s).poll_flush(cx),
            Socket::Failed(_) => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(unix)]
            Socket::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Socket::Failed(_) => Poll::Ready(Ok(())),
        }
    }
}

/// Opens a socket to the first host of `config` that accepts one, within its connect timeout.
async fn open(config: &Config, limit: Duration) -> io::Result<Socket> {
    // `hostaddr` names the address of each host (or stands for the hosts when none is named).
    let addrs = config.get_hostaddrs();
    let hosts: Vec<Host> = if config.get_hosts().is_empty() {
        addrs.iter().map(|a| Host::Tcp(a.to_string())).collect()
    } else {
        config
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(i, h)| match (h, addrs.get(i)) {
                (Host::Tcp(_), Some(a)) => Host::Tcp(a.to_string()),
                (h, _) => h.clone(),
            })
            .collect()
    };
    let ports = config.get_ports();
    let mut last = io::Error::new(io::ErrorKind::InvalidInput, "no host to connect to");
    for (i, host) in hosts.iter().enumerate() {
        let port = match ports {
            [] => 5432,
            [one] => *one,
            many => many.get(i).copied().unwrap_or(5432),
        };
        let attempt = async {
            match host {
                Host::Tcp(name) => {
                    let s = TcpStream::connect((name.as_str(), port)).await?;
                    s.set_nodelay(true)?;
                    let sock = socket2::SockRef::from(&s);
                    sock.set_tcp_keepalive(
                        &socket2::TcpKeepalive::new()
                            .with_time(KEEPALIVE_IDLE)
                            .with_interval(KEEPALIVE_INTERVAL)
                            .with_retries(KEEPALIVE_RETRIES),
                    )?;
                    #[cfg(any(target_os = "linux", target_os = "android"))]
                    sock.set_tcp_user_timeout(Some(limit))?;
                    Ok(Socket::Tcp(s))
                }
                #[cfg(unix)]
                Host::Unix(dir) => {
                    let path = dir.join(format!(".s.PGSQL.{port}"));
                    Ok(Socket::Unix(tokio::net::UnixStream::connect(path).await?))
                }
                #[cfg(not(unix))]
                Host::Unix(_) => Err(io::Error::new(io::ErrorKind::Unsupported, "Unix sockets")),
            }
        };
        let r = match config.get_connect_timeout() {
            Some(t) => tokio::time::timeout(*t, attempt)
                .await
                .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "connecting timed out"))),
            None => attempt.await,
        };
        match r {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// A watched connection's driver, to be polled (or spawned) for the client to work.
pub type Driver = tokio_postgres::Connection<Watched<Socket>, tokio_postgres::tls::NoTlsStream>;

/// Opens one watched connection (not driven yet).
pub async fn open_raw(config: &Config, limit: Duration) -> Result<(Client, Driver), tokio_postgres::Error> {
    let socket = open(config, limit).await.unwrap_or_else(|e| Socket::Failed(Some(e)));
    config.connect_raw(Watched::new(socket, limit), NoTls).await
}

/// Opens one watched connection and spawns its driver.
pub async fn connect(
    config: &Config,
    limit: Duration,
) -> Result<(Client, tokio::task::JoinHandle<()>), tokio_postgres::Error> {
    let (client, connection) = open_raw(config, limit).await?;
    let task = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "a database connection closed");
        }
    });
    Ok((client, task))
}

/// The pool's way of opening connections: watched ones.
pub struct WatchedConnect {
    /// The silence limit of every connection.
    pub limit: Duration,
}

impl Connect for WatchedConnect {
    fn connect(
        &self,
        pg_config: &Config,
    ) -> Pin<
        Box<
            dyn Future<Output = Result<(Client, tokio::task::JoinHandle<()>), tokio_postgres::Error>>
                + Send
                + '_,
        >,
    > {
        let config = pg_config.clone();
        let limit = self.limit;
        Box::pin(async move { connect(&config, limit).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![kind];
        v.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn framing_finds_messages_split_anywhere() {
        let mut stream = Vec::new();
        // Start-up: length 8, protocol 3.0.
        stream.extend_from_slice(&8u32.to_be_bytes());
        stream.extend_from_slice(&196_608u32.to_be_bytes());
        stream.extend(msg(b'P', b"SELECT 1\0\0\0"));
        stream.extend(msg(b'S', b""));
        stream.extend(msg(b'Q', b"BEGIN\0"));
        for cut in 1..stream.len() {
            let mut f = Framing::new(true);
            let mut kinds = Vec::new();
            for chunk in stream.chunks(cut) {
                f.feed(chunk, |k| kinds.push(k));
            }
            assert_eq!(kinds, vec![0, b'P', b'S', b'Q'], "chunks of {cut}");
        }
    }

    /// A `COPY … FROM STDIN` as the driver runs it: Bind, Execute and Sync, the server's
    /// CopyInResponse, the data, CopyDone and Sync, then one ReadyForQuery. The Sync sent with
    /// the Execute is ignored by the server, so the connection is idle again afterwards.
    #[tokio::test(start_paused = true)]
    async fn a_copy_in_leaves_nothing_owed() {
        let mut w = Watched::new(tokio::io::empty(), Duration::from_secs(1));
        w.sent.untyped = false;
        w.after_write(&[msg(b'B', b"\0\0\0\0\0\0\0"), msg(b'E', b"\0\0\0\0\0"), msg(b'S', b"")].concat());
        assert_eq!(w.open, 1);
        w.after_read(&[msg(b'2', b""), msg(b'G', b"\x01\0\0")].concat());
        w.after_write(
            &[msg(b'd', b"row 1\n"), msg(b'd', b"row 2\n"), msg(b'c', b""), msg(b'S', b"")].concat(),
        );
        assert!(w.waiting());
        w.after_read(&[msg(b'C', b"COPY 2\0"), msg(b'Z', b"T")].concat());
        assert!(!w.waiting(), "{} open", w.open);
        // An ordinary exchange afterwards counts as before.
        w.after_write(&[msg(b'B', b"\0\0\0\0\0\0\0"), msg(b'E', b"\0\0\0\0\0"), msg(b'S', b"")].concat());
        w.after_read(&[msg(b'2', b""), msg(b'C', b"SELECT 1\0"), msg(b'Z', b"I")].concat());
        assert!(!w.waiting());
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_server_fails_the_read_and_an_idle_one_does_not() {
        let limit = Duration::from_millis(500);
        let (client, mut server) = tokio::io::duplex(1 << 16);
        let mut w = Watched::new(client, limit);
        let mut buf = [0u8; 64];
        // The start-up message, answered with ReadyForQuery.
        w.write_all(&[8u32.to_be_bytes(), 196_608u32.to_be_bytes()].concat()).await.unwrap();
        let mut startup = [0u8; 8];
        server.read_exact(&mut startup).await.unwrap();
        server.write_all(&[msg(b'R', &[0, 0, 0, 0]), msg(b'Z', b"I")].concat()).await.unwrap();
        let mut got = 0;
        while got < 15 {
            got += w.read(&mut buf).await.unwrap();
        }
        // Idle: nothing owed, no time-out however long the wait.
        assert!(tokio::time::timeout(Duration::from_secs(5), w.read(&mut buf)).await.is_err());
        // A query sent and answered in time, in pieces.
        w.write_all(&msg(b'Q', b"SELECT 1\0")).await.unwrap();
        let mut sent = vec![0u8; 14];
        server.read_exact(&mut sent).await.unwrap();
        let answer = [msg(b'C', b"SELECT 1\0"), msg(b'Z', b"I")].concat();
        server.write_all(&answer[..7]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(w.read(&mut buf).await.unwrap() > 0);
        tokio::time::sleep(Duration::from_millis(400)).await;
        server.write_all(&answer[7..]).await.unwrap();
        let mut got = 7;
        while got < answer.len() {
            got += w.read(&mut buf).await.unwrap();
        }
        // Answered: idle again.
        assert!(tokio::time::timeout(Duration::from_secs(5), w.read(&mut buf)).await.is_err());
        // A Sync nobody answers: the read fails once the limit has passed.
        w.write_all(&[msg(b'P', b"\0SELECT 2\0\0\0"), msg(b'S', b"")].concat()).await.unwrap();
        let t0 = Instant::now();
        let e = w.read(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        let waited = t0.elapsed();
        assert!(waited >= limit && waited < limit + Duration::from_millis(50), "{waited:?}");
    }
}
