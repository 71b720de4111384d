//! Replays fuzzer inputs without libFuzzer, printing what each stands for: the byte
//! controller's program or the JS target's script. For reading a crash:
//!
//! ```text
//! cargo run -p sluicegate-fuzz --example replay -- byte_controller target/fuzz/artifacts/byte_controller/crash-…
//! ```

fn main() {
    let mut args = std::env::args().skip(1);
    let target = args.next().unwrap_or_default();
    let files: Vec<String> = args.collect();
    if files.is_empty() || !matches!(target.as_str(), "byte_controller" | "js_binding") {
        eprintln!("usage: replay byte_controller|js_binding FILE...");
        std::process::exit(2);
    }
    for file in files {
        let data = match std::fs::read(&file) {
            Ok(data) => data,
            Err(e) => {
                eprintln!("{file}: {e}");
                std::process::exit(1);
            }
        };
        println!("== {file}");
        if target == "byte_controller" {
            println!("{:#?}", sluicegate_fuzz::byte_controller::program(&data));
            println!("{:?}", sluicegate_fuzz::byte_controller::run(&data));
        } else {
            println!("{}", sluicegate_fuzz::js_binding::script(&data));
            sluicegate_fuzz::js_binding::run(&data);
        }
    }
}
