//! Statistics switched off (`sluicegate::stats::set_enabled(false)`): streams made afterwards
//! count nothing and say so. A test binary of its own, as the switch is process-wide.

use bytes::Bytes;
use sluicegate::stats::{self, Phase};
use sluicegate::writable::{SinkFn, WritableStream};
use sluicegate::{PipeOptions, ReadableStream, TransformStream};

#[test]
fn streams_made_with_statistics_off_count_nothing() {
    futures::executor::block_on(async {
        let before = ReadableStream::from_iter([Bytes::from_static(b"abc")]);
        stats::set_enabled(false);
        assert!(!stats::enabled());
        let source = ReadableStream::from_iter([Bytes::from_static(b"abc"), Bytes::from_static(b"de")]);
        let t = TransformStream::<Bytes, Bytes>::identity();
        let sink = WritableStream::new(SinkFn::new().write(|_: Bytes, _| {})).unwrap();
        source
            .pipe_through(&t, PipeOptions::default())
            .unwrap()
            .pipe_to(&sink, PipeOptions::default())
            .await
            .unwrap();
        for s in [
            source.stats(),
            sink.stats(),
            t.readable().stats(),
            t.writable().stats(),
        ] {
            assert!(!s.enabled);
            assert_eq!((s.chunks_in, s.chunks_out, s.bytes_in, s.bytes_out), (0, 0, 0, 0));
            assert_eq!(s.phase, Phase::Idle);
        }
        // The pipeline view still finds the stages.
        assert_eq!(sink.pipeline_stats().stages.len(), 3);

        // A stream made before the switch keeps counting; switching back on applies to new ones.
        let reader = before.get_reader().unwrap();
        reader.read().await.unwrap().unwrap();
        assert_eq!(before.stats().chunks_out, 1);
        stats::set_enabled(true);
        let after = ReadableStream::from_iter([Bytes::from_static(b"abc")]);
        let reader = after.get_reader().unwrap();
        reader.read().await.unwrap().unwrap();
        assert_eq!(after.stats().bytes_out, 3);
    });
}
