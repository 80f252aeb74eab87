//! A faithful port of Go's `slices.SortFunc` (pattern-defeating quicksort).
//!
//! Go's sort is not stable, and the trace parser's event order depends on how
//! it permutes elements with equal keys. Every comparison, swap and branch
//! below therefore mirrors `pdqsortCmpFunc` and its helpers in Go's
//! `slices/zsortanyfunc.go` and `slices/sort.go`, so that the resulting
//! permutation is identical for every input, including Go's quirks (for
//! example the left shift in the partial insertion sort that is bounded by
//! index 1 rather than by the start of the range).
//!
//! All ranges are half-open `[a, b)` indices into the whole slice, as in Go;
//! several steps (the duplicate-pivot check, the partial insertion sort) look
//! at elements before `a`, so the code cannot simply work on sub-slices.

/// Sorts `v` by `key` ascending, permuting equal keys exactly as Go's slices.SortFunc(v, func(a, b) int { return cmp.Compare(key(a), key(b)) }) does.
pub fn sort_by_time<T, F: Fn(&T) -> i64>(v: &mut [T], key: F) {
    // `cmp.Compare(key(x), key(y)) < 0` is exactly `key(x) < key(y)` for
    // integers, and Go only ever asks whether a comparison is negative.
    let less = |x: &T, y: &T| key(x) < key(y);
    let n = v.len();
    pdqsort(v, 0, n, bit_len(n), &less);
}

/// The order in which Go's `slices.SortFunc` leaves the positions of `keys`
/// when comparing by key (`cmp.Compare`, reversed when `descending`): element
/// `i` of the result is the position of the `i`-th sorted key. Equal keys are
/// permuted exactly as Go permutes them.
pub fn sort_order(keys: &[i64], descending: bool) -> Vec<usize> {
    let mut v: Vec<usize> = (0..keys.len()).collect();
    let n = v.len();
    if descending {
        // cmp.Compare(key(y), key(x)) < 0
        pdqsort(&mut v, 0, n, bit_len(n), &|x: &usize, y: &usize| keys[*y] < keys[*x]);
    } else {
        pdqsort(&mut v, 0, n, bit_len(n), &|x: &usize, y: &usize| keys[*x] < keys[*y]);
    }
    v
}

/// Go's `bits.Len`: the number of bits needed to represent `n` (0 for 0).
fn bit_len(n: usize) -> usize {
    // Lossless: the result is at most `usize::BITS`.
    (usize::BITS - n.leading_zeros()) as usize
}

/// How the three pivot candidates were ordered before pivot selection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hint {
    Unknown,
    Increasing,
    Decreasing,
}

/// Ranges of at most this many elements are insertion sorted.
const MAX_INSERTION: usize = 12;

/// Sorts `v[a..b]`; `limit` is the number of badly unbalanced partitions
/// allowed before falling back to heapsort.
fn pdqsort<T, L: Fn(&T, &T) -> bool>(v: &mut [T], mut a: usize, mut b: usize, mut limit: usize, less: &L) {
    let mut was_balanced = true;
    let mut was_partitioned = true;

    loop {
        let length = b - a;

        if length <= MAX_INSERTION {
            insertion_sort(v, a, b, less);
            return;
        }

        if limit == 0 {
            heap_sort(v, a, b, less);
            return;
        }

        if !was_balanced {
            break_patterns(v, a, b);
            limit -= 1;
        }

        let (mut pivot, mut hint) = choose_pivot(v, a, b, less);
        if hint == Hint::Decreasing {
            v[a..b].reverse();
            // The pivot was `pivot - a` places after the start of the range;
            // after the reversal it is that many places before its end.
            pivot = (b - 1) - (pivot - a);
            hint = Hint::Increasing;
        }

        if was_balanced && was_partitioned && hint == Hint::Increasing && partial_insertion_sort(v, a, b, less) {
            return;
        }

        // The element just before the range is a previous pivot, which is
        // <= everything here; if it is not < the new pivot, the range likely
        // holds many copies of it. Split off the run equal to the pivot.
        if a > 0 && !less(&v[a - 1], &v[pivot]) {
            a = partition_equal(v, a, b, pivot, less);
            continue;
        }

        let (mid, already_partitioned) = partition(v, a, b, pivot, less);
        was_partitioned = already_partitioned;

        let (left_len, right_len) = (mid - a, b - mid);
        let balance_threshold = length / 8;
        if left_len < right_len {
            was_balanced = left_len >= balance_threshold;
            pdqsort(v, a, mid, limit, less);
            a = mid + 1;
        } else {
            was_balanced = right_len >= balance_threshold;
            pdqsort(v, mid + 1, b, limit, less);
            b = mid;
        }
    }
}

/// Plain insertion sort of `v[a..b]` by adjacent swaps.
fn insertion_sort<T, L: Fn(&T, &T) -> bool>(v: &mut [T], a: usize, b: usize, less: &L) {
    for i in a + 1..b {
        let mut j = i;
        while j > a && less(&v[j], &v[j - 1]) {
            v.swap(j, j - 1);
            j -= 1;
        }
    }
}

/// Restores the max-heap property below `root` in the heap stored at
/// `v[first..first + hi]` (heap indices are relative to `first`).
fn sift_down<T, L: Fn(&T, &T) -> bool>(v: &mut [T], mut root: usize, hi: usize, first: usize, less: &L) {
    loop {
        let mut child = 2 * root + 1;
        if child >= hi {
            return;
        }
        if child + 1 < hi && less(&v[first + child], &v[first + child + 1]) {
            child += 1;
        }
        if !less(&v[first + root], &v[first + child]) {
            return;
        }
        v.swap(first + root, first + child);
        root = child;
    }
}

/// Heapsort of `v[a..b]`, the fallback after too many bad pivots.
fn heap_sort<T, L: Fn(&T, &T) -> bool>(v: &mut [T], a: usize, b: usize, less: &L) {
    let first = a;
    let hi = b - a;
    if hi == 0 {
        return;
    }

    // Build a heap with the greatest element at the top.
    for i in (0..=(hi - 1) / 2).rev() {
        sift_down(v, i, hi, first, less);
    }

    // Pop the largest element into the end of the range, repeatedly.
    for i in (0..hi).rev() {
        v.swap(first, first + i);
        sift_down(v, 0, i, first, less);
    }
}

/// One quicksort partition of `v[a..b]` around `v[pivot]`. Afterwards the
/// pivot sits at the returned index, everything before it is less than it and
/// everything after it is not. The flag reports whether no element had to be
/// swapped, i.e. the range was already partitioned.
fn partition<T, L: Fn(&T, &T) -> bool>(v: &mut [T], a: usize, b: usize, pivot: usize, less: &L) -> (usize, bool) {
    v.swap(a, pivot);
    // `i` and `j` bound (inclusively) the elements still to be partitioned.
    // The range holds more than MAX_INSERTION elements, and `j` never drops
    // below `i - 1 >= a`, so neither index can underflow.
    let (mut i, mut j) = (a + 1, b - 1);

    while i <= j && less(&v[i], &v[a]) {
        i += 1;
    }
    while i <= j && !less(&v[j], &v[a]) {
        j -= 1;
    }
    if i > j {
        v.swap(j, a);
        return (j, true);
    }
    v.swap(i, j);
    i += 1;
    j -= 1;

    loop {
        while i <= j && less(&v[i], &v[a]) {
            i += 1;
        }
        while i <= j && !less(&v[j], &v[a]) {
            j -= 1;
        }
        if i > j {
            break;
        }
        v.swap(i, j);
        i += 1;
        j -= 1;
    }
    v.swap(j, a);
    (j, false)
}

/// Partitions `v[a..b]`, which holds nothing less than `v[pivot]`, into the
/// elements equal to the pivot followed by the greater ones; returns the
/// index of the first greater element.
fn partition_equal<T, L: Fn(&T, &T) -> bool>(v: &mut [T], a: usize, b: usize, pivot: usize, less: &L) -> usize {
    v.swap(a, pivot);
    let (mut i, mut j) = (a + 1, b - 1);

    loop {
        while i <= j && !less(&v[a], &v[i]) {
            i += 1;
        }
        while i <= j && less(&v[a], &v[j]) {
            j -= 1;
        }
        if i > j {
            return i;
        }
        v.swap(i, j);
        i += 1;
        j -= 1;
    }
}

/// Fixes up a nearly sorted `v[a..b]` by moving a few out-of-order pairs
/// into place. Returns whether the range ended up sorted.
fn partial_insertion_sort<T, L: Fn(&T, &T) -> bool>(v: &mut [T], a: usize, b: usize, less: &L) -> bool {
    /// Maximum number of adjacent out-of-order pairs that get shifted.
    const MAX_STEPS: usize = 5;
    /// Ranges shorter than this are never shifted.
    const SHORTEST_SHIFTING: usize = 50;

    let mut i = a + 1;
    for _ in 0..MAX_STEPS {
        while i < b && !less(&v[i], &v[i - 1]) {
            i += 1;
        }

        if i == b {
            return true;
        }

        if b - a < SHORTEST_SHIFTING {
            return false;
        }

        v.swap(i, i - 1);

        // Shift the smaller element left. As in Go, the walk is bounded by
        // index 1 of the whole slice, not by `a`.
        if i - a >= 2 {
            let mut j = i - 1;
            while j >= 1 {
                if !less(&v[j], &v[j - 1]) {
                    break;
                }
                v.swap(j, j - 1);
                j -= 1;
            }
        }
        // Shift the greater element right.
        if b - i >= 2 {
            for j in i + 1..b {
                if !less(&v[j], &v[j - 1]) {
                    break;
                }
                v.swap(j, j - 1);
            }
        }
    }
    false
}

/// Go's xorshift generator, used to scatter elements deterministically.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Swaps three elements around the middle of `v[a..b]` with pseudo-random
/// partners, to break patterns that make partitions unbalanced. The random
/// sequence is seeded by the length, so it is the same as Go's.
fn break_patterns<T>(v: &mut [T], a: usize, b: usize) {
    let length = b - a;
    if length < 8 {
        return;
    }
    // usize -> u64 is lossless on every supported target.
    let len64 = length as u64;
    let mut random = XorShift(len64);
    // Go's nextPowerOfTwo: 1 << bits.Len(length). It is at most 2 * length,
    // so `other` below ends up in 0..length.
    let mask = (1u64 << bit_len(length)) - 1;

    let mid = a + (length / 4) * 2;
    for idx in mid - 1..=mid + 1 {
        let mut other = random.next() & mask;
        if other >= len64 {
            other -= len64;
        }
        // Lossless: `other < length`, which is a usize.
        v.swap(idx, a + other as usize);
    }
}

/// Chooses a pivot index in `v[a..b]` (a static one below 8 elements, the
/// median of three below 50, Tukey's ninther beyond) and reports how the
/// sampled elements were ordered.
fn choose_pivot<T, L: Fn(&T, &T) -> bool>(v: &[T], a: usize, b: usize, less: &L) -> (usize, Hint) {
    const SHORTEST_NINTHER: usize = 50;
    const MAX_SWAPS: usize = 4 * 3;

    let l = b - a;
    let mut swaps = 0;
    let mut i = a + l / 4;
    let mut j = a + l / 4 * 2;
    let mut k = a + l / 4 * 3;

    if l >= 8 {
        if l >= SHORTEST_NINTHER {
            i = median_adjacent(v, i, &mut swaps, less);
            j = median_adjacent(v, j, &mut swaps, less);
            k = median_adjacent(v, k, &mut swaps, less);
        }
        j = median(v, i, j, k, &mut swaps, less);
    }

    let hint = match swaps {
        0 => Hint::Increasing,
        MAX_SWAPS => Hint::Decreasing,
        _ => Hint::Unknown,
    };
    (j, hint)
}

/// Returns `(x, y)` with `v[x] <= v[y]`, where `{x, y} = {p, q}`, counting a
/// swap when the order had to be reversed.
fn order2<T, L: Fn(&T, &T) -> bool>(v: &[T], p: usize, q: usize, swaps: &mut usize, less: &L) -> (usize, usize) {
    if less(&v[q], &v[p]) {
        *swaps += 1;
        (q, p)
    } else {
        (p, q)
    }
}

/// Returns whichever of `p`, `q`, `r` indexes the median of the three.
fn median<T, L: Fn(&T, &T) -> bool>(v: &[T], p: usize, q: usize, r: usize, swaps: &mut usize, less: &L) -> usize {
    let (p, q) = order2(v, p, q, swaps, less);
    let (q, _) = order2(v, q, r, swaps, less);
    let (_, q) = order2(v, p, q, swaps, less);
    q
}

/// Returns the index of the median of `v[m - 1]`, `v[m]` and `v[m + 1]`.
fn median_adjacent<T, L: Fn(&T, &T) -> bool>(v: &[T], m: usize, swaps: &mut usize, less: &L) -> usize {
    median(v, m - 1, m, m + 1, swaps, less)
}

#[cfg(test)]
mod tests {
    use super::{bit_len, pdqsort, sort_by_time, sort_order};

    /// `(keys, ids)`: ids in the order Go 1.26's slices.SortFunc leaves them
    /// when sorting `(key, id)` pairs by key.
    const GOLDEN: &[(&[i64], &[usize])] = &[
        // 13 elements: insertion sort only.
        (&[3, 1, 2, 1, 0, 3, 2, 2, 1, 0, 3, 1, 2], &[4, 9, 3, 8, 1, 11, 2, 6, 7, 12, 0, 5, 10]),
        // 17 elements: ties, median of three.
        (
            &[2, 0, 0, 2, 1, 0, 0, 0, 2, 0, 2, 2, 2, 0, 2, 1, 0],
            &[13, 1, 2, 16, 5, 6, 7, 9, 4, 15, 8, 11, 12, 10, 14, 0, 3],
        ),
        // 20 elements: two keys.
        (
            &[0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 0],
            &[10, 1, 2, 3, 4, 5, 19, 7, 18, 16, 15, 11, 0, 13, 14, 12, 8, 17, 9, 6],
        ),
        // 24 elements: heapsort fallback (found by search).
        (
            &[5, 21, 12, 17, 7, 5, 7, 9, 5, 5, 8, 1, 0, 7, 20, 21, 2, 8, 0, 14, 16, 23, 11, 18],
            &[18, 12, 11, 16, 0, 5, 9, 8, 6, 4, 13, 17, 10, 7, 22, 2, 19, 20, 3, 23, 14, 15, 1, 21],
        ),
        // 30 elements: heapsort fallback (found by search).
        (
            &[
                16, 0, 15, 11, 13, 0, 10, 27, 12, 1, 17, 0, 14, 0, 28, 16, 1, 7, 26, 10, 11, 28, 1, 16, 16, 3, 6, 14,
                21, 12,
            ],
            &[
                13, 1, 11, 5, 16, 22, 9, 25, 26, 17, 19, 6, 20, 3, 8, 29, 4, 12, 27, 2, 23, 0, 15, 24, 10, 28, 18, 7,
                14, 21,
            ],
        ),
        // 40 elements: sawtooth.
        (
            &[
                0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1,
                2, 3, 0, 1, 2, 3,
            ],
            &[
                0, 24, 16, 36, 4, 20, 28, 32, 8, 12, 5, 29, 9, 13, 33, 25, 37, 17, 1, 21, 10, 30, 22, 38, 18, 2, 26,
                34, 14, 6, 15, 31, 7, 11, 27, 35, 3, 19, 23, 39,
            ],
        ),
        // 40 elements: random, six keys.
        (
            &[
                3, 0, 2, 2, 4, 2, 0, 5, 3, 4, 0, 3, 0, 4, 2, 5, 4, 2, 4, 1, 5, 0, 0, 5, 1, 2, 0, 1, 0, 3, 2, 3, 5, 2,
                1, 2, 2, 1, 5, 2,
            ],
            &[
                22, 1, 28, 6, 26, 10, 21, 12, 37, 34, 27, 24, 19, 30, 25, 39, 33, 17, 35, 3, 2, 5, 14, 36, 29, 8, 11,
                0, 31, 9, 4, 13, 18, 16, 7, 32, 23, 20, 38, 15,
            ],
        ),
        // 100 elements: ninther, breakPatterns, heapsort.
        (
            &[
                19, 31, 68, 93, 13, 11, 30, 13, 67, 79, 77, 79, 2, 86, 33, 81, 53, 87, 31, 45, 44, 75, 68, 8, 93, 62,
                13, 10, 33, 90, 26, 94, 76, 0, 20, 40, 30, 16, 29, 30, 23, 35, 9, 78, 15, 51, 8, 42, 16, 32, 81, 56,
                71, 47, 46, 73, 66, 16, 45, 10, 30, 66, 47, 1, 52, 6, 21, 66, 39, 47, 87, 19, 94, 64, 86, 27, 73, 32,
                70, 30, 76, 69, 63, 74, 35, 27, 80, 26, 85, 98, 11, 23, 84, 23, 44, 72, 45, 66, 10, 99,
            ],
            &[
                33, 63, 12, 65, 46, 23, 42, 98, 27, 59, 90, 5, 4, 7, 26, 44, 37, 48, 57, 0, 71, 34, 66, 40, 91, 93, 30,
                87, 75, 85, 38, 36, 60, 79, 6, 39, 1, 18, 49, 77, 14, 28, 84, 41, 68, 35, 47, 94, 20, 19, 96, 58, 54,
                53, 62, 69, 45, 64, 16, 51, 25, 82, 73, 67, 56, 97, 61, 8, 22, 2, 81, 78, 52, 95, 76, 55, 83, 21, 80,
                32, 10, 43, 9, 11, 86, 50, 15, 92, 88, 13, 74, 17, 70, 29, 24, 3, 72, 31, 89, 99,
            ],
        ),
        // 60 elements: partial insertion sort shifts.
        (
            &[
                0, 0, 0, 12, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7, 8, 8,
                8, 8, 9, 9, 9, 9, 10, 10, 10, 10, 11, 11, 11, 11, 12, 12, 0, 12, 13, 13, 13, 13, 14, 14, 14, 14,
            ],
            &[
                0, 1, 2, 50, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
                28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 3, 48, 49, 51, 52, 53,
                54, 55, 56, 57, 58, 59,
            ],
        ),
        // 60 elements: decreasing ninther, reversed.
        (
            &[
                60, 60, 58, 58, 56, 56, 54, 54, 52, 52, 50, 50, 48, 47, 46, 45, 44, 43, 42, 42, 40, 40, 38, 38, 36, 36,
                34, 34, 32, 31, 30, 29, 28, 27, 26, 26, 24, 24, 22, 22, 20, 20, 18, 17, 16, 15, 14, 13, 12, 12, 10, 10,
                8, 8, 6, 6, 4, 4, 2, 2,
            ],
            &[
                59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34,
                33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8,
                7, 6, 5, 4, 3, 2, 1, 0,
            ],
        ),
        // 45 elements: too short for partial insertion shifting.
        (
            &[
                0, 0, 0, 1, 1, 12, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6, 7, 7, 7, 8, 8, 8, 9, 9, 9, 10, 10, 10,
                11, 11, 11, 12, 12, 1, 13, 13, 13, 14, 14, 14,
            ],
            &[
                0, 1, 2, 3, 4, 38, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 22, 21, 23, 24, 25, 26, 27,
                28, 29, 32, 31, 30, 33, 34, 35, 37, 36, 5, 39, 40, 41, 42, 43, 44,
            ],
        ),
    ];

    /// Go's pdqsortCmpFunc called directly with limit 0 (straight to heapsort).
    const GOLDEN_HEAP: (&[i64], &[usize]) = (
        &[2, 0, 1, 0, 3, 0, 3, 3, 1, 0, 1, 3, 0, 0, 0, 1, 1, 2, 0, 0, 1, 0, 0, 3, 1, 3, 0, 3, 1, 0],
        &[1, 14, 9, 18, 3, 12, 22, 21, 5, 19, 13, 29, 26, 28, 24, 2, 10, 20, 8, 16, 15, 0, 17, 27, 6, 25, 23, 11, 4, 7],
    );

    /// Sorts `(key, id)` pairs by key and returns the resulting id order.
    fn sorted_ids(keys: &[i64]) -> Vec<usize> {
        let mut v: Vec<(i64, usize)> = keys.iter().copied().zip(0..).collect();
        sort_by_time(&mut v, |e| e.0);
        v.into_iter().map(|e| e.1).collect()
    }

    /// A small deterministic generator for property tests.
    fn lcg(state: &mut u64) -> u64 {
        *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *state >> 33
    }

    #[test]
    fn sorts_and_permutes() {
        let mut state = 7;
        for len in 0..400 {
            for range in [1, 2, 3, 10, 1000] {
                let keys: Vec<i64> = (0..len).map(|_| (lcg(&mut state) % range) as i64).collect();
                let ids = sorted_ids(&keys);
                let mut seen = vec![false; len];
                for &id in &ids {
                    assert!(!seen[id], "id {id} appears twice");
                    seen[id] = true;
                }
                assert_eq!(ids.len(), len);
                assert!(ids.windows(2).all(|w| keys[w[0]] <= keys[w[1]]));
            }
        }
    }

    #[test]
    fn matches_go_permutations() {
        for (keys, want) in GOLDEN {
            assert_eq!(sorted_ids(keys), *want, "keys {keys:?}");
        }
    }

    #[test]
    fn sort_order_matches_go() {
        for (keys, want) in GOLDEN {
            assert_eq!(sort_order(keys, false), *want, "keys {keys:?}");
            // Descending by key is ascending by the negated key, comparison for
            // comparison: the same Go permutation.
            let neg: Vec<i64> = keys.iter().map(|k| -k).collect();
            assert_eq!(sort_order(&neg, true), *want, "negated keys {keys:?}");
        }
    }

    #[test]
    fn matches_go_heapsort() {
        let (keys, want) = GOLDEN_HEAP;
        let mut v: Vec<(i64, usize)> = keys.iter().copied().zip(0..).collect();
        let n = v.len();
        pdqsort(&mut v, 0, n, 0, &|x: &(i64, usize), y: &(i64, usize)| x.0 < y.0);
        let ids: Vec<usize> = v.into_iter().map(|e| e.1).collect();
        assert_eq!(ids, want);
    }

    #[test]
    fn bit_len_matches_go() {
        assert_eq!(bit_len(0), 0);
        assert_eq!(bit_len(1), 1);
        assert_eq!(bit_len(12), 4);
        assert_eq!(bit_len(13), 4);
        assert_eq!(bit_len(16), 5);
        assert_eq!(bit_len(usize::MAX), usize::BITS as usize);
    }

    #[test]
    fn extreme_keys() {
        let keys = [i64::MAX, i64::MIN, 0, -1, i64::MAX, i64::MIN, 1, 0, 0, 5, -5, 3, 3, 9];
        let ids = sorted_ids(&keys);
        assert!(ids.windows(2).all(|w| keys[w[0]] <= keys[w[1]]));
    }
}
