//! A keyed family's members: found by name with one hash, and kept in a list ordered by when
//! the registry last saw each in use, so that eviction starts with the least recently used
//! and looks at no other member.
//!
//! The list lives in a slab (`Vec` of nodes linked by index): adding, removing and moving a
//! member to the back are O(1) and allocate nothing once the slab has grown.

use crate::config::Base;
use crate::family::Activity;
use crate::{CircuitBreaker, Name};
use std::collections::HashMap;
use std::collections::hash_map::Entry as Slot;
use std::sync::Arc;

/// A registered breaker and what its configuration is built on.
pub(crate) struct Entry {
    pub(crate) breaker: Arc<CircuitBreaker>,
    pub(crate) base: Arc<Base>,
    pub(crate) activity: Activity,
}

/// No node: the end of the list.
const NIL: u32 = u32::MAX;

struct Node {
    /// `None` while the node is on the free list.
    entry: Option<Entry>,
    prev: u32,
    next: u32,
}

/// What a walk does with the member it looks at.
pub(crate) enum Step<R> {
    /// Leave it where it is and go on.
    Keep,
    /// Move it to the back of the list (seen in use now) and go on.
    ToBack,
    /// Take it out (handed to the walk's `taken` with `R`) and go on.
    Take(R),
    /// End the walk here.
    Stop,
}

/// The members of one family, by name and from least to most recently seen in use.
#[derive(Default)]
pub(crate) struct Members {
    slots: HashMap<Name, u32>,
    nodes: Vec<Node>,
    /// The first free node (linked through `next`).
    free: Option<u32>,
    head: Option<u32>,
    tail: Option<u32>,
}

impl Members {
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Entry> {
        let at = *self.slots.get(name)?;
        self.nodes[at as usize].entry.as_ref()
    }

    /// Adds `entry` at the back (the most recently seen), or, if its name is taken, gives it
    /// back with the member that has it.
    pub(crate) fn insert(&mut self, entry: Entry) -> Result<(), (Entry, &Entry)> {
        let at = match self.slots.entry(entry.breaker.name().clone()) {
            Slot::Occupied(taken) => {
                let at = *taken.get() as usize;
                return match self.nodes[at].entry.as_ref() {
                    Some(existing) => Err((entry, existing)),
                    None => unreachable!("a named slot always holds its entry"),
                };
            }
            Slot::Vacant(vacant) => {
                let at = match self.free {
                    Some(at) => {
                        self.free = link(self.nodes[at as usize].next);
                        at
                    }
                    None => {
                        self.nodes.push(Node {
                            entry: None,
                            prev: NIL,
                            next: NIL,
                        });
                        u32::try_from(self.nodes.len() - 1).unwrap_or(NIL - 1)
                    }
                };
                vacant.insert(at);
                at
            }
        };
        self.nodes[at as usize].entry = Some(entry);
        self.push_back(at);
        Ok(())
    }

    pub(crate) fn remove(&mut self, name: &str) -> Option<Entry> {
        let at = self.slots.remove(name)?;
        self.release(at)
    }

    /// Every member, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.nodes.iter().filter_map(|n| n.entry.as_ref())
    }

    /// Visits the members from the least recently seen on, each at most once (one moved to the
    /// back is not visited again), until `visit` says stop; members it takes go to `taken`.
    pub(crate) fn walk<R>(&mut self, mut visit: impl FnMut(&mut Entry) -> Step<R>, mut taken: impl FnMut(Entry, R)) {
        let (Some(mut at), Some(last)) = (self.head, self.tail) else {
            return;
        };
        loop {
            let next = self.nodes[at as usize].next;
            let Some(entry) = self.nodes[at as usize].entry.as_mut() else {
                return;
            };
            match visit(entry) {
                Step::Keep => {}
                Step::ToBack => {
                    self.unlink(at);
                    self.push_back(at);
                }
                Step::Take(why) => {
                    let name = entry.breaker.name().clone();
                    self.slots.remove(&name);
                    if let Some(entry) = self.release(at) {
                        taken(entry, why);
                    }
                }
                Step::Stop => return,
            }
            match link(next) {
                Some(following) if at != last => at = following,
                _ => return,
            }
        }
    }

    /// Unlinks node `at`, puts it on the free list and returns its entry.
    fn release(&mut self, at: u32) -> Option<Entry> {
        self.unlink(at);
        let node = &mut self.nodes[at as usize];
        node.next = self.free.unwrap_or(NIL);
        self.free = Some(at);
        node.entry.take()
    }

    fn unlink(&mut self, at: u32) {
        let (prev, next) = {
            let node = &self.nodes[at as usize];
            (link(node.prev), link(node.next))
        };
        match prev {
            Some(prev) => self.nodes[prev as usize].next = next.unwrap_or(NIL),
            None => self.head = next,
        }
        match next {
            Some(next) => self.nodes[next as usize].prev = prev.unwrap_or(NIL),
            None => self.tail = prev,
        }
        let node = &mut self.nodes[at as usize];
        (node.prev, node.next) = (NIL, NIL);
    }

    fn push_back(&mut self, at: u32) {
        let node = &mut self.nodes[at as usize];
        node.prev = self.tail.unwrap_or(NIL);
        node.next = NIL;
        match self.tail {
            Some(tail) => self.nodes[tail as usize].next = at,
            None => self.head = Some(at),
        }
        self.tail = Some(at);
    }
}

fn link(at: u32) -> Option<u32> {
    (at != NIL).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BreakerConfig;

    fn entry(name: &str) -> Entry {
        Entry {
            breaker: Arc::new(CircuitBreaker::new(name, BreakerConfig::default())),
            base: Arc::new(Base::Code(BreakerConfig::default())),
            activity: Activity::new(0),
        }
    }

    fn order(members: &mut Members) -> Vec<String> {
        let mut out = Vec::new();
        members.walk(
            |e| {
                out.push(e.breaker.name().to_string());
                Step::<()>::Keep
            },
            |_, ()| {},
        );
        out
    }

    #[test]
    fn members_are_walked_from_the_least_recently_seen_and_moved_to_the_back_once() {
        let mut members = Members::default();
        for key in ["f/a", "f/b", "f/c", "f/d"] {
            assert!(members.insert(entry(key)).is_ok());
        }
        assert!(members.insert(entry("f/b")).is_err(), "a name has one member");
        let mut seen = Vec::new();
        let mut taken = Vec::new();
        members.walk(
            |e| {
                let name = e.breaker.name().to_string();
                seen.push(name.clone());
                match name.as_str() {
                    "f/a" | "f/c" => Step::ToBack,
                    "f/b" => Step::Take(()),
                    _ => Step::Keep,
                }
            },
            |e, ()| taken.push(e.breaker.name().to_string()),
        );
        assert_eq!(
            seen,
            ["f/a", "f/b", "f/c", "f/d"],
            "moved members are not visited again"
        );
        assert_eq!(taken, ["f/b"]);
        assert_eq!(order(&mut members), ["f/d", "f/a", "f/c"]);
        assert!(members.get("f/b").is_none());
        assert_eq!(members.len(), 3);
    }

    #[test]
    fn freed_nodes_are_reused_and_a_walk_can_stop() {
        let mut members = Members::default();
        for key in ["f/a", "f/b", "f/c"] {
            assert!(members.insert(entry(key)).is_ok());
        }
        assert!(members.remove("f/b").is_some());
        assert!(members.remove("f/b").is_none());
        assert!(members.insert(entry("f/e")).is_ok());
        assert_eq!(members.nodes.len(), 3, "the freed node holds the new member");
        assert_eq!(order(&mut members), ["f/a", "f/c", "f/e"]);
        let mut seen = 0;
        members.walk(
            |_| {
                seen += 1;
                Step::<()>::Stop
            },
            |_, ()| {},
        );
        assert_eq!(seen, 1);
        for key in ["f/a", "f/c", "f/e"] {
            assert!(members.remove(key).is_some());
        }
        assert_eq!(order(&mut members), Vec::<String>::new());
        assert!(members.insert(entry("f/z")).is_ok());
        assert_eq!(order(&mut members), ["f/z"]);
    }
}
