//! The subcommands that make runs or look at them: `ae-train --config` ([`train`]), [`init`],
//! [`show`], [`compare`], [`sweep`], [`export`], [`bench`](mod@bench), and `data` [`fetch`] and [`pack`].

pub mod bench;
pub mod compare;
pub mod export;
pub mod fetch;
pub mod init;
pub mod pack;
pub mod show;
pub mod sweep;
pub mod train;
