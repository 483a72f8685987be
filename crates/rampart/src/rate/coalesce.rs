//! Same-key coalescing of a batch of GCRA decisions (the Redis store's
//! `batch` setting): the requests of one batch that each spend one unit of
//! the same bucket (one hot client's concurrent requests) go to Redis as ONE
//! entry "take up to k", and each request gets back its own answer.
//!
//! Exact: GCRA spends units one after the other, so "take up to k" at one
//! instant admits the first `n = min(k, units that fit)` exactly as `k`
//! calls at that instant would, and the script returns the bucket's time
//! ahead after the `n`. The request in place `j` (from 0) was admitted when
//! `j < n`, and the bucket then lay `ahead - (n - 1 - j) * t` ahead; a
//! refused one sees `ahead`, as its own call would have. Requests that look
//! (spend 0) or ask for a lease (spend > 1) keep an entry each.

use std::collections::HashMap;

/// One GCRA decision: the bucket and the script's arguments (`t`, `tau`,
/// units to spend).
pub(crate) type GcraCall = (String, [u64; 3]);

/// Where a request's answer is found among the entries sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Its own entry: the answer as it comes.
    Alone(usize),
    /// The `place`-th request of a coalesced entry.
    Grouped { entry: usize, place: u64 },
}

/// A batch as sent: the entries, and how to hand their answers back.
#[derive(Debug)]
pub(crate) struct Coalesced {
    /// What goes to Redis, in the order of each entry's first request.
    pub(crate) entries: Vec<GcraCall>,
    slots: Vec<Slot>,
}

impl Coalesced {
    /// Coalesce `calls`: every request spending one unit of a bucket (with
    /// the same `t` and `tau`) joins that bucket's entry.
    pub(crate) fn of(calls: Vec<GcraCall>) -> Self {
        let mut entries: Vec<GcraCall> = Vec::with_capacity(calls.len());
        let mut slots = Vec::with_capacity(calls.len());
        let mut groups: HashMap<(String, u64, u64), usize> = HashMap::new();
        for (bucket, args) in calls {
            let [t, tau, spend] = args;
            if spend != 1 {
                slots.push(Slot::Alone(entries.len()));
                entries.push((bucket, args));
                continue;
            }
            let group = (bucket, t, tau);
            if let Some(&entry) = groups.get(&group) {
                let place = entries[entry].1[2];
                entries[entry].1[2] += 1;
                slots.push(Slot::Grouped { entry, place });
            } else {
                slots.push(Slot::Grouped {
                    entry: entries.len(),
                    place: 0,
                });
                groups.insert(group.clone(), entries.len());
                entries.push((group.0, args));
            }
        }
        Coalesced { entries, slots }
    }

    /// Each request's `(units taken, µs ahead)` from the entries' answers
    /// (one per entry, in order); `None` when the count does not match.
    pub(crate) fn answers(&self, answers: &[(i64, i64)]) -> Option<Vec<(i64, i64)>> {
        if answers.len() != self.entries.len() {
            return None;
        }
        let per_request = self.slots.iter().map(|slot| match *slot {
            Slot::Alone(entry) => answers[entry],
            Slot::Grouped { entry, place } => {
                let (taken, ahead) = answers[entry];
                let place = i64::try_from(place).unwrap_or(i64::MAX);
                if place >= taken {
                    return (0, ahead);
                }
                let t = i64::try_from(self.entries[entry].1[0]).unwrap_or(i64::MAX);
                let after_me = (taken - 1 - place).saturating_mul(t);
                (1, ahead.saturating_sub(after_me))
            }
        });
        Some(per_request.collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(bucket: &str, t: u64, spend: u64) -> GcraCall {
        (bucket.to_owned(), [t, 10 * t, spend])
    }

    #[test]
    fn requests_spending_one_unit_of_a_bucket_share_one_entry() {
        let batch = Coalesced::of(vec![
            call("a", 100, 1),
            call("b", 100, 1),
            call("a", 100, 1),
            call("a", 100, 0),
            call("a", 100, 8),
            call("a", 100, 1),
            call("a", 200, 1),
        ]);
        assert_eq!(
            batch.entries,
            [
                call("a", 100, 3),
                call("b", 100, 1),
                call("a", 100, 0),
                call("a", 100, 8),
                call("a", 200, 1),
            ]
        );
        // a: 2 of 3 fit, the bucket then 500 µs ahead; b admitted; the look
        // and the lease answer for themselves; a at another rate refused.
        let answers = [(2, 500), (1, 100), (1, 400), (5, 900), (0, 2_000)];
        assert_eq!(
            batch.answers(&answers).unwrap(),
            [
                (1, 400),
                (1, 100),
                (1, 500),
                (1, 400),
                (5, 900),
                (0, 500),
                (0, 2_000),
            ]
        );
        assert_eq!(batch.answers(&answers[..4]), None);
    }

    #[test]
    fn a_bucket_over_its_limit_refuses_every_request_of_its_entry() {
        let batch = Coalesced::of(vec![call("a", 100, 1); 4]);
        assert_eq!(batch.entries, [call("a", 100, 4)]);
        assert_eq!(batch.answers(&[(0, 1_200)]).unwrap(), [(0, 1_200); 4]);
    }
}
