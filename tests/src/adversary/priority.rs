//! The adversary's threads yield the CPU to the validators they attack.

/// Runs the calling thread at the lowest CPU priority. The adversary shares this machine's two cores with the
/// validators it attacks; an attacker has machines of its own, so what it costs the validators to handle its
/// messages is measured, not what it costs to make them.
#[allow(unsafe_code)]
pub fn lower_priority() {
    // SAFETY: setpriority has no memory preconditions; on Linux `who = 0` names the calling thread only.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 19);
    }
}
