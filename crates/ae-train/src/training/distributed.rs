//! Data-parallel training over MPI: `mpirun -np N ae-train --config X.toml` starts N processes
//! (on one machine or several), each a replica of the model. Every optimizer step's batch
//! (`train.batch_size` items: the whole batch, whatever N) is split into N shards, each process
//! computes its shard's gradients, and an MPI all-reduce combines them into the whole batch's
//! ([`ae_models::replicas`]), so every replica takes the same step and the run trains as one
//! process would on the same batches. Rank 0 owns the run folder (config, checkpoints, metrics,
//! pictures, summary); the other ranks write into a scratch folder of their own that is removed
//! when they end, and receive what they must read (the checkpoint of `--resume`) from rank 0.
//!
//! MPI is compiled in with the `mpi` feature (it needs an MPI library, e.g. Open MPI, at build and
//! run time). A process is a replica when an MPI launcher started it (`OMPI_COMM_WORLD_SIZE`,
//! `PMI_SIZE` or `PMIX_SIZE` in its environment); launched so without the feature, it refuses to
//! train alone in N copies and says how to build with it. A rank that dies (killed, or an error
//! that ends its process) ends the job: `mpirun` stops the others when one exits without
//! finalising MPI.

use std::cell::RefCell;
use std::path::Path;

#[cfg(feature = "mpi")]
use ae_models::replicas::AllReduce;
use ae_models::replicas::Replicas;

use crate::error::{AppError, Result};

/// The processes of this run: this one's rank and how many there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct World {
    /// This process's rank, from 0.
    pub rank: usize,
    /// How many processes train together.
    pub size: usize,
}

impl World {
    /// One process alone.
    pub const ALONE: World = World { rank: 0, size: 1 };

    /// Whether this process writes the run folder (rank 0).
    pub fn is_root(&self) -> bool {
        self.rank == 0
    }
}

thread_local! {
    static CURRENT: RefCell<World> = const { RefCell::new(World::ALONE) };
    #[cfg(feature = "mpi")]
    static UNIVERSE: RefCell<Option<mpi::environment::Universe>> = const { RefCell::new(None) };
}

/// The processes this one trains with (one alone unless [`start`] joined an MPI job).
pub fn world() -> World {
    CURRENT.with(|w| *w.borrow())
}

/// How many processes an MPI launcher started, from the variables it sets; `None` when this
/// process was not started by one.
pub fn launched_size() -> Option<usize> {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"]
        .iter()
        .find_map(|v| std::env::var(v).ok())
        .and_then(|s| s.trim().parse().ok())
}

/// This process's rank among the job's processes on its own machine, from the launcher's
/// variables (0 when not launched by one): which GPU of the machine it trains on.
pub fn local_rank() -> usize {
    ["OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "PMI_LOCAL_RANK", "SLURM_LOCALID"]
        .iter()
        .find_map(|v| std::env::var(v).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Joins the MPI job that started this process, if one did (call once, on the thread that will
/// train; [`finish`] at the end). Without the `mpi` feature, a launch of several processes is
/// refused.
pub fn start() -> Result<World> {
    let Some(size) = launched_size() else { return Ok(World::ALONE) };
    #[cfg(feature = "mpi")]
    {
        use mpi::traits::Communicator;
        let _ = size; // the communicator's own size is used
        let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Funneled)
            .ok_or_else(|| AppError::runtime("MPI: initialisation failed (was MPI already initialised?)"))?;
        let comm = universe.world();
        let world = World { rank: comm.rank() as usize, size: comm.size() as usize };
        UNIVERSE.with(|u| *u.borrow_mut() = Some(universe));
        CURRENT.with(|w| *w.borrow_mut() = world);
        Ok(world)
    }
    #[cfg(not(feature = "mpi"))]
    {
        if size > 1 {
            return Err(AppError::usage(format!(
                "started by an MPI launcher as one of {size} processes, but this ae-train was built without MPI: \
                 each would train alone. Build it with `cargo install --path crates/ae-train --features mpi` \
                 (needs an MPI library, e.g. Debian's libopenmpi-dev), or run one process"
            )));
        }
        Ok(World::ALONE)
    }
}

/// Leaves the MPI job (finalises MPI) if [`start`] joined one.
pub fn finish() {
    #[cfg(feature = "mpi")]
    UNIVERSE.with(|u| drop(u.borrow_mut().take()));
}

/// The start of the scratch folders' names of ranks above 0 in the temp folder:
/// `ae-train-rank<R>-<PID>`.
pub const SCRATCH_PREFIX: &str = "ae-train-rank";

/// Removes scratch folders left in the temp folder by ranks that were killed (their process no
/// longer exists; Linux, where `/proc` tells).
pub fn remove_dead_scratch() {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(SCRATCH_PREFIX).and_then(|r| r.split_once('-')).map(|(_, p)| p.to_string())
        else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(&pid).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// The combining of gradients over the MPI job's processes, when there are several.
pub fn replicas() -> Option<Replicas> {
    let w = world();
    if w.size < 2 {
        return None;
    }
    #[cfg(feature = "mpi")]
    return Some(Replicas::new(Box::new(MpiSum { size: w.size })));
    #[cfg(not(feature = "mpi"))]
    None
}

/// MPI's all-reduce over `MPI_COMM_WORLD`.
#[cfg(feature = "mpi")]
struct MpiSum {
    size: usize,
}

#[cfg(feature = "mpi")]
impl AllReduce for MpiSum {
    fn sum(&mut self, values: &mut [f64]) {
        use mpi::collective::{CommunicatorCollectives, SystemOperation};
        let comm = mpi::topology::SimpleCommunicator::world();
        let mut out = vec![0.0f64; values.len()];
        comm.all_reduce_into(&values[..], &mut out[..], SystemOperation::sum());
        values.copy_from_slice(&out);
    }

    fn replicas(&self) -> usize {
        self.size
    }
}

/// Sums `values` over the processes (unchanged when alone).
pub fn sum(values: &mut [f64]) {
    #[cfg(feature = "mpi")]
    if world().size > 1 {
        MpiSum { size: world().size }.sum(values);
    }
    let _ = values;
}

/// Rank 0's `bytes`, on every process (rank 0 passes `Some`, the others `None`; alone, the bytes
/// given).
pub fn broadcast(bytes: Option<Vec<u8>>) -> Vec<u8> {
    #[cfg(feature = "mpi")]
    if world().size > 1 {
        use mpi::traits::{Communicator, Root};
        let comm = mpi::topology::SimpleCommunicator::world();
        let root = comm.process_at_rank(0);
        let mut len = bytes.as_ref().map_or(0u64, |b| b.len() as u64);
        root.broadcast_into(&mut len);
        let mut buf = bytes.unwrap_or_else(|| vec![0u8; len as usize]);
        root.broadcast_into(&mut buf[..]);
        return buf;
    }
    bytes.unwrap_or_default()
}

/// This process's share of an epoch's `order`: each batch of `batch` items (a multiple of
/// `size`: see [`check_batch`]) split into `size` contiguous shards (of `batch / size` items; the
/// last, shorter batch's differing by at most one), this rank's shard of each, one after the
/// other. A last batch of fewer than `size` items is left out (every rank must take every step),
/// so an epoch may skip up to `size - 1` items, others each epoch as the order is reshuffled.
/// Batching the result by `batch / size` gives this rank's shard of every batch.
pub fn shard(order: &[usize], batch: usize, world: World) -> Vec<usize> {
    if world.size < 2 {
        return order.to_vec();
    }
    let per = batch.div_ceil(world.size);
    let mut out = Vec::with_capacity(order.len() / world.size + per);
    for chunk in order.chunks(batch) {
        if chunk.len() < world.size {
            break;
        }
        // Shard r of n items: [r * n / size, (r + 1) * n / size).
        let (n, r, s) = (chunk.len(), world.rank, world.size);
        let part = &chunk[r * n / s..(r + 1) * n / s];
        debug_assert!(part.len() <= per && !part.is_empty());
        out.extend_from_slice(part);
    }
    out
}

/// The whole batch must split evenly over the processes, so that every shard of a full batch
/// has `batch / size` items.
pub fn check_batch(batch: usize, world: World) -> std::result::Result<(), String> {
    if batch % world.size != 0 || batch < world.size {
        return Err(format!(
            "{batch} (the whole batch, split over the processes) must be a multiple of the {} processes",
            world.size
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_each_batch_once_in_order_and_skip_only_a_tail_shorter_than_the_world() {
        let order: Vec<usize> = (0..23).rev().collect();
        for size in [1, 2, 4] {
            let shards: Vec<Vec<usize>> = (0..size).map(|rank| shard(&order, 8, World { rank, size })).collect();
            let per = 8usize.div_ceil(size);
            // Re-interleave: batch b of the whole = shard b of every rank, in rank order.
            let batches: Vec<Vec<Vec<usize>>> =
                shards.iter().map(|s| s.chunks(per).map(<[usize]>::to_vec).collect()).collect();
            let steps = batches[0].len();
            assert!(batches.iter().all(|b| b.len() == steps), "size {size}: every rank takes every step");
            let joined: Vec<usize> = (0..steps).flat_map(|b| batches.iter().flat_map(move |r| r[b].clone())).collect();
            // The last batch has 7 items: kept whole unless the world is larger.
            let expected: Vec<usize> = if 7 >= size { order.clone() } else { order[..16].to_vec() };
            assert_eq!(joined, expected, "size {size}");
        }
        // Shard sizes differ by at most one: 7 items over 4 ranks -> 1, 2, 2, 2.
        let sizes: Vec<usize> = (0..4).map(|rank| shard(&order[16..], 8, World { rank, size: 4 }).len()).collect();
        assert_eq!(sizes, [1, 2, 2, 2]);
    }

    #[test]
    fn alone_nothing_is_combined() {
        assert_eq!(world(), World::ALONE);
        assert!(replicas().is_none());
        assert_eq!(broadcast(Some(vec![1, 2])), vec![1, 2]);
        let mut v = [1.5];
        sum(&mut v);
        assert_eq!(v, [1.5]);
    }
}
