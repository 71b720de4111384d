//! `sluicegate-bench`: see the library's documentation, or run with `--help`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Issue 3's comparison (`bytes-io`) and its children (`child io-*`).
    if let Some(code) = sluicegate_bench::io_copy::dispatch(&args) {
        std::process::exit(code);
    }
    if let Some(code) = sluicegate_bench::transforms::dispatch(&args) {
        std::process::exit(code);
    }
    if args.first().map(String::as_str) == Some("child") {
        if let Err(e) = sluicegate_bench::child(&args[1..]) {
            eprintln!("sluicegate-bench child: {e}");
            std::process::exit(1);
        }
        return;
    }
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{}", sluicegate_bench::USAGE);
        return;
    }
    let opts = match sluicegate_bench::Options::parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let command = format!("cargo run --release -p sluicegate-bench -- {}", args.join(" "));
    print!("{}", sluicegate_bench::run(&opts, &command));
}
