//! The HTTP server, assembled from actix's parts the way actix-web's `HttpServer` assembles it,
//! with one step added: each connection's bytes pass the request-head guard
//! (`http::request_head`) before the HTTP/1.1 parser.

use std::net::SocketAddr;

use actix_service::{fn_service, map_config, IntoServiceFactory, ServiceFactoryExt};
use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::App;

use crate::http::request_head::HeadGuard;

/// Seconds a graceful stop waits for requests in flight.
const SHUTDOWN_SECONDS_MAX: u64 = 10;
/// Connections waiting to be accepted at most (actix-web's HttpServer uses the same).
const LISTEN_BACKLOG_CONNECTIONS: i32 = 1024;

/// A listening socket as actix-web's HttpServer makes one: address reuse, a deep backlog.
pub fn listen(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG_CONNECTIONS)?;
    Ok(socket.into())
}

/// Serves the application `app` builds (once per worker) on `listener`.
pub fn serve<F, T, B>(
    listener: std::net::TcpListener,
    addr: SocketAddr,
    workers: usize,
    app: F,
) -> Result<Server, String>
where
    F: Fn() -> App<T> + Send + Clone + 'static,
    T: ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: MessageBody + 'static,
{
    let builder = actix_server::Server::build();
    let shutdown = builder.graceful_shutdown_signal();
    let server = builder
        .workers(workers)
        .shutdown_timeout(SHUTDOWN_SECONDS_MAX)
        .listen("moralbank", listener, move || {
            let shutdown = shutdown.clone();
            let app = app()
                .into_factory()
                .map_err(|e: actix_web::Error| e.error_response());
            let http = actix_http::HttpService::build()
                // Idle keep-alive connections close at once on a graceful stop, as HttpServer's.
                .graceful_shutdown_signal(move || {
                    let shutdown = shutdown.clone();
                    async move { shutdown.notified().await }
                })
                .keep_alive(actix_http::KeepAlive::default())
                // The guard times request heads itself, so that a slow one is answered with
                // problem+json instead of actix's bare 408.
                .client_request_timeout(std::time::Duration::ZERO)
                .client_disconnect_timeout(std::time::Duration::from_secs(1))
                .h1_allow_half_closed(true)
                .local_addr(addr)
                // The application never builds URLs, so the default host and address suffice.
                .h1(map_config(app, |_| actix_web::dev::AppConfig::default()));
            fn_service(|io: actix_web::rt::net::TcpStream| {
                let peer = io.peer_addr().ok();
                std::future::ready(Ok::<_, actix_http::error::DispatchError>((
                    HeadGuard::new(io),
                    peer,
                )))
            })
            .and_then(http)
        })
        .map_err(|e| format!("cannot serve on {addr}: {e}"))?
        .run();
    Ok(server)
}
