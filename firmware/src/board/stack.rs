//! Stack high-water mark: paint the free stack at boot, find the deepest overwritten word
//! later. cortex-m-rt puts the stack at the top of RAM growing down to `_stack_end` (the end
//! of .bss/.uninit); nothing else lives there (no heap), so the free region is ours to paint.

const PAINT: u32 = 0xCCCC_CCCC;

unsafe extern "C" {
    static _stack_start: u32;
    static _stack_end: u32;
}

fn bounds() -> (usize, usize) {
    // Only the addresses of the linker-script symbols are taken, never their values.
    (
        &raw const _stack_end as usize,
        &raw const _stack_start as usize,
    )
}

/// Fills the unused stack below the current frame with a pattern. Call once, early.
pub fn paint() {
    let (low, _) = bounds();
    // Keep clear of this function's own frame and anything it might still push.
    let high = (cortex_m::register::msp::read() as usize).saturating_sub(64) & !3;
    let mut p = low;
    while p < high {
        // SAFETY: [low, high) is below the live stack (which grows down from above `high`)
        // and above all statics, so no live object is there; the address is 4-aligned.
        unsafe { (p as *mut u32).write_volatile(PAINT) };
        p += 4;
    }
}

/// Deepest stack use since `paint`, in bytes (conservative: an interrupt handler's frame
/// counts too).
pub fn peak() -> usize {
    let (low, high) = bounds();
    let mut p = low;
    // SAFETY: reads 4-aligned words of RAM between the statics and the stack top.
    while p < high && unsafe { (p as *const u32).read_volatile() } == PAINT {
        p += 4;
    }
    high - p
}
