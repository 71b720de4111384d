//! libFuzzer entry point of the byte controller target (see `sluicegate_fuzz::byte_controller`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sluicegate_fuzz::byte_controller::run(data);
});
