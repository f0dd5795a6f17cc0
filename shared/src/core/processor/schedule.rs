//! Which messages of a batch may run at the same time.

use std::collections::HashMap;

use crate::core::event::PimEvent;

/// Groups message indices so that events about the same entity (sharing a
/// product uuid or identifier, or a model code) form one group, ordered by
/// `occurred_at` (events without one keep their place at the front, in batch
/// order). Groups may run concurrently; a group runs one message at a time.
/// Messages that did not parse are groups of their own.
pub fn entity_groups(events: &[Option<&PimEvent>]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..events.len()).collect();
    let mut owner_of_key: HashMap<String, usize> = HashMap::new();
    for (index, event) in events.iter().enumerate() {
        let Some(event) = event else { continue };
        for key in event.entity_keys() {
            match owner_of_key.get(&key) {
                Some(&owner) => union(&mut parent, owner, index),
                None => {
                    owner_of_key.insert(key, index);
                }
            }
        }
    }

    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of_root: HashMap<usize, usize> = HashMap::new();
    for index in 0..events.len() {
        let root = find(&mut parent, index);
        let group = *group_of_root.entry(root).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[group].push(index);
    }
    for group in &mut groups {
        group.sort_by_key(|&i| events[i].and_then(|e| e.occurred_at));
    }
    groups
}

fn find(parent: &mut [usize], mut index: usize) -> usize {
    while parent[index] != index {
        parent[index] = parent[parent[index]];
        index = parent[index];
    }
    index
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (root_a, root_b) = (find(parent, a), find(parent, b));
    if root_a != root_b {
        parent[root_b.max(root_a)] = root_a.min(root_b);
    }
}
