//! What a training run is made of: the [`data`] it trains on, the [`fit`] loop (over the
//! library's epoch loop), layer-wise [`pretrain`]ing, [`checkpoint`]s, [`early_stopping`],
//! [`metrics`], the [`model`] it trains, and [`distributed`] (data-parallel) replicas.

pub mod checkpoint;
pub mod data;
pub mod distributed;
pub mod early_stopping;
pub mod fit;
pub mod metrics;
pub mod model;
pub mod pretrain;
