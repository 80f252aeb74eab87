//! Times the ordering stage alone (no tables): a profiling aid.
use gotrace_core::intern::Interner;
use gotrace_core::order::{Event, Reader, Sink};
use gotrace_core::wire::Generation;
use gotrace_core::TraceError;

struct Count(u64);
impl Sink for Count {
    fn sync(&mut self, _: i64, _: u64, _: Option<&mut Generation<'_>>, _: &mut Interner) {
        self.0 += 1;
    }
    fn event(&mut self, _: &Event, _: &mut Generation<'_>, _: &mut Interner) -> Result<(), TraceError> {
        self.0 += 1;
        Ok(())
    }
    fn full(&self) -> bool {
        false
    }
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: order_only FILE");
    let data = std::fs::read(&path).expect("read");
    let v = gotrace_core::wire::read_header(&data).expect("header");
    let t = std::time::Instant::now();
    let mut r = Reader::new(&data, v);
    let mut c = Count(0);
    let err = r.run(&mut c, &mut |_| {});
    println!("{} events in {:.3}s err={:?}", c.0, t.elapsed().as_secs_f64(), err.map(|e| e.to_string()));
}
