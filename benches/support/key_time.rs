//! Where a key's time goes: on a CPU doing modq's work, or waiting — in the kernel's run
//! queue for a CPU another process holds, or blocked. On this 2-core machine a platform under
//! test (Synapse's Python, Ozone's Node processes and their PostgreSQL) and any build run beside
//! modq; the wall clock alone cannot tell that apart from modq being slow. The turn of modq's
//! loop runs on the calling thread, so the calling thread's CPU clock across one key is the
//! work modq did for it, and its context switches say why the rest passed: involuntary ones are
//! the kernel handing the CPU to someone else, voluntary ones are modq waiting (a lock, a
//! sleep, I/O).

use std::time::{Duration, Instant};

/// One key: wall time, the calling thread's time on a CPU, and its context switches.
#[derive(Debug, Clone, Copy)]
pub struct KeySample {
    pub wall: Duration,
    pub on_cpu: Duration,
    /// Times the kernel took the CPU away (preempted).
    pub preempted: u64,
    /// Times the thread gave it up to wait for something.
    pub blocked: u64,
}

fn thread_cpu() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec for the call to write; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// (voluntary, involuntary) context switches of the calling thread so far; zeros where the
/// kernel does not say.
fn switches() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/thread-self/status").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    (
        field("voluntary_ctxt_switches:"),
        field("nonvoluntary_ctxt_switches:"),
    )
}

/// Time `key` (one turn of the loop, on this thread).
pub fn time_key(key: impl FnOnce()) -> KeySample {
    let (vol0, invol0) = switches();
    let cpu0 = thread_cpu();
    let started = Instant::now();
    key();
    let wall = started.elapsed();
    let on_cpu = thread_cpu().saturating_sub(cpu0);
    let (vol1, invol1) = switches();
    KeySample {
        wall,
        on_cpu,
        preempted: invol1.saturating_sub(invol0),
        blocked: vol1.saturating_sub(vol0),
    }
}

/// The samples of one run, summarised in one line.
#[derive(Debug, Default)]
pub struct KeyTimes(pub Vec<KeySample>);

impl KeyTimes {
    pub fn push(&mut self, sample: KeySample) {
        self.0.push(sample);
    }

    fn percentiles(&self, of: impl Fn(&KeySample) -> Duration) -> (f64, f64) {
        super::p50_p99(self.0.iter().map(of).collect())
    }

    /// Wall p50/p99, µs.
    pub fn wall(&self) -> (f64, f64) {
        self.percentiles(|s| s.wall)
    }

    /// On-CPU p50/p99, µs: modq's own work per key, whatever else the machine runs.
    pub fn on_cpu(&self) -> (f64, f64) {
        self.percentiles(|s| s.on_cpu)
    }

    /// "wall p50 …, p99 …; on a CPU p50 …, p99 …; of the N keys over 1 ms, P were preempted
    /// and B blocked".
    pub fn summary(&self) -> String {
        let (w50, w99) = self.wall();
        let (c50, c99) = self.on_cpu();
        let slow: Vec<&KeySample> = self
            .0
            .iter()
            .filter(|s| s.wall > Duration::from_millis(1))
            .collect();
        let preempted = slow.iter().filter(|s| s.preempted > 0).count();
        let blocked = slow.iter().filter(|s| s.blocked > 0).count();
        let slow_cpu = slow
            .iter()
            .filter(|s| s.on_cpu > Duration::from_millis(1))
            .count();
        format!(
            "wall p50 {w50:.0} µs, p99 {w99:.0} µs; on a CPU p50 {c50:.0} µs, p99 {c99:.0} µs; \
             {} of {} keys took over 1 ms: {slow_cpu} of them over 1 ms on a CPU, {preempted} \
             preempted by the kernel, {blocked} blocked waiting",
            slow.len(),
            self.0.len(),
        )
    }
}
