//! Bounded memory of evidence ids already ingested, for dropping duplicate rows.
//!
//! Two generations of hash sets: ids go into the young one; when it holds half the capacity it
//! becomes the old one and the previous old one is dropped. So the newest `capacity / 2` ids are
//! always remembered, never more than `capacity` are held, and every operation is a hash lookup.
//! Unlike a cache with a concurrent eviction policy, what is forgotten depends only on the order
//! of the ids, so replays stay deterministic.

use std::collections::HashSet;

type Set = HashSet<Box<str>, ahash::RandomState>;

#[derive(Debug)]
pub struct SeenIds {
    young: Set,
    old: Set,
    generation: usize,
}

impl SeenIds {
    pub fn new(capacity: u64) -> SeenIds {
        let generation = usize::try_from(capacity / 2).unwrap_or(usize::MAX).max(1);
        SeenIds {
            young: Set::default(),
            old: Set::default(),
            generation,
        }
    }

    /// Remember `id`; `false` when it was already remembered.
    pub fn insert(&mut self, id: &str) -> bool {
        if self.young.contains(id) || self.old.contains(id) {
            return false;
        }
        if self.young.len() >= self.generation {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(id.into());
        true
    }

    /// Ids held now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_recognised() {
        let mut s = SeenIds::new(100);
        assert!(s.insert("a"));
        assert!(s.insert("b"));
        assert!(!s.insert("a"));
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn newest_half_is_kept_and_size_stays_bounded() {
        let mut s = SeenIds::new(10);
        for i in 0..1000 {
            assert!(s.insert(&i.to_string()));
            assert!(s.len() <= 10);
        }
        // The 5 newest are certainly remembered; the oldest are gone.
        for i in 995..1000 {
            assert!(!s.insert(&i.to_string()), "{i} remembered");
        }
        assert!(s.insert("0"), "the oldest id was forgotten");
    }
}
