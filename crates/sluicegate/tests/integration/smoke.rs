use sluicegate::readable::{ReadableStream, SourceFn};
use sluicegate::{Completion, StreamError};
use std::sync::{Arc, Mutex};

#[test]
fn async_pull_and_cancel() {
    futures::executor::block_on(async {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (l1, l2) = (log.clone(), log.clone());
        let mut n = 0;
        let s = ReadableStream::new(
            SourceFn::new()
                .pull(move |c| {
                    l1.lock().unwrap().push(format!("pull {n}"));
                    n += 1;
                    let c = c.clone();
                    let v = n;
                    Completion::future(async move { c.enqueue(v) })
                })
                .cancel(move |r: StreamError| {
                    l2.lock().unwrap().push(format!("cancel {}", r.message()));
                    Completion::ok()
                }),
        )
        .unwrap();
        let r = s.get_reader().unwrap();
        assert_eq!(r.read().await.unwrap(), Some(1));
        assert_eq!(r.read().await.unwrap(), Some(2));
        r.cancel(StreamError::user("bye")).await.unwrap();
        assert_eq!(r.read().await.unwrap(), None);
        let log = log.lock().unwrap().clone();
        assert_eq!(log[..2], ["pull 0", "pull 1"]);
        assert_eq!(log.last().unwrap(), "cancel \"bye\"");
    });
}

use crate::common;

#[test]
fn virtual_time_executor_runs_timer_driven_sources() {
    let got = common::run(async {
        let s = ReadableStream::new(SourceFn::new().pull(|c| {
            let c = c.clone();
            Completion::future(async move {
                common::sleep(100).await;
                c.enqueue(common::now())
            })
        }))
        .unwrap();
        let r = s.get_reader().unwrap();
        let a = r.read().await.unwrap();
        let b = r.read().await.unwrap();
        (a, b)
    });
    assert_eq!(got, (Some(100), Some(200)));
}
