//! Plain reference `dot_rows`: the definition the fast kernels are tested against.

/// The reference needs no prepared input.
pub fn prepare(_input: &[i8], _prep: &mut [u32]) -> bool {
    true
}

/// `acc[r] = Σ_i weights[r·cols + i] · input[i]`, wrapping i32 sums.
pub fn dot_rows(weights: &[i8], input: &[i8], _prep: &[u32], acc: &mut [i32]) -> bool {
    let cols = input.len();
    let Some(needed) = acc.len().checked_mul(cols) else {
        return false;
    };
    if weights.len() < needed {
        return false;
    }
    // Four products per step, then the cols % 4 left over: the same wrapping sum (addition
    // mod 2^32 is associative), in a shape that stays fast at opt-level "z" on a
    // Cortex-M0/M3, where this is the kernel that runs.
    let (x4, x_tail) = input.as_chunks::<4>();
    for (r, a) in acc.iter_mut().enumerate() {
        // Row r and the rows after it: the zips stop at the input's end, after `cols`
        // weights. (`get`: no panicking path, so no formatting code on a microcontroller.)
        let row = weights.get(r * cols..).unwrap_or(&[]);
        let head = row
            .as_chunks::<4>()
            .0
            .iter()
            .zip(x4)
            .fold(0i32, |s, (w, x)| {
                let p = |i: usize| i32::from(w[i]) * i32::from(x[i]);
                s.wrapping_add(p(0) + p(1) + p(2) + p(3))
            });
        let rest = row.get(4 * x4.len()..).unwrap_or(&[]);
        *a = rest.iter().zip(x_tail).fold(head, |s, (&w, &x)| {
            s.wrapping_add(i32::from(w) * i32::from(x))
        });
    }
    true
}

#[cfg(test)]
mod tests {
    dot_rows_tests!(crate::kernels::reference::dot);

    #[test]
    fn hand_computed() {
        let w = [1i8, -2, 3, 4, 5, -6];
        let x = [7i8, 8, -9];
        let mut acc = [0i32; 2];
        assert!(reference::dot_rows(&w, &x, &[], &mut acc));
        assert_eq!(acc, [7 - 16 - 27, 28 + 40 + 54]);
    }
}
