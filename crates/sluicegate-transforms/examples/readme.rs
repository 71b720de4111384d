use bytes::Bytes;
use futures::StreamExt;
use sluicegate::{PipeOptions, ReadableStream};
use sluicegate_transforms::compression::{compress, decompress, Format};
use sluicegate_transforms::hash::{tap, Algorithm};
use sluicegate_transforms::lines::lines;

pub fn main() {
    futures::executor::block_on(async {
        let log = Bytes::from("GET /a 200\r\nGET /b 404\r\nGET /c 200\r\n".repeat(1000));
        // gzip on the way out, then back: gunzip, hash what comes out, split it into lines.
        let (sha256, digest) = tap(Algorithm::Sha256);
        let errors = ReadableStream::from_iter([log.clone()])
            .pipe_through(&compress(Format::Gzip).unwrap(), PipeOptions::default())
            .unwrap()
            .pipe_through(&decompress(Format::Gzip).unwrap(), PipeOptions::default())
            .unwrap()
            .pipe_through(&sha256, PipeOptions::default())
            .unwrap()
            .pipe_through(&lines(64 * 1024), PipeOptions::default())
            .unwrap()
            .values()
            .unwrap()
            .filter(|line| std::future::ready(line.as_ref().unwrap().ends_with("404")))
            .count()
            .await;
        assert_eq!(errors, 1000);
        println!("{errors} not found; sha256 {}", digest.await.unwrap());
    });
}
