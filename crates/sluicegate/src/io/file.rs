//! Files as byte streams.

use std::io;
use std::path::Path;

use bytes::Bytes;

use crate::readable::ReadableStream;
use crate::writable::WritableStream;

use super::DEFAULT_HIGH_WATER_MARK;

/// A writable stream of bytes into a new file at `path` (created, or truncated if it exists),
/// with a byte-length strategy of [`DEFAULT_HIGH_WATER_MARK`] bytes. Closing the stream flushes
/// the file and waits for the data to be handed to the operating system; a write error errors the
/// stream with the `io::Error` as its reason. Needs a tokio runtime (it uses `tokio::fs`).
///
/// ```
/// use bytes::Bytes;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let path = std::env::temp_dir().join(format!("sluicegate-doc-file-sink-{}", std::process::id()));
/// let sink = sluicegate::io::file_sink(&path).await.unwrap();
/// let writer = sink.get_writer().unwrap();
/// writer.write(Bytes::from_static(b"hello")).await.unwrap();
/// writer.close().await.unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"hello");
/// # std::fs::remove_file(&path).unwrap();
/// # });
/// ```
pub async fn file_sink(path: impl AsRef<Path>) -> io::Result<WritableStream<Bytes>> {
    file_sink_with_high_water_mark(path, DEFAULT_HIGH_WATER_MARK).await
}

/// Like [`file_sink`], with a high-water mark of `high_water_mark` bytes.
pub async fn file_sink_with_high_water_mark(
    path: impl AsRef<Path>,
    high_water_mark: usize,
) -> io::Result<WritableStream<Bytes>> {
    let file = tokio::fs::File::create(path).await?;
    Ok(WritableStream::from_async_write_with_high_water_mark(
        file,
        high_water_mark,
    ))
}

/// A readable byte stream of the file at `path`, read `chunk_size` bytes at a time (at least 1)
/// into 4096-byte-aligned buffers, with nothing read ahead (high-water mark 0): a BYOB read is
/// filled straight from the file into the caller's buffer. See
/// [`ReadableStream::from_async_read`]. Needs a tokio runtime (it uses `tokio::fs`).
///
/// `tokio::fs` runs every read on its blocking thread pool, so the chunk size sets how many trips
/// a file costs: copying a 1 GiB file (`sluicegate-bench -- bytes-io`) runs about twice as fast
/// with 256 KiB chunks as with 64 KiB ones, for a few hundred KiB more memory.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let path = std::env::temp_dir().join(format!("sluicegate-doc-file-source-{}", std::process::id()));
/// std::fs::write(&path, b"hello, file").unwrap();
/// let source = sluicegate::io::file_source(&path, 64 * 1024).await.unwrap();
/// let reader = source.get_reader().unwrap();
/// let chunk = reader.read().await.unwrap().unwrap();
/// assert_eq!(&chunk[..], b"hello, file");
/// assert_eq!(chunk.as_ptr() as usize % 4096, 0, "an aligned buffer, moved to the reader");
/// assert!(reader.read().await.unwrap().is_none());
/// # std::fs::remove_file(&path).unwrap();
/// # });
/// ```
pub async fn file_source(path: impl AsRef<Path>, chunk_size: usize) -> io::Result<ReadableStream<Bytes>> {
    let file = tokio::fs::File::open(path).await?;
    Ok(ReadableStream::from_async_read_with(file, chunk_size, 0))
}
