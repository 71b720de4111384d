//! The upload server end to end over loopback: digests of small uploads, 413 with and without a
//! Content-Length, a client that disconnects mid-upload, and the buffering mode. Each test runs
//! on a multi-thread runtime under a deadline.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sluicegate_upload::{load, serve, Config, Mode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const DEADLINE: Duration = Duration::from_secs(60);

fn dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("upload-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Runs `test` against a server on a fresh port, on a multi-thread runtime, within the deadline.
fn with_server<F, Fut>(name: &str, max_body: u64, mode: Mode, test: F)
where
    F: FnOnce(SocketAddr, PathBuf) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let d = dir(name);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let config = Arc::new(Config {
            dir: d.clone(),
            max_body,
            mode,
        });
        let server = tokio::spawn(serve(listener, config));
        tokio::time::timeout(DEADLINE, test(addr, d.clone()))
            .await
            .expect("the test finished before its deadline");
        server.abort();
    });
}

async fn raw_exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn small_uploads_are_answered_with_their_digest_and_stored_whole() {
    with_server("digest", 1 << 30, Mode::Stream, |addr, d| async move {
        for size in [0u64, 1, 1000, 65_536, 300_001] {
            let answer = load::upload(addr, format!("/file-{size}.bin"), size)
                .await
                .unwrap();
            assert_eq!(answer, format!("{}\n", load::expected_digest(size)));
            let stored = std::fs::read(d.join(format!("file-{size}.bin"))).unwrap();
            assert_eq!(stored.len() as u64, size);
            use sha2::Digest;
            let hex: String = sha2::Sha256::digest(&stored)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(hex, load::expected_digest(size));
        }
        // Concurrent uploads, each checked by the load generator.
        let result = load::run(addr, 4, 200_000).await;
        assert!(result.failures.is_empty(), "{:?}", result.failures);
        assert_eq!(result.bytes, 800_000);
        // Nothing partial is left behind.
        assert!(files(&d).iter().all(|f| !f.starts_with('.')), "{:?}", files(&d));
        // Only the last segment names the file: nothing lands outside the directory.
        let answer = load::upload(addr, "/../escape".to_string(), 10).await.unwrap();
        assert_eq!(answer.trim_end(), load::expected_digest(10));
        assert!(!d.parent().unwrap().join("escape").exists());
        // A name that is not a plain file name (hidden, empty) is replaced.
        for path in ["/.hidden", "/"] {
            load::upload(addr, path.to_string(), 10).await.unwrap();
        }
        assert!(!files(&d).contains(&".hidden".to_string()));
        assert_eq!(files(&d).iter().filter(|f| f.starts_with("upload-")).count(), 2);
    });
}

#[test]
fn a_declared_length_over_the_limit_is_refused_before_the_body_is_read() {
    with_server("413-declared", 1000, Mode::Stream, |addr, d| async move {
        // Headers only: the server must answer without waiting for the 1 GB it was promised.
        let answer = raw_exchange(
            addr,
            b"POST /big HTTP/1.1\r\nhost: x\r\ncontent-length: 1000000000\r\n\r\n",
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(files(&d).is_empty(), "{:?}", files(&d));
        // At the limit is fine.
        let answer = load::upload(addr, "/ok".to_string(), 1000).await.unwrap();
        assert_eq!(answer.trim_end(), load::expected_digest(1000));
        let err = load::upload(addr, "/too-big".to_string(), 1001)
            .await
            .unwrap_err();
        assert!(err.starts_with("status 413"), "{err}");
        assert_eq!(files(&d), ["ok"]);
    });
}

#[test]
fn a_chunked_body_over_the_limit_is_refused_and_its_partial_file_removed() {
    for mode in [Mode::Stream, Mode::Buffer] {
        with_server(
            &format!("413-chunked-{mode:?}"),
            100_000,
            mode,
            |addr, d| async move {
                let mut request =
                    b"POST /chunked HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
                for _ in 0..20 {
                    request.extend_from_slice(format!("{:x}\r\n", 10_000).as_bytes());
                    request.extend_from_slice(&[b'a'; 10_000]);
                    request.extend_from_slice(b"\r\n");
                }
                request.extend_from_slice(b"0\r\n\r\n");
                let answer = raw_exchange(addr, &request).await;
                assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
                assert!(files(&d).is_empty(), "{:?}", files(&d));
            },
        );
    }
}

#[test]
fn a_client_that_disconnects_mid_upload_leaves_no_file() {
    for mode in [Mode::Stream, Mode::Buffer] {
        with_server(
            &format!("disconnect-{mode:?}"),
            1 << 30,
            mode,
            |addr, d| async move {
                let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
                conn.write_all(b"POST /half HTTP/1.1\r\nhost: x\r\ncontent-length: 10000000\r\n\r\n")
                    .await
                    .unwrap();
                conn.write_all(&vec![b'x'; 3_000_000]).await.unwrap();
                conn.flush().await.unwrap();
                // Let the server take some of it (so a partial file exists), then vanish.
                tokio::time::sleep(Duration::from_millis(200)).await;
                drop(conn);
                // The partial file goes as soon as the server sees the disconnect; poll for it.
                loop {
                    let left = files(&d);
                    assert!(
                        !left.contains(&"half".to_string()),
                        "a complete-looking file: {left:?}"
                    );
                    if left.is_empty() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                // The server still serves.
                let answer = load::upload(addr, "/after".to_string(), 5000).await.unwrap();
                assert_eq!(answer.trim_end(), load::expected_digest(5000));
            },
        );
    }
}

#[test]
fn the_buffering_server_answers_the_same_digests() {
    with_server("buffer", 1 << 30, Mode::Buffer, |addr, d| async move {
        let result = load::run(addr, 3, 333_333).await;
        assert!(result.failures.is_empty(), "{:?}", result.failures);
        assert_eq!(files(&d), ["load-0", "load-1", "load-2"]);
    });
}
