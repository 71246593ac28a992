//! A guard in front of the HTTP/1.1 parser, on each connection's bytes.
//!
//! actix-http answers a request head it cannot parse — a bad request line, a bad header, a head
//! that is too large or too slow — with a bare 400, 431 or 408 straight from its connection
//! dispatcher: no body, no middleware, nothing the application can change. And its URI parser
//! refuses raw UTF-8 in the target, which is exactly what `curl "$B/members?q=王"` sends.
//!
//! So this guard reads each request head before actix does. It percent-encodes bytes of 0x80 and
//! above in the request line (raw UTF-8 then reads exactly like its percent-encoding), and it
//! checks the head the way actix would. A head actix would refuse is not passed on: in its place
//! the guard hands actix one synthetic request for [`REFUSAL_PATH`], marked with a token only this
//! process knows, and then the end of the input. The application answers that request like any
//! other — problem+json, security headers, the request log — and the connection closes.
//!
//! To find where each head begins, the guard follows the framing of what comes after it
//! (Content-Length or chunked bodies), passing body bytes through unchanged. What it does not
//! follow (an upgrade, a chunk line it cannot read) it passes through untouched for the rest of
//! the connection, which is what actix saw before this guard existed.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Largest request head accepted, in bytes (request line and headers).
pub const REQUEST_HEAD_BYTES_MAX: usize = 64 * 1024;
/// Most headers one request may carry (actix-http's own limit).
pub const REQUEST_HEADERS_MAX: usize = 96;
/// How long a request head may take to arrive: the first from the moment the connection opens,
/// later ones from their first byte.
pub const REQUEST_HEAD_SECONDS_MAX: u64 = 5;
/// Bytes of an oversized head read and dropped before answering, so the answer is not lost to a
/// connection reset (closing a socket with unread input resets it).
const OVERSIZED_HEAD_DRAIN_BYTES_MAX: usize = 1024 * 1024;
/// Longest chunk-size or trailer line followed; longer ones are passed through untouched.
const CHUNK_LINE_BYTES_MAX: usize = 4 * 1024;
/// Bytes read from the socket at a time.
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// The path of the synthetic request that stands for a refused head.
pub const REFUSAL_PATH: &str = "/.moralbank/refused-request";
/// The header of the synthetic request: `<token> <reason>`.
pub const REFUSAL_HEADER: &str = "x-moralbank-refused";

/// Why a request head was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The request line: method, target (not a valid URI) or version.
    RequestLine,
    /// A header line.
    Header,
    /// Content-Length, Transfer-Encoding or Host missing, repeated or contradictory.
    Framing,
    /// More than [`REQUEST_HEAD_BYTES_MAX`] bytes or [`REQUEST_HEADERS_MAX`] headers.
    TooLarge,
    /// Not complete within [`REQUEST_HEAD_SECONDS_MAX`].
    Timeout,
}

impl Refusal {
    const ALL: [Refusal; 5] = [
        Refusal::RequestLine,
        Refusal::Header,
        Refusal::Framing,
        Refusal::TooLarge,
        Refusal::Timeout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::RequestLine => "request-line",
            Refusal::Header => "header",
            Refusal::Framing => "framing",
            Refusal::TooLarge => "too-large",
            Refusal::Timeout => "timeout",
        }
    }

    /// The refusal a synthetic request's header names, when the header carries this process's
    /// token; `None` for anything a client could have sent.
    pub fn from_header(value: &str) -> Option<Refusal> {
        let (token, reason) = value.split_once(' ')?;
        if !constant_time_eq(token.as_bytes(), refusal_token().as_bytes()) {
            return None;
        }
        Refusal::ALL.into_iter().find(|r| r.as_str() == reason)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// A random token, made once per process, that marks the guard's synthetic requests: a client
/// cannot forge one to get a misleading answer.
fn refusal_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| {
        use rand::RngCore;
        let mut bytes = [0_u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        hex::encode(bytes)
    })
}

fn synthetic_head(refusal: Refusal) -> Vec<u8> {
    format!(
        "GET {REFUSAL_PATH} HTTP/1.1\r\nhost: moralbank\r\nconnection: close\r\n{REFUSAL_HEADER}: {} {}\r\n\r\n",
        refusal_token(),
        refusal.as_str()
    )
    .into_bytes()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// A request head is expected; it accumulates in `held`.
    Head,
    /// Bytes of a Content-Length body still to pass.
    Body(u64),
    /// A chunk-size line is expected.
    ChunkLine,
    /// Bytes of a chunk still to pass.
    ChunkData(u64),
    /// The line end after a chunk's data.
    ChunkEnd,
    /// Trailer lines until an empty one.
    Trailers,
    /// An oversized head is being dropped until its end.
    Draining { drained: usize },
    /// Everything passes untouched from here on.
    Passthrough,
    /// A synthetic request was handed over; the input reads as ended.
    Refused,
}

/// What a complete, acceptable head says about what follows it.
enum Framing {
    None,
    Length(u64),
    Chunked,
    /// An upgrade (or CONNECT): what follows is not HTTP/1.1 requests.
    Stream,
}

/// A connection's stream with its request heads checked; see the module documentation.
pub struct HeadGuard<T> {
    io: T,
    /// Bytes checked and ready for actix, from `ready_at` on.
    ready: Vec<u8>,
    ready_at: usize,
    /// Bytes read but not checked yet: a head, chunk line or trailer line still incomplete.
    held: Vec<u8>,
    /// How far `held` was searched for the end of a head.
    scanned: usize,
    state: State,
    /// When the head being read must be complete.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    input_ended: bool,
}

impl<T> HeadGuard<T> {
    pub fn new(io: T) -> HeadGuard<T> {
        HeadGuard {
            io,
            ready: Vec::new(),
            ready_at: 0,
            held: Vec::new(),
            scanned: 0,
            state: State::Head,
            deadline: Some(head_deadline()),
            input_ended: false,
        }
    }

    fn refuse(&mut self, refusal: Refusal) {
        tracing::debug!(reason = refusal.as_str(), "refused a request head");
        self.ready.extend_from_slice(&synthetic_head(refusal));
        self.held.clear();
        self.state = State::Refused;
        self.deadline = None;
    }

    /// Moves `n` bytes from the front of `held` to `ready`.
    fn pass(&mut self, n: usize) {
        self.ready.extend_from_slice(&self.held[..n]);
        self.held.drain(..n);
    }

    /// Checks what `held` holds as far as it can; returns whether anything moved.
    fn check(&mut self) -> bool {
        let mut moved = false;
        loop {
            let before = (self.held.len(), self.state);
            match self.state {
                State::Head => self.check_head(),
                State::Body(left) => {
                    let n = self
                        .held
                        .len()
                        .min(usize::try_from(left).unwrap_or(usize::MAX));
                    self.pass(n);
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        State::Head
                    } else {
                        State::Body(left)
                    };
                }
                State::ChunkLine => self.check_chunk_line(),
                State::ChunkData(left) => {
                    let n = self
                        .held
                        .len()
                        .min(usize::try_from(left).unwrap_or(usize::MAX));
                    self.pass(n);
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        State::ChunkEnd
                    } else {
                        State::ChunkData(left)
                    };
                }
                State::ChunkEnd => {
                    if self.held.starts_with(b"\r\n") {
                        self.pass(2);
                        self.state = State::ChunkLine;
                    } else if self.held.starts_with(b"\n") {
                        self.pass(1);
                        self.state = State::ChunkLine;
                    } else if self.held.len() >= 2 || self.held.first().is_some_and(|b| *b != b'\r')
                    {
                        self.state = State::Passthrough;
                    }
                }
                State::Trailers => self.check_trailer_line(),
                State::Draining { drained } => self.drain_oversized_head(drained),
                State::Passthrough => {
                    let n = self.held.len();
                    self.pass(n);
                }
                State::Refused => self.held.clear(),
            }
            if (self.held.len(), self.state) == before {
                return moved;
            }
            moved = true;
        }
    }

    fn check_head(&mut self) {
        // Empty lines before a request line are allowed (and skipped by the parser).
        let leading = self
            .held
            .iter()
            .take_while(|b| **b == b'\r' || **b == b'\n')
            .count();
        if leading > 0 {
            self.pass(leading);
            self.scanned = 0;
        }
        if self.held.is_empty() {
            return;
        }
        let Some(end) = head_end(&self.held, self.scanned) else {
            self.scanned = self.held.len().saturating_sub(3);
            if self.held.len() > REQUEST_HEAD_BYTES_MAX {
                // Its end may straddle this read and the next: keep the last bytes to search.
                let keep = self.held.len().min(3);
                let drained = self.held.len() - keep;
                self.held.drain(..drained);
                self.scanned = 0;
                self.state = State::Draining { drained };
            }
            return;
        };
        self.scanned = 0;
        if end > REQUEST_HEAD_BYTES_MAX {
            self.held.drain(..end);
            self.refuse(Refusal::TooLarge);
            return;
        }
        let head = percent_encode_request_line(&self.held[..end]);
        match checked_head(&head) {
            Ok(framing) => {
                self.ready.extend_from_slice(&head);
                self.held.drain(..end);
                self.deadline = None;
                self.state = match framing {
                    Framing::None => State::Head,
                    Framing::Length(n) => State::Body(n),
                    Framing::Chunked => State::ChunkLine,
                    Framing::Stream => State::Passthrough,
                };
            }
            Err(refusal) => {
                self.held.drain(..end);
                self.refuse(refusal);
            }
        }
    }

    fn check_chunk_line(&mut self) {
        let Some(newline) = self.held.iter().position(|b| *b == b'\n') else {
            if self.held.len() > CHUNK_LINE_BYTES_MAX {
                self.state = State::Passthrough;
            }
            return;
        };
        let line = &self.held[..newline];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let size = line.split(|b| *b == b';').next().unwrap_or_default();
        let size = std::str::from_utf8(size)
            .ok()
            .map(|s| s.trim_matches([' ', '\t']))
            .filter(|s| !s.is_empty() && s.len() <= 16)
            .and_then(|s| u64::from_str_radix(s, 16).ok());
        match size {
            Some(0) => {
                self.pass(newline + 1);
                self.state = State::Trailers;
            }
            Some(n) => {
                self.pass(newline + 1);
                self.state = State::ChunkData(n);
            }
            // actix will refuse this body; whatever follows is no longer ours to frame.
            None => self.state = State::Passthrough,
        }
    }

    fn check_trailer_line(&mut self) {
        let Some(newline) = self.held.iter().position(|b| *b == b'\n') else {
            if self.held.len() > CHUNK_LINE_BYTES_MAX {
                self.state = State::Passthrough;
            }
            return;
        };
        let empty = newline == 0 || (newline == 1 && self.held[0] == b'\r');
        self.pass(newline + 1);
        if empty {
            self.state = State::Head;
        }
    }

    fn drain_oversized_head(&mut self, drained: usize) {
        // The end of the head may straddle two reads: keep its last bytes to search again.
        let end = head_end(&self.held, 0);
        let drained = drained + end.unwrap_or(self.held.len().saturating_sub(3));
        if end.is_some() || drained > OVERSIZED_HEAD_DRAIN_BYTES_MAX {
            self.refuse(Refusal::TooLarge);
            return;
        }
        let keep = self.held.len().min(3);
        self.held.drain(..self.held.len() - keep);
        self.state = State::Draining { drained };
    }
}

fn head_deadline() -> Pin<Box<tokio::time::Sleep>> {
    Box::pin(tokio::time::sleep(Duration::from_secs(
        REQUEST_HEAD_SECONDS_MAX,
    )))
}

/// The length of the head at the start of `bytes` (through its empty line), searching from
/// `from`; the parser also accepts bare LF line ends, so this does too.
fn head_end(bytes: &[u8], from: usize) -> Option<usize> {
    let start = from.min(bytes.len());
    (start..bytes.len()).find_map(|i| {
        if bytes[i] != b'\n' {
            return None;
        }
        match bytes.get(i + 1) {
            Some(b'\n') => Some(i + 2),
            Some(b'\r') if bytes.get(i + 2) == Some(&b'\n') => Some(i + 3),
            _ => None,
        }
    })
}

/// The head with every byte of 0x80 and above in its request line written as `%XX`: raw UTF-8
/// (what curl sends for `?q=王`) then means what its percent-encoding means.
fn percent_encode_request_line(head: &[u8]) -> Vec<u8> {
    let line_end = head.iter().position(|b| *b == b'\n').unwrap_or(head.len());
    let mut out = Vec::with_capacity(head.len() + 16);
    for &byte in &head[..line_end] {
        if byte >= 0x80 {
            out.extend_from_slice(format!("%{byte:02X}").as_bytes());
        } else {
            out.push(byte);
        }
    }
    out.extend_from_slice(&head[line_end..]);
    out
}

/// Checks a complete head as actix-http would, and says how what follows it is framed.
fn checked_head(head: &[u8]) -> Result<Framing, Refusal> {
    let mut headers = [httparse::EMPTY_HEADER; REQUEST_HEADERS_MAX];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(Refusal::Header),
        Err(httparse::Error::TooManyHeaders) => return Err(Refusal::TooLarge),
        Err(httparse::Error::HeaderName | httparse::Error::HeaderValue) => {
            return Err(Refusal::Header)
        }
        Err(_) => return Err(Refusal::RequestLine),
    }
    let (Some(method), Some(path), Some(version)) = (request.method, request.path, request.version)
    else {
        return Err(Refusal::RequestLine);
    };
    if actix_web::http::Method::from_bytes(method.as_bytes()).is_err()
        || actix_web::http::Uri::try_from(path).is_err()
    {
        return Err(Refusal::RequestLine);
    }
    let http11 = version == 1;
    let mut length = None;
    let mut transfer_encoding = None;
    let mut hosts = 0;
    let mut upgrade = false;
    for header in request.headers.iter() {
        let value = std::str::from_utf8(header.value).map(str::trim);
        if header.name.eq_ignore_ascii_case("content-length") {
            let parsed = value
                .ok()
                .filter(|v| !v.starts_with('+'))
                .and_then(|v| v.parse::<u64>().ok());
            match (length, parsed) {
                (None, Some(n)) => length = Some(n),
                _ => return Err(Refusal::Framing),
            }
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            if transfer_encoding.is_some() {
                return Err(Refusal::Framing);
            }
            transfer_encoding = Some(value.unwrap_or_default().to_string());
        } else if header.name.eq_ignore_ascii_case("host") {
            hosts += 1;
        } else if header.name.eq_ignore_ascii_case("upgrade") {
            upgrade = true;
        }
    }
    if hosts > 1 || (http11 && hosts == 0) {
        return Err(Refusal::Framing);
    }
    if upgrade || method == "CONNECT" {
        return Ok(Framing::Stream);
    }
    if let Some(coding) = transfer_encoding {
        if !http11 || !coding.eq_ignore_ascii_case("chunked") || length.is_some() {
            return Err(Refusal::Framing);
        }
        return Ok(Framing::Chunked);
    }
    match length {
        // An HTTP/1.0 POST must say how long its body is.
        None if !http11 && method == "POST" => Err(Refusal::Framing),
        Some(0) | None => Ok(Framing::None),
        Some(n) => Ok(Framing::Length(n)),
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for HeadGuard<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            if this.ready_at < this.ready.len() {
                let n = buf.remaining().min(this.ready.len() - this.ready_at);
                buf.put_slice(&this.ready[this.ready_at..this.ready_at + n]);
                this.ready_at += n;
                if this.ready_at == this.ready.len() {
                    this.ready.clear();
                    this.ready_at = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.state == State::Refused {
                // The synthetic request is all there is: the input has ended.
                return Poll::Ready(Ok(()));
            }
            if this.state == State::Passthrough && this.held.is_empty() {
                return Pin::new(&mut this.io).poll_read(cx, buf);
            }
            if this.check() {
                continue;
            }
            if this.input_ended {
                // An incomplete head or body at the end: actix sees it as it is, then the end.
                if !this.held.is_empty() {
                    let n = this.held.len();
                    this.pass(n);
                    continue;
                }
                return Poll::Ready(Ok(()));
            }
            let waiting_for_head = matches!(this.state, State::Head | State::Draining { .. });
            if waiting_for_head {
                if this.deadline.is_none() && !this.held.is_empty() {
                    this.deadline = Some(head_deadline());
                }
                if let Some(deadline) = this.deadline.as_mut() {
                    if deadline.as_mut().poll(cx).is_ready() {
                        this.refuse(Refusal::Timeout);
                        continue;
                    }
                }
            }
            let mut chunk = [0_u8; READ_CHUNK_BYTES];
            let mut read = ReadBuf::new(&mut chunk);
            match Pin::new(&mut this.io).poll_read(cx, &mut read) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {
                    if read.filled().is_empty() {
                        this.input_ended = true;
                    } else {
                        this.held.extend_from_slice(read.filled());
                    }
                }
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for HeadGuard<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_utf8_in_the_request_line_is_percent_encoded_and_nothing_else_changes() {
        let head = "GET /m?q=王 HTTP/1.1\r\nX-Name: 王\r\n\r\n".as_bytes();
        let out = percent_encode_request_line(head);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "GET /m?q=%E7%8E%8B HTTP/1.1\r\nX-Name: 王\r\n\r\n"
        );
    }

    #[test]
    fn heads_end_at_their_empty_line_with_either_line_end() {
        assert_eq!(
            head_end(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nrest", 0),
            Some(27)
        );
        assert_eq!(head_end(b"GET / HTTP/1.1\nHost: x\n\nrest", 0), Some(24));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n", 0), None);
    }

    #[test]
    fn framing_follows_the_headers_and_refuses_what_actix_refuses() {
        let check = |head: &str| checked_head(head.as_bytes());
        assert!(matches!(
            check("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n"),
            Ok(Framing::Length(12))
        ));
        assert!(matches!(
            check("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n"),
            Ok(Framing::Chunked)
        ));
        assert!(matches!(
            check("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
            Ok(Framing::None)
        ));
        assert!(matches!(
            check("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n"),
            Ok(Framing::Stream)
        ));
        assert!(matches!(check("GET / HTTP/1.0\r\n\r\n"), Ok(Framing::None)));
        for (head, refusal) in [
            ("GET / HTTP/1.1\r\n\r\n", Refusal::Framing),
            ("GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", Refusal::Framing),
            (
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
                Refusal::Framing,
            ),
            (
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\n",
                Refusal::Framing,
            ),
            (
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                Refusal::Framing,
            ),
            (
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
                Refusal::Framing,
            ),
            ("POST / HTTP/1.0\r\n\r\n", Refusal::Framing),
            ("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", Refusal::RequestLine),
            ("GET / HTTP/1.1\r\nBad Header\r\n\r\n", Refusal::Header),
        ] {
            assert_eq!(check(head).err(), Some(refusal), "{head:?}");
        }
    }

    #[test]
    fn only_this_process_can_mark_a_refusal() {
        let head = String::from_utf8(synthetic_head(Refusal::TooLarge)).unwrap();
        let value = head
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{REFUSAL_HEADER}: ")))
            .unwrap();
        assert_eq!(Refusal::from_header(value), Some(Refusal::TooLarge));
        assert_eq!(Refusal::from_header("0000 too-large"), None);
        assert_eq!(
            Refusal::from_header(&format!("{} other", refusal_token())),
            None
        );
    }
}
