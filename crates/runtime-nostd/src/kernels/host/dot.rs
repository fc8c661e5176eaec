//! Host `dot_rows` (x86_64, aarch64): fixed-width lanes that LLVM auto-vectorizes. The
//! products are formed in i16 (|w·x| <= 127·128 fits) and only then widened: on the default
//! x86_64 target (SSE2) that is `pmullw` + widening adds, where an i32 multiply would need
//! SSE4.1's `pmulld` and is emulated otherwise.

const LANES: usize = 16;

/// The host kernel needs no prepared input.
pub fn prepare(_input: &[i8], _prep: &mut [u32]) -> bool {
    true
}

#[inline]
fn dot(row: &[i8], input: &[i8]) -> i32 {
    let (wc, wt) = row.as_chunks::<LANES>();
    let (xc, xt) = input.as_chunks::<LANES>();
    let mut lanes = [0i32; LANES];
    for (w, x) in wc.iter().zip(xc) {
        for k in 0..LANES {
            // Cannot overflow: |w|, |x| <= 128, so |w·x| <= 16384 < 2^15.
            let p = i16::from(w[k]) * i16::from(x[k]);
            lanes[k] = lanes[k].wrapping_add(i32::from(p));
        }
    }
    let mut s = lanes.iter().fold(0i32, |s, &l| s.wrapping_add(l));
    for (&w, &x) in wt.iter().zip(xt) {
        s = s.wrapping_add(i32::from(w) * i32::from(x));
    }
    s
}

/// Same contract as `reference::dot::dot_rows`.
pub fn dot_rows(weights: &[i8], input: &[i8], _prep: &[u32], acc: &mut [i32]) -> bool {
    let cols = input.len();
    let Some(needed) = acc.len().checked_mul(cols) else {
        return false;
    };
    if weights.len() < needed {
        return false;
    }
    if cols == 0 {
        acc.fill(0);
        return true;
    }
    for (a, row) in acc.iter_mut().zip(weights.chunks_exact(cols)) {
        *a = dot(row, input);
    }
    true
}

#[cfg(test)]
mod tests {
    dot_rows_tests!(crate::kernels::host::dot);
}
