//! A bounds-checked front to the `gemm` crate (the one candle's CPU matmul calls), for
//! matrices given as slices with row and column strides: transposes cost nothing.

/// A read-only matrix view: `rows × cols`, element (i, j) at `i·rs + j·cs`.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

impl<'a> View<'a> {
    /// A row-major `rows × cols` matrix.
    pub fn rows(data: &'a [f32], rows: usize, cols: usize) -> Self {
        View {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose, without moving anything.
    pub fn t(self) -> Self {
        View {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    fn fits(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.rs + (self.cols - 1) * self.cs < self.data.len()
    }
}

/// `dst[m×n]` (row-major) = `a[m×k] · b[k×n]`, overwriting `dst`, on every rayon thread.
///
/// # Panics
/// When the shapes disagree or a view reaches past its slice: callers size every buffer
/// from the same widths, so this is a bug, never bad input.
pub fn matmul(dst: &mut [f32], a: View, b: View) {
    product(dst, a, b, false, rayon::current_num_threads());
}

/// `dst[m×n]` (row-major) = `a · b`, or `+= a · b` when `accumulate`, split over up to
/// `threads` rayon threads (1: on the calling thread only, for callers that already run one
/// product per thread).
///
/// # Panics
/// As [`matmul`].
pub fn product(dst: &mut [f32], a: View, b: View, accumulate: bool, threads: usize) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(b.rows == k && dst.len() >= m * n && a.fits() && b.fits());
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return;
    }
    let par = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the assert above proves every element gemm reads, (i, j) at i·rs + j·cs for
    // i < rows and j < cols, lies inside its slice, and that dst holds m·n row-major values;
    // with `read_dst = false` dst's old contents are never read (with `true` they are read
    // and are initialized f32s). The slices cannot overlap: dst is borrowed mutably.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain triple loop this wraps.
    fn reference(a: View, b: View) -> Vec<f32> {
        let mut out = vec![0f32; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                out[i * b.cols + j] = (0..a.cols)
                    .map(|p| a.data[i * a.rs + p * a.cs] * b.data[p * b.rs + j * b.cs])
                    .sum();
            }
        }
        out
    }

    #[test]
    fn matches_the_triple_loop_with_transposes() {
        let a: Vec<f32> = (0..35).map(|v| (v as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..35).map(|v| (v as f32 * 0.11).cos()).collect();
        let (av, bv) = (View::rows(&a, 5, 7), View::rows(&b, 7, 5));
        for (x, y) in [(av, bv), (av.t().t(), bv), (bv.t(), av.t())] {
            let mut got = vec![f32::NAN; x.rows * y.cols];
            matmul(&mut got, x, y);
            let want = reference(x, y);
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-5, "{g} vs {w}");
            }
            // Accumulating on one thread adds the same product to what is there.
            let mut acc = vec![1f32; x.rows * y.cols];
            product(&mut acc, x, y, true, 1);
            for (g, w) in acc.iter().zip(&want) {
                assert!((g - 1.0 - w).abs() < 1e-5, "{g} vs 1 + {w}");
            }
        }
    }
}
