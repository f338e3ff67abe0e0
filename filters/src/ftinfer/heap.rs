//! libstdc++'s `push_heap`, `pop_heap` and `sort_heap` with fastText's comparator
//! (`l.first > r.first`, a min-heap on scores), step for step: the order of labels with equal
//! scores then comes out as fastText's does.

/// `(log-probability, label)` as fastText's `Predictions` holds them.
pub(super) type Entry = (f32, i32);

fn comp(l: &Entry, r: &Entry) -> bool {
    l.0 > r.0
}

fn sift_up(h: &mut [Entry], mut hole: usize, top: usize, value: Entry) {
    while hole > top {
        let parent = (hole - 1) / 2;
        if !comp(&h[parent], &value) {
            break;
        }
        h[hole] = h[parent];
        hole = parent;
    }
    h[hole] = value;
}

fn adjust(h: &mut [Entry], mut hole: usize, len: usize, value: Entry) {
    let top = hole;
    let mut second = hole;
    while second < len.saturating_sub(1) / 2 {
        second = 2 * (second + 1);
        if comp(&h[second], &h[second - 1]) {
            second -= 1;
        }
        h[hole] = h[second];
        hole = second;
    }
    if len & 1 == 0 && len >= 2 && second == (len - 2) / 2 {
        second = 2 * (second + 1);
        h[hole] = h[second - 1];
        hole = second - 1;
    }
    sift_up(h, hole, top, value);
}

/// `std::push_heap` after a `push_back`.
pub(super) fn push(h: &mut Vec<Entry>, e: Entry) {
    h.push(e);
    let last = h.len() - 1;
    sift_up(h, last, 0, e);
}

/// `std::pop_heap` over `h[..len]`: moves the front to `h[len - 1]`.
fn pop_to(h: &mut [Entry], len: usize) {
    if len > 1 {
        let last = len - 1;
        let value = h[last];
        h[last] = h[0];
        adjust(h, 0, last, value);
    }
}

/// `std::pop_heap` then `pop_back`.
pub(super) fn pop(h: &mut Vec<Entry>) {
    let len = h.len();
    pop_to(h, len);
    h.pop();
}

/// `std::sort_heap`: highest score first.
pub(super) fn sort(h: &mut [Entry]) {
    let mut len = h.len();
    while len > 1 {
        pop_to(h, len);
        len -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_descending_and_keeps_k_best() {
        let mut h: Vec<Entry> = Vec::new();
        let k = 3;
        for (i, s) in [0.1f32, 0.5, 0.3, 0.9, 0.2, 0.7].into_iter().enumerate() {
            if h.len() == k && s < h[0].0 {
                continue;
            }
            push(&mut h, (s, i as i32));
            if h.len() > k {
                pop(&mut h);
            }
        }
        sort(&mut h);
        assert_eq!(h, [(0.9, 3), (0.7, 5), (0.5, 1)]);
    }
}
