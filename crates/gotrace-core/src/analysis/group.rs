//! Per-group totals and order statistics for the views: millions of values
//! (goroutines, waits, blocking delays, regions) in a few groups (goroutine
//! groups, stacks, region and task types), given as a group code per value.
//!
//! Sums are exact in int64 (wrapping as numpy's `np.add.at` does). For the
//! percentiles (and the count, sum, minimum and maximum a view shows beside
//! them, in the same two passes) the values are scattered into one buffer
//! grouped by code (a counting sort), then each wanted rank is selected in
//! its group's part, each selection searching only what lies above the
//! previous one: linear time, where sorting (group, value) pairs is not.

/// Group `c` of `0..n_groups`, or the error naming it.
fn group_of<C: Copy + Into<i64>>(c: C, n_groups: usize) -> Result<usize, String> {
    let c: i64 = c.into();
    usize::try_from(c).ok().filter(|&g| g < n_groups).ok_or_else(|| format!("group code {c} is not in 0..{n_groups}"))
}

/// Per group `0..n_groups`, the sum of its values (exact, wrapping on
/// overflow as int64 does).
pub fn group_sum<C: Copy + Into<i64>>(codes: &[C], values: &[i64], n_groups: usize) -> Result<Vec<i64>, String> {
    if codes.len() != values.len() {
        return Err("codes and values differ in length".into());
    }
    let mut out = vec![0i64; n_groups];
    for (&c, &v) in codes.iter().zip(values) {
        let slot = &mut out[group_of(c, n_groups)?];
        *slot = slot.wrapping_add(v);
    }
    Ok(out)
}

/// What [`group_stats`] gives per group.
#[derive(Debug, PartialEq)]
pub struct GroupStats {
    pub count: Vec<usize>,
    /// Exact, wrapping on overflow as int64 does.
    pub sum: Vec<i64>,
    /// `quantiles[k][g]`: quantile `k` of group `g` (0 for an empty group).
    pub quantiles: Vec<Vec<i64>>,
}

/// For each group `0..n_groups`: its number of values, their sum and, for
/// each quantile `q`, the observed value of 1-based rank
/// `max(ceil(count * q), 1)` in ascending order (numpy's `inverted_cdf`;
/// `q = 0.0` gives the minimum, `q = 1.0` the maximum).
pub fn group_stats<C: Copy + Into<i64>>(
    codes: &[C],
    values: &[i64],
    n_groups: usize,
    quantiles: &[f64],
) -> Result<GroupStats, String> {
    if codes.len() != values.len() {
        return Err("codes and values differ in length".into());
    }
    if let Some(q) = quantiles.iter().find(|q| !(0.0..=1.0).contains(*q)) {
        return Err(format!("quantile {q} is not in [0, 1]"));
    }
    let mut count = vec![0usize; n_groups];
    for &c in codes {
        count[group_of(c, n_groups)?] += 1;
    }
    let mut start = Vec::with_capacity(n_groups + 1);
    start.push(0);
    for &n in &count {
        start.push(start.last().copied().unwrap_or(0) + n);
    }
    let mut next = start.clone();
    let mut buf = vec![0i64; values.len()];
    let mut sum = vec![0i64; n_groups];
    for (&c, &v) in codes.iter().zip(values) {
        // Every code was checked above.
        let g = group_of(c, n_groups).unwrap_or(0);
        buf[next[g]] = v;
        next[g] += 1;
        sum[g] = sum[g].wrapping_add(v);
    }
    let mut out = vec![vec![0i64; n_groups]; quantiles.len()];
    let mut want: Vec<(usize, usize)> = Vec::with_capacity(quantiles.len());
    for (g, &n) in count.iter().enumerate() {
        if n == 0 {
            continue;
        }
        let part = &mut buf[start[g]..start[g + 1]];
        want.clear();
        // Computed as numpy computes ceil(n * q) (float64), for the same ranks.
        want.extend(quantiles.iter().enumerate().map(|(k, &q)| (((n as f64 * q).ceil() as usize).clamp(1, n) - 1, k)));
        want.sort_unstable();
        // part[..lo] holds no value above part[lo..]: each rank is selected
        // among what lies above the previous one.
        let mut lo = 0;
        for &(pos, k) in &want {
            if pos >= lo {
                part[lo..].select_nth_unstable(pos - lo);
                lo = pos + 1;
            }
            out[k][g] = part[pos];
        }
    }
    Ok(GroupStats { count, sum, quantiles: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_wrap_and_refuse_codes_outside_the_groups() {
        let codes: [i32; 5] = [0, 2, 2, 0, 1];
        let values = [i64::MAX, 5, 7, 1, -3];
        assert_eq!(group_sum(&codes, &values, 3).unwrap(), [i64::MIN, -3, 12]);
        assert!(group_sum(&[3i64], &[1], 3).is_err());
        assert!(group_sum(&[-1i64], &[1], 3).is_err());
        assert!(group_sum(&[0i64], &[1, 2], 3).is_err());
    }

    #[test]
    fn counts_sums_and_ranks_as_inverted_cdf_per_group() {
        // Group 0: 1..=10 shuffled; group 1 empty; group 2: one value; group 3 ties.
        let codes: [i32; 14] = [0, 0, 2, 0, 0, 3, 0, 0, 3, 0, 0, 0, 3, 0];
        let values = [7, 3, 42, 10, 1, 5, 9, 2, 5, 8, 4, 6, -1, 5];
        let st = group_stats(&codes, &values, 4, &[0.5, 0.9, 0.99, 1.0, 0.0]).unwrap();
        let (count, out) = (st.count, st.quantiles);
        assert_eq!(count, [10, 0, 1, 3]);
        assert_eq!(st.sum, [55, 0, 42, 9]);
        assert_eq!(out[0], [5, 0, 42, 5]); // ceil(10 * 0.5) = 5th; ceil(3 * 0.5) = 2nd of -1, 5, 5
        assert_eq!(out[1], [9, 0, 42, 5]);
        assert_eq!(out[2], [10, 0, 42, 5]);
        assert_eq!(out[3], [10, 0, 42, 5]);
        assert_eq!(out[4], [1, 0, 42, -1]); // rank at least 1: the minimum
    }

    #[test]
    fn rejects_codes_out_of_range_and_bad_quantiles() {
        assert!(group_stats(&[0i64, 2], &[1, 2], 2, &[0.5]).is_err());
        assert!(group_stats(&[0i32, -1], &[1, 2], 2, &[0.5]).is_err());
        assert!(group_stats(&[0i64], &[1, 2], 1, &[0.5]).is_err());
        assert!(group_stats(&[0i64], &[1], 1, &[1.5]).is_err());
        assert!(group_stats(&[0i64], &[1], 1, &[f64::NAN]).is_err());
    }
}
