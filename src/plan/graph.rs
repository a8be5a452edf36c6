//! Building a list of desired resources: a small builder the clouds and the
//! cluster phase use to add resources with their dependencies.

use serde_json::Value;

use super::{Address, Resource};

/// Collects resources in the order they are added (dependencies first).
#[derive(Debug, Default)]
pub struct Builder {
    pub out: Vec<Resource>,
}

impl Builder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a resource; returns its address for dependents to name.
    pub fn add(
        &mut self,
        address: impl Into<String>,
        kind: &str,
        props: Value,
        deps: &[&str],
    ) -> String {
        let address = address.into();
        self.out.push(Resource {
            address: Address::new(address.clone()),
            kind: kind.into(),
            props,
            deps: deps.iter().map(|d| Address::new(*d)).collect(),
            delete_after: Vec::new(),
        });
        address
    }

    /// On destroy, `address` goes only after `others` are gone.
    pub fn delete_after(&mut self, address: &str, others: &[&str]) {
        if let Some(r) = self.out.iter_mut().find(|r| r.address.as_str() == address) {
            r.delete_after
                .extend(others.iter().map(|o| Address::new(*o)));
        }
    }

    pub fn finish(self) -> Vec<Resource> {
        self.out
    }
}
