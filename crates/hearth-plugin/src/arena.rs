//! The plugin's heap: a bump arena over the memory the component starts
//! with, then the standard allocator.
//!
//! Every call runs in a fresh instance, and the host resets its memory
//! afterwards, so nothing allocated needs to outlive the call. Rust's
//! standard allocator on `wasm32` ignores the memory the module starts
//! with and asks for new pages (`memory.grow`) on the first allocation of
//! every call — and each grown memory costs the host two page-protection
//! changes (to grow it, and to shrink it back for the next instance), which
//! interrupt every other core. The arena hands out the initial memory past
//! the stack and static data (`__heap_base` up to the initial size) first,
//! frees only the most recent allocation (the common "build, then drop"
//! pattern), and passes everything else to the standard allocator, which
//! grows the memory as before once the arena is used up.
//!
//! Link a plugin with room for it: `-C link-arg=--initial-memory=2097152`
//! (2 MiB, the first-party plugins' setting; pages never touched cost
//! nothing). Without it the arena is a few bytes and the standard allocator
//! does all the work, as without the arena. Turn the arena off with
//! `default-features = false` on `hearth-plugin` (for your own
//! `#[global_allocator]`).

/// Bump allocation over `[start, end)`, by address; the logic behind the
/// global allocator, kept apart so it is tested natively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Region {
    start: usize,
    end: usize,
    /// The first free address.
    next: usize,
    /// The most recent allocation (freed or grown in place).
    last: usize,
}

impl Region {
    /// A region over `[start, end)` (empty when `end <= start`).
    pub fn new(start: usize, end: usize) -> Region {
        let end = end.max(start);
        Region {
            start,
            end,
            next: start,
            last: usize::MAX,
        }
    }

    /// Whether `addr` was handed out by this region.
    pub fn contains(&self, addr: usize) -> bool {
        (self.start..self.end).contains(&addr)
    }

    /// The address of `size` bytes aligned to `align` (a power of two), or
    /// `None` when they do not fit.
    pub fn alloc(&mut self, size: usize, align: usize) -> Option<usize> {
        let at = self.next.checked_add(align - 1)? & !(align - 1);
        let end = at.checked_add(size)?;
        if end > self.end {
            return None;
        }
        self.next = end;
        self.last = at;
        Some(at)
    }

    /// Frees `[addr, addr + size)` if it is the most recent allocation
    /// (anything else in the region stays until the call ends).
    pub fn free(&mut self, addr: usize, size: usize) {
        if addr == self.last && addr.checked_add(size) == Some(self.next) {
            self.next = addr;
            self.last = usize::MAX;
        }
    }

    /// Resizes the most recent allocation in place: `true` if `addr` is it
    /// and `new_size` bytes fit.
    pub fn resize_last(&mut self, addr: usize, size: usize, new_size: usize) -> bool {
        if addr != self.last || addr.checked_add(size) != Some(self.next) {
            return false;
        }
        match addr.checked_add(new_size) {
            Some(end) if end <= self.end => {
                self.next = end;
                true
            }
            _ => false,
        }
    }
}

#[cfg(all(target_arch = "wasm32", feature = "arena"))]
mod global {
    #![allow(unsafe_code)]

    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::UnsafeCell;

    use super::Region;

    unsafe extern "C" {
        /// Where the linker's static data and stack end (wasm-ld).
        static __heap_base: u8;
    }

    struct Arena(UnsafeCell<Option<Region>>);

    // SAFETY: a `wasm32-unknown-unknown` plugin has one thread.
    unsafe impl Sync for Arena {}

    impl Arena {
        #[allow(clippy::mut_from_ref)]
        fn region(&self) -> &mut Region {
            // SAFETY: one thread, and no allocator call re-enters this one
            // while the reference is held (the standard allocator is called
            // after it is last used).
            let slot = unsafe { &mut *self.0.get() };
            slot.get_or_insert_with(|| {
                let start = (&raw const __heap_base) as usize;
                // Before the first allocation nothing has grown the
                // memory: this is the size it started with.
                let end = core::arch::wasm32::memory_size(0) * 65_536;
                Region::new(start, end)
            })
        }
    }

    // SAFETY: addresses come from the region (inside the initial memory,
    // past the stack and static data, never handed out twice while live)
    // or from `System`; each is given back to where it came from.
    unsafe impl GlobalAlloc for Arena {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            match self.region().alloc(layout.size(), layout.align()) {
                Some(at) => at as *mut u8,
                None => unsafe { System.alloc(layout) },
            }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            let region = self.region();
            if region.contains(ptr as usize) {
                region.free(ptr as usize, layout.size());
            } else {
                unsafe { System.dealloc(ptr, layout) }
            }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let region = self.region();
            if !region.contains(ptr as usize) {
                return unsafe { System.realloc(ptr, layout, new_size) };
            }
            if region.resize_last(ptr as usize, layout.size(), new_size) {
                return ptr;
            }
            // SAFETY: `new_size` with the old alignment is a valid layout
            // (the caller's contract for `realloc`).
            let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
            let new = unsafe { self.alloc(new_layout) };
            if !new.is_null() {
                unsafe {
                    core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
            }
            new
        }
    }

    #[global_allocator]
    static ARENA: Arena = Arena(UnsafeCell::new(None));
}

#[cfg(test)]
mod tests {
    use super::Region;

    #[test]
    fn allocations_are_aligned_disjoint_and_inside() {
        let mut r = Region::new(1001, 2000);
        let a = r.alloc(10, 8).expect("fits");
        assert_eq!(a % 8, 0);
        assert!(a >= 1001);
        let b = r.alloc(1, 1).expect("fits");
        assert!(b >= a + 10);
        let c = r.alloc(64, 64).expect("fits");
        assert_eq!(c % 64, 0);
        assert!(c > b);
        assert!(r.contains(a) && r.contains(c));
        assert!(!r.contains(2000) && !r.contains(1000));
    }

    #[test]
    fn what_does_not_fit_is_refused_to_the_last_byte() {
        let mut r = Region::new(0, 100);
        assert_eq!(r.alloc(100, 1), Some(0));
        assert_eq!(r.alloc(1, 1), None);
        let mut r = Region::new(0, 100);
        assert_eq!(r.alloc(60, 1), Some(0));
        assert_eq!(r.alloc(41, 1), None);
        assert_eq!(r.alloc(40, 1), Some(60));
        // Overflowing sizes and alignments are refused, not wrapped.
        let mut r = Region::new(usize::MAX - 10, usize::MAX);
        assert_eq!(r.alloc(usize::MAX, 1), None);
        assert_eq!(r.alloc(1, 1 << 20), None);
        // An empty region hands out nothing.
        assert_eq!(Region::new(50, 10).alloc(1, 1), None);
    }

    #[test]
    fn only_the_last_allocation_is_freed_or_grown_in_place() {
        let mut r = Region::new(0, 100);
        let a = r.alloc(10, 1).expect("fits");
        let _b = r.alloc(10, 1).expect("fits");
        // Not the last one: stays.
        r.free(a, 10);
        assert_eq!(r.alloc(1, 1), Some(20));
        // The last one: its bytes are handed out again.
        r.free(20, 1);
        assert_eq!(r.alloc(1, 1), Some(20));
        let mut r = Region::new(0, 100);
        let a = r.alloc(10, 1).expect("fits");
        assert!(r.resize_last(a, 10, 50));
        assert_eq!(r.alloc(1, 1), Some(50));
        // `a` is no longer the last allocation.
        assert!(!r.resize_last(a, 50, 60));
        let c = r.alloc(10, 1).expect("fits");
        // Growing past the end is refused and changes nothing.
        assert!(!r.resize_last(c, 10, 100));
        assert!(r.resize_last(c, 10, 49));
        assert_eq!(r.alloc(1, 1), None);
    }
}
