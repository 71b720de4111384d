//! libFuzzer entry point of the JS binding target (see `sluicegate_fuzz::js_binding`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluicegate_fuzz::js_binding::run(data));
