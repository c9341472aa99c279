//! What every crate of the workspace shares, and nothing else: the one seeded random generator
//! ([`rng::SplitMix64`]) behind every shuffle, split and sample, and the one way files are written
//! ([`atomic`]: a temporary file, synced, renamed over the target).
//!
//! It depends on the standard library only, so the data, evaluation and model crates can all use
//! it without depending on each other.

#![warn(missing_docs)]

pub mod atomic;
pub mod rng;

pub use atomic::{AtomicFile, write_atomic};
pub use rng::SplitMix64;
