//! Typed `u32` entity references and the flat maps indexed by them.
//!
//! Every IR object (value, block, instruction, stack slot, ...) is named by a small
//! newtype over `u32` created with [`entity_ref!`]. Storage is a flat `Vec` indexed by that
//! number:
//!
//! - [`PrimaryMap`] *creates* entities: `push` returns the next key. Keys are dense: every
//!   key below `len()` is valid.
//! - [`SecondaryMap`] attaches extra data to entities created elsewhere. Reading a key that
//!   was never written yields the map's default value, so it never panics on a valid key.
//!
//! Invariant: an entity's number is its index, so `K::new(i).index() == i` for all
//! `i < u32::MAX`. `u32::MAX` is reserved and never names a real entity.

use core::fmt;
use core::marker::PhantomData;
use core::ops::{Index, IndexMut};

/// A typed index into flat storage.
pub trait EntityRef: Copy + Eq + fmt::Debug {
    /// Build from an index. Panics only if `index >= u32::MAX` (a capacity bug, never an
    /// input-dependent condition for any realistic function).
    fn new(index: usize) -> Self;
    /// The index this entity names.
    fn index(self) -> usize;
}

/// Declare a `u32` entity newtype with a text prefix used by `Display` (`v7`, `block3`).
#[macro_export]
macro_rules! entity_ref {
    ($(#[$attr:meta])* $name:ident, $prefix:expr) => {
        $(#[$attr])*
        #[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u32);

        impl $crate::entity::EntityRef for $name {
            #[inline]
            fn new(index: usize) -> Self {
                assert!(index < u32::MAX as usize, "entity index overflow");
                $name(index as u32)
            }
            #[inline]
            fn index(self) -> usize {
                self.0 as usize
            }
        }

        #[allow(dead_code)] // unused in private test entities
        impl $name {
            /// The text prefix of this entity kind.
            pub const PREFIX: &'static str = $prefix;
            /// Build from a raw number.
            #[inline]
            pub const fn from_u32(n: u32) -> Self {
                $name(n)
            }
            /// The raw number.
            #[inline]
            pub const fn as_u32(self) -> u32 {
                self.0
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{}{}", $prefix, self.0)
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                core::fmt::Display::fmt(self, f)
            }
        }
    };
}

/// A map that allocates entity keys densely, in order.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PrimaryMap<K: EntityRef, V> {
    elems: Vec<V>,
    unused: PhantomData<K>,
}

impl<K: EntityRef, V> PrimaryMap<K, V> {
    /// An empty map.
    pub const fn new() -> Self {
        Self {
            elems: Vec::new(),
            unused: PhantomData,
        }
    }

    /// An empty map with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            elems: Vec::with_capacity(n),
            unused: PhantomData,
        }
    }

    /// Add a value and return its new key.
    #[inline]
    pub fn push(&mut self, v: V) -> K {
        let k = K::new(self.elems.len());
        self.elems.push(v);
        k
    }

    /// The key the next `push` will return.
    #[inline]
    pub fn next_key(&self) -> K {
        K::new(self.elems.len())
    }

    /// Number of entities.
    #[inline]
    pub fn len(&self) -> usize {
        self.elems.len()
    }

    /// True when no entity exists.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.elems.is_empty()
    }

    /// True when `k` names an entity of this map.
    #[inline]
    pub fn is_valid(&self, k: K) -> bool {
        k.index() < self.elems.len()
    }

    /// The value for `k`, if it exists.
    #[inline]
    pub fn get(&self, k: K) -> Option<&V> {
        self.elems.get(k.index())
    }

    /// The value for `k`, mutably, if it exists.
    #[inline]
    pub fn get_mut(&mut self, k: K) -> Option<&mut V> {
        self.elems.get_mut(k.index())
    }

    /// All keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = K> + ExactSizeIterator + use<K, V> {
        (0..self.elems.len()).map(K::new)
    }

    /// All values in key order.
    pub fn values(&self) -> core::slice::Iter<'_, V> {
        self.elems.iter()
    }

    /// All values in key order, mutably.
    pub fn values_mut(&mut self) -> core::slice::IterMut<'_, V> {
        self.elems.iter_mut()
    }

    /// All `(key, value)` pairs in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (K, &V)> + ExactSizeIterator {
        self.elems.iter().enumerate().map(|(i, v)| (K::new(i), v))
    }

    /// Remove every entity (keeps the allocation).
    pub fn clear(&mut self) {
        self.elems.clear();
    }

    /// The values as a slice, in key order.
    pub fn as_slice(&self) -> &[V] {
        &self.elems
    }
}

impl<K: EntityRef, V> Default for PrimaryMap<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: EntityRef, V> Index<K> for PrimaryMap<K, V> {
    type Output = V;
    #[inline]
    fn index(&self, k: K) -> &V {
        &self.elems[k.index()]
    }
}

impl<K: EntityRef, V> IndexMut<K> for PrimaryMap<K, V> {
    #[inline]
    fn index_mut(&mut self, k: K) -> &mut V {
        &mut self.elems[k.index()]
    }
}

impl<K: EntityRef, V: fmt::Debug> fmt::Debug for PrimaryMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Extra data attached to entities owned by a [`PrimaryMap`] elsewhere. Unwritten keys read
/// as the default value; writing grows the map.
#[derive(Clone)]
pub struct SecondaryMap<K: EntityRef, V: Clone> {
    elems: Vec<V>,
    default: V,
    unused: PhantomData<K>,
}

impl<K: EntityRef, V: Clone + Default> SecondaryMap<K, V> {
    /// An empty map whose default is `V::default()`.
    pub fn new() -> Self {
        Self::with_default(V::default())
    }
}

impl<K: EntityRef, V: Clone> SecondaryMap<K, V> {
    /// An empty map with an explicit default value.
    pub fn with_default(default: V) -> Self {
        Self {
            elems: Vec::new(),
            default,
            unused: PhantomData,
        }
    }

    /// The value for `k` (the default when never written).
    #[inline]
    pub fn get(&self, k: K) -> &V {
        self.elems.get(k.index()).unwrap_or(&self.default)
    }

    /// Set the value for `k`.
    #[inline]
    pub fn set(&mut self, k: K, v: V) {
        let i = k.index();
        if i < self.elems.len() {
            self.elems[i] = v;
        } else {
            self.grow_to(i);
            self.elems.push(v);
        }
    }

    /// Back every key below `i` with storage (defaults), so that key `i` is the next to
    /// push. Writes usually append the next key (`i == len`), which needs no fill.
    #[inline]
    fn grow_to(&mut self, i: usize) {
        if i > self.elems.len() {
            self.elems.resize(i, self.default.clone());
        }
    }

    /// Make sure `n` keys are backed by storage (so `get_mut`-style writes don't reallocate).
    pub fn resize(&mut self, n: usize) {
        if n > self.elems.len() {
            self.elems.resize(n, self.default.clone());
        }
    }

    /// Number of keys backed by storage (written keys and those below them).
    pub fn backed_len(&self) -> usize {
        self.elems.len()
    }

    /// Forget all values (keeps the allocation).
    pub fn clear(&mut self) {
        self.elems.clear();
    }

    /// `(key, value)` for every backed key, in order.
    pub fn iter(&self) -> impl Iterator<Item = (K, &V)> {
        self.elems.iter().enumerate().map(|(i, v)| (K::new(i), v))
    }
}

impl<K: EntityRef, V: Clone + Default> Default for SecondaryMap<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: EntityRef, V: Clone> Index<K> for SecondaryMap<K, V> {
    type Output = V;
    #[inline]
    fn index(&self, k: K) -> &V {
        self.get(k)
    }
}

impl<K: EntityRef, V: Clone> IndexMut<K> for SecondaryMap<K, V> {
    #[inline]
    fn index_mut(&mut self, k: K) -> &mut V {
        let i = k.index();
        if i >= self.elems.len() {
            self.grow_to(i);
            self.elems.push(self.default.clone());
        }
        &mut self.elems[i]
    }
}

impl<K: EntityRef, V: Clone + PartialEq> PartialEq for SecondaryMap<K, V> {
    /// Two maps are equal when every key reads the same value (trailing defaults don't count).
    fn eq(&self, other: &Self) -> bool {
        let n = self.elems.len().max(other.elems.len());
        self.default == other.default && (0..n).all(|i| self.get(K::new(i)) == other.get(K::new(i)))
    }
}

impl<K: EntityRef, V: Clone + Eq> Eq for SecondaryMap<K, V> {}

impl<K: EntityRef, V: Clone + fmt::Debug> fmt::Debug for SecondaryMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    entity_ref!(Thing, "t");

    #[test]
    fn primary_keys_are_dense() {
        let mut m: PrimaryMap<Thing, &str> = PrimaryMap::new();
        assert_eq!(m.push("a"), Thing::new(0));
        assert_eq!(m.push("b"), Thing::new(1));
        assert_eq!(m[Thing::new(1)], "b");
        assert!(!m.is_valid(Thing::new(2)));
        assert_eq!(Thing::new(1).to_string(), "t1");
    }

    #[test]
    fn secondary_reads_default_and_compares_by_content() {
        let mut a: SecondaryMap<Thing, u8> = SecondaryMap::new();
        let b: SecondaryMap<Thing, u8> = SecondaryMap::new();
        assert_eq!(*a.get(Thing::new(100)), 0);
        a.set(Thing::new(5), 0);
        assert_eq!(a, b, "explicit defaults equal implicit ones");
        a[Thing::new(2)] = 7;
        assert_ne!(a, b);
    }
}
