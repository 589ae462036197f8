//! The server over real HTTP: each test starts the app on port 0 with a temporary data
//! folder and the repository's catalog, and talks to it with an HTTP client.

mod api;
mod common;
mod deliveries;
mod fit_connect;
mod flow;
mod inbox;
mod layout;
mod postgres;
mod recorded;
mod schema;
mod upgrade;

/// Counts the bytes allocated by every thread of the test binary (the server runs in it), so a
/// test can show that a streamed answer keeps memory flat.
pub mod memory {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicUsize, Ordering};

    pub struct Counting;

    static NOW: AtomicUsize = AtomicUsize::new(0);
    static PEAK: AtomicUsize = AtomicUsize::new(0);

    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                let now = NOW.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            }
            p
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) };
            NOW.fetch_sub(layout.size(), Ordering::Relaxed);
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    /// Starts a measurement: the peak is the allocation now.
    pub fn reset_peak() -> usize {
        let now = NOW.load(Ordering::Relaxed);
        PEAK.store(now, Ordering::Relaxed);
        now
    }

    /// The most allocated at once since [`reset_peak`].
    pub fn peak() -> usize {
        PEAK.load(Ordering::Relaxed)
    }
}
