//! Parses trace files and prints the row count of every table.
//! Usage: cargo run --release -p gotrace-core --example stats -- FILE...
use std::time::Instant;

fn main() {
    for path in std::env::args().skip(1) {
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{path}: {e}");
                continue;
            }
        };
        let t = Instant::now();
        match gotrace_core::parse(&data, gotrace_core::ParseOptions::default()) {
            Ok(p) => {
                let rows: Vec<String> = p
                    .tables
                    .iter()
                    .map(|(n, b)| format!("{n}={}", b.iter().map(|b| b.num_rows()).sum::<usize>()))
                    .collect();
                let tail = p.tail_error.map(|e| format!(" tail_error: {e}")).unwrap_or_default();
                println!(
                    "{path}: go1.{} gens={} {:.3}s {}{tail}",
                    p.version,
                    p.generations,
                    t.elapsed().as_secs_f64(),
                    rows.join(" ")
                );
            }
            Err(e) => println!("{path}: ERROR {e}"),
        }
    }
}
