use super::*;
use hyper::body::Incoming;
use hyper::service::service_fn;
use std::convert::Infallible;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Serves `handle` on a free loopback port, with upgrades, and returns the address.
async fn serve<F, Fut>(handle: F) -> std::net::SocketAddr
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Full<Bytes>>> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let handle = handle.clone();
            tokio::spawn(async move {
                let service = service_fn(move |r| {
                    let handle = handle.clone();
                    async move { Ok::<_, Infallible>(handle(r).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    address
}

/// A runtime stand-in: switches to `echo` and echoes bytes, unless the upgrade asked for is
/// not `echo`, which it refuses with 400.
async fn echo_backend(mut request: Request<Incoming>) -> Response<Full<Bytes>> {
    if request.headers().get(header::UPGRADE).map(|v| v.as_bytes()) != Some(b"echo") {
        return Response::builder()
            .status(400)
            .body(Full::new(Bytes::from("no such protocol")))
            .unwrap();
    }
    assert_eq!(request.uri().path(), "/exec/token");
    assert!(
        request.headers().get(header::AUTHORIZATION).is_none(),
        "credentials leaked to the next hop"
    );
    let upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let mut io = TokioIo::new(upgrade.await.unwrap());
        let mut buffer = [0u8; 64];
        loop {
            let n = io.read(&mut buffer).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            io.write_all(&buffer[..n]).await.unwrap();
        }
    });
    Response::builder()
        .status(101)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "echo")
        .header("X-Stream-Protocol-Version", "echo.v1")
        .body(Full::new(Bytes::new()))
        .unwrap()
}

async fn front(backend: std::net::SocketAddr) -> std::net::SocketAddr {
    serve(move |mut request: Request<Incoming>| async move {
        let target: Uri = format!("http://{backend}/exec/token").parse().unwrap();
        proxy_upgrade(&mut request, &target).await.unwrap()
    })
    .await
}

async fn ask(front: std::net::SocketAddr, protocol: &str) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(front).await.unwrap();
    let head = format!(
        "POST /api/v1/namespaces/default/pods/p/exec HTTP/1.1\r\nHost: front\r\nAuthorization: Bearer secret\r\nConnection: Upgrade\r\nUpgrade: {protocol}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut reply = Vec::new();
    let mut byte = [0u8; 1];
    while !reply.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await.unwrap();
        reply.push(byte[0]);
    }
    (stream, String::from_utf8(reply).unwrap())
}

#[tokio::test]
async fn an_accepted_upgrade_joins_both_connections() {
    let backend = serve(echo_backend).await;
    let front = front(backend).await;
    let (mut stream, head) = ask(front, "echo").await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("x-stream-protocol-version: echo.v1"),
        "{head}"
    );
    stream.write_all(b"ping").await.unwrap();
    let mut echoed = [0u8; 4];
    stream.read_exact(&mut echoed).await.unwrap();
    assert_eq!(&echoed, b"ping");
}

#[tokio::test]
async fn a_refused_upgrade_is_passed_back_unchanged() {
    let backend = serve(echo_backend).await;
    let front = front(backend).await;
    let (mut stream, head) = ask(front, "websocket").await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    let mut body = vec![0u8; "no such protocol".len()];
    stream.read_exact(&mut body).await.unwrap();
    assert_eq!(body, b"no such protocol");
}
