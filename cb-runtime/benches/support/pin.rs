//! Pinning bench threads to CPUs of their own.

/// Pins the calling thread to CPU `cpu`: a bench's threads then run on CPUs of their own
/// instead of now and then sharing one (which made two-thread figures on a 2-vCPU machine
/// bimodal: the same binary measured 14 and 28 ns per call in back-to-back runs). Linux only;
/// elsewhere, or past the CPUs there are, it does nothing, and says so once on stderr (the
/// two-thread figures are then unpinned).
pub(crate) fn pin_to_cpu(cpu: usize) {
    #[cfg(target_os = "linux")]
    {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        if cpu >= cpus {
            return unpinned(&format!("CPU {cpu} of {cpus}"));
        }
        // SAFETY: `set` is a plain bit set owned by this frame, passed with its own size, for
        // this thread (pid 0); a refusal (an error return) leaves the thread where it was.
        #[allow(unsafe_code)]
        let refused = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0
        };
        if refused {
            unpinned(&std::io::Error::last_os_error().to_string());
        }
    }
    #[cfg(not(target_os = "linux"))]
    unpinned(&format!("not Linux (CPU {cpu})"));
}

/// Says once that bench threads run unpinned, and why.
fn unpinned(why: &str) {
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| eprintln!("bench threads are not pinned to CPUs ({why}): two-thread figures may be bimodal"));
}
