//! Helpers shared by the integration tests.
#![allow(dead_code)]

use futures::StreamExt;
use sluicegate::{PipeOptions, ReadableStream, StreamError, TransformStream};

/// Pipes `chunks` through `t` and collects what comes out, or the first error.
pub fn run<I: Send + 'static, O: Send + 'static>(
    t: &TransformStream<I, O>,
    chunks: Vec<I>,
) -> Result<Vec<O>, StreamError> {
    futures::executor::block_on(async {
        let out = ReadableStream::from_iter(chunks)
            .pipe_through(t, PipeOptions::default())
            .unwrap();
        let mut values = out.values().unwrap();
        let mut got = Vec::new();
        while let Some(v) = values.next().await {
            got.push(v?);
        }
        Ok(got)
    })
}

/// Cuts `data` at the given fractions of its length (each in 0..=1000, per mille).
pub fn cut(data: &[u8], cuts: &[u16]) -> Vec<bytes::Bytes> {
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|c| data.len() * (*c as usize).min(1000) / 1000)
        .collect();
    points.push(0);
    points.push(data.len());
    points.sort_unstable();
    points
        .windows(2)
        .map(|w| bytes::Bytes::copy_from_slice(&data[w[0]..w[1]]))
        .collect()
}
