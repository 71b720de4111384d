//! An HTTP server that streams every `POST /upper` body through an upper-casing transform back
//! into its response, with bounded memory whatever the size of the upload.
//!
//! ```sh
//! cargo run --release -p sluicegate-http --example server -- 127.0.0.1:3000
//! cargo run --release -p sluicegate-http --example client -- --addr 127.0.0.1:3000 --mib 4096
//! ```
//!
//! Each request prints how much went through and the server's peak RSS so far.

mod support;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_string());
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("server: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("server: listening on http://{}", listener.local_addr().unwrap());
    support::serve(listener).await;
}
