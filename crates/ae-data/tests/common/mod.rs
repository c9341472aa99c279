//! Helpers shared by ae-data's integration tests.
#![allow(dead_code)]

/// The process's resident set (`VmRSS` of `/proc/self/status`, Linux), in bytes.
pub fn rss() -> usize {
    let s = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: usize = s
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:")?.trim().strip_suffix("kB")?.trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kib * 1024
}
