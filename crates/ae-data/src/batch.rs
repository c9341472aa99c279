//! Index views over a dataset, seeded splits, and batch streams prepared on worker threads.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use crate::dataset::Dataset;
use crate::error::DataError;
use crate::normalize::Normalizer;
use ae_core::SplitMix64;

/// A subset of a dataset's items (by index), normalised on the way out.
#[derive(Debug, Clone)]
pub struct View {
    /// The underlying items.
    pub data: Arc<Dataset>,
    /// Which items, in order.
    pub indices: Arc<Vec<usize>>,
    /// Applied to every item served.
    pub normalizer: Arc<Normalizer>,
}

impl View {
    /// All items of `data`.
    pub fn all(data: Arc<Dataset>, normalizer: Arc<Normalizer>) -> Self {
        let indices = Arc::new((0..data.len()).collect());
        Self { data, indices, normalizer }
    }

    /// The items at `indices` of `data`.
    pub fn new(data: Arc<Dataset>, indices: Vec<usize>, normalizer: Arc<Normalizer>) -> Self {
        Self { data, indices: Arc::new(indices), normalizer }
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether the view is empty.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Values per item.
    pub fn item_len(&self) -> usize {
        self.data.item_len()
    }

    /// The batch of the items at `positions` (positions within this view). Panics if a streamed
    /// image cannot be decoded, with the error naming the file ([`View::try_batch`] returns it).
    pub fn batch(&self, positions: &[usize]) -> Batch {
        self.try_batch(positions).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The batch of the items at `positions` (positions within this view), or the error of the
    /// first item that could not be read (a streamed image that fails to decode, naming the file).
    pub fn try_batch(&self, positions: &[usize]) -> Result<Batch, DataError> {
        let d = self.item_len();
        let mut x = vec![0f32; positions.len() * d];
        let mut labels = self.data.labels.as_ref().map(|_| Vec::with_capacity(positions.len()));
        for (row, &p) in x.chunks_exact_mut(d).zip(positions) {
            let i = self.indices[p];
            self.data.try_write_raw(i, row)?;
            self.normalizer.apply(row);
            if let (Some(out), Some(l)) = (&mut labels, &self.data.labels) {
                out.push(l[i]);
            }
        }
        Ok(Batch { x, rows: positions.len(), cols: d, labels })
    }

    /// Up to `n` positions to show as examples, spread over the classes: a seeded random item of
    /// each class in label order, round after round, until `n` are taken (seeded random positions
    /// when the data has no labels). Data stored class by class is then still shown in its variety.
    pub fn spread(&self, n: usize, seed: u64) -> Vec<usize> {
        let mut rng = SplitMix64::new(seed, 0x5EED_5B2E);
        let mut order = rng.permutation(self.len());
        let Some(labels) = &self.data.labels else {
            order.truncate(n);
            return order;
        };
        let mut by_class: std::collections::BTreeMap<u16, Vec<usize>> = Default::default();
        for p in order {
            by_class.entry(labels[self.indices[p]]).or_default().push(p);
        }
        let mut queues: Vec<std::vec::IntoIter<usize>> = by_class.into_values().map(Vec::into_iter).collect();
        let mut out = Vec::with_capacity(n.min(self.len()));
        while out.len() < n.min(self.len()) {
            for q in &mut queues {
                if let Some(p) = q.next()
                    && out.len() < n
                {
                    out.push(p);
                }
            }
        }
        out
    }

    /// The mean of each feature over the view's items, as served (normalised); zeros for an
    /// empty view. Reads the items a block at a time, so it needs no copy of the whole view. Over
    /// a streamed image folder this decodes every image: [`View::feature_means_sample`] bounds it.
    pub fn feature_means(&self) -> Vec<f64> {
        self.feature_means_sample(usize::MAX, 0)
    }

    /// [`View::feature_means`] over at most `max_items` items: all of them when the view has no
    /// more, else `max_items` distinct positions drawn with `seed`, read in order. Panics, naming
    /// the file, if a streamed image cannot be decoded.
    pub fn feature_means_sample(&self, max_items: usize, seed: u64) -> Vec<f64> {
        const BLOCK: usize = 1024;
        let positions: Vec<usize> = if self.len() <= max_items {
            (0..self.len()).collect()
        } else {
            let mut s = SplitMix64::new(seed, 0x3EA5_5A3E).sample(self.len(), max_items);
            s.sort_unstable();
            s
        };
        let mut sums = vec![0f64; self.item_len()];
        for block in positions.chunks(BLOCK) {
            let batch = self.batch(block);
            for row in batch.x.chunks_exact(batch.cols.max(1)) {
                for (sum, &v) in sums.iter_mut().zip(row) {
                    *sum += v as f64;
                }
            }
        }
        let n = positions.len().max(1) as f64;
        sums.iter().map(|s| s / n).collect()
    }
}

/// Splits `0..n` into (train, validation) positions with a seeded shuffle; `fraction` of the
/// items (rounded, at least 1 when `fraction > 0` and `n > 1`) go to validation.
pub fn split(n: usize, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut perm = SplitMix64::new(seed, 0x5_9117).permutation(n);
    let mut n_val = (n as f64 * fraction).round() as usize;
    if fraction > 0.0 && n > 1 {
        n_val = n_val.clamp(1, n - 1);
    }
    let train = perm.split_off(n_val);
    let mut val = perm;
    val.sort_unstable();
    let mut train = train;
    train.sort_unstable();
    (train, val)
}

/// A minibatch: `rows` items of `cols` values, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The values.
    pub x: Vec<f32>,
    /// Number of items.
    pub rows: usize,
    /// Values per item.
    pub cols: usize,
    /// Labels of the items, if the dataset has them.
    pub labels: Option<Vec<u16>>,
}

/// Batches of a view in a given order, prepared ahead by worker threads and delivered in order.
///
/// Worker `w` prepares batches `w, w + W, w + 2W...`, each into its own bounded channel, so at
/// most `2 W` batches wait in memory. Dropping the stream stops the workers.
///
/// **Errors.** Reading an item can fail only for a streamed image folder (a file damaged past
/// its header, which load time cannot see). The worker then sends the error instead of the
/// batch and stops; the stream delivers it in order, and ends. [`BatchStream::try_next`] returns
/// it; the [`Iterator`] (which yields plain batches) panics on the consuming thread with the
/// error, which names the file: a failed batch never passes for the end of an epoch. A worker
/// that panics is reported the same way.
pub struct BatchStream {
    receivers: Vec<Receiver<Result<Batch, DataError>>>,
    next: usize,
    total: usize,
    workers: Vec<JoinHandle<()>>,
}

impl BatchStream {
    /// Streams `order` (positions in `view`) in batches of `batch_size` prepared by `workers`
    /// threads (at least one).
    pub fn new(view: View, order: Vec<usize>, batch_size: usize, workers: usize) -> Self {
        let batch_size = batch_size.max(1);
        let total = order.len().div_ceil(batch_size);
        let order = Arc::new(order);
        let n_workers = workers.min(total).max(if total == 0 { 0 } else { 1 });
        let mut receivers = Vec::with_capacity(n_workers);
        let mut handles = Vec::with_capacity(n_workers);
        for w in 0..n_workers {
            let (tx, rx): (SyncSender<Result<Batch, DataError>>, Receiver<_>) = sync_channel(2);
            let (view, order) = (view.clone(), order.clone());
            let handle = std::thread::Builder::new()
                .name(format!("ae-batch-{w}"))
                .spawn(move || {
                    let mut b = w;
                    while b < total {
                        let end = ((b + 1) * batch_size).min(order.len());
                        let batch = view.try_batch(&order[b * batch_size..end]);
                        let failed = batch.is_err();
                        if tx.send(batch).is_err() || failed {
                            return;
                        }
                        b += n_workers;
                    }
                })
                .expect("spawning a batch worker thread");
            receivers.push(rx);
            handles.push(handle);
        }
        Self { receivers, next: 0, total, workers: handles }
    }

    /// Number of batches the stream yields in all.
    pub fn total(&self) -> usize {
        self.total
    }

    /// The next batch in order, `None` after the last, or the error that stopped it (an item
    /// that could not be read, naming the file; a worker that panicked). After an error the
    /// stream is over: `None` from then on.
    pub fn try_next(&mut self) -> Option<Result<Batch, DataError>> {
        if self.next >= self.total {
            return None;
        }
        let b = self.next;
        let w = b % self.receivers.len();
        let received = self.receivers[w].recv().unwrap_or_else(|_| {
            Err(DataError::Invalid(format!(
                "batch worker ae-batch-{w} stopped before batch {b} of {} (it panicked: see its message above)",
                self.total
            )))
        });
        self.next = if received.is_ok() { b + 1 } else { self.total };
        Some(received)
    }
}

/// Batches in order. Panics on the consuming thread, with the error naming the file, if a batch
/// could not be prepared ([`BatchStream::try_next`] returns the error instead).
impl Iterator for BatchStream {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        self.try_next().map(|b| b.unwrap_or_else(|e| panic!("batch stream: {e}")))
    }
}

impl Drop for BatchStream {
    fn drop(&mut self) {
        self.receivers.clear();
        for h in self.workers.drain(..) {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Features;
    use crate::normalize::Normalization;
    use ae_core::rng::epoch_order;

    #[test]
    fn spread_takes_every_class_in_turn_and_is_seeded() {
        // 300 items stored class by class (100 of class 0, then 1, then 2), as MNIST-like files are.
        let data = Arc::new(Dataset {
            features: Features::F32(vec![0.0; 300]),
            item_shape: vec![1],
            labels: Some((0..300).map(|i| (i / 100) as u16).collect()),
            classes: vec![],
        });
        let view =
            View::new(data.clone(), (0..300).rev().collect(), Arc::new(Normalizer::fit(Normalization::None, &data)));
        let picked = view.spread(7, 3);
        let classes: Vec<u16> = picked.iter().map(|&p| data.labels.as_ref().unwrap()[view.indices[p]]).collect();
        assert_eq!(classes, [0, 1, 2, 0, 1, 2, 0]);
        let mut distinct = picked.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 7);
        assert_eq!(view.spread(7, 3), picked);
        assert_ne!(view.spread(7, 4), picked);
        // Fewer items than asked: each once.
        let small = View::new(data.clone(), vec![0, 150, 299], Arc::new(Normalizer::fit(Normalization::None, &data)));
        let mut all = small.spread(10, 1);
        all.sort();
        assert_eq!(all, [0, 1, 2]);
    }

    fn counting(n: usize) -> Arc<Dataset> {
        Arc::new(Dataset {
            features: Features::F32((0..n * 2).map(|v| v as f32).collect()),
            item_shape: vec![2],
            labels: Some((0..n as u16).collect()),
            classes: vec![],
        })
    }

    #[test]
    fn stream_delivers_every_item_in_order_with_any_worker_count() {
        let data = counting(103);
        let norm = Arc::new(Normalizer::fit(Normalization::None, &data));
        let view = View::all(data, norm);
        let order = epoch_order(103, 9, 0);
        for workers in [0, 1, 3] {
            let batches: Vec<Batch> = BatchStream::new(view.clone(), order.clone(), 10, workers).collect();
            assert_eq!(batches.len(), 11);
            assert_eq!(batches[10].rows, 3);
            let seen: Vec<u16> = batches.iter().flat_map(|b| b.labels.clone().unwrap()).collect();
            assert_eq!(seen, order.iter().map(|&i| i as u16).collect::<Vec<_>>());
            assert_eq!(batches[0].x[0], (order[0] * 2) as f32);
        }
    }

    #[test]
    fn feature_means_cover_every_block_of_the_view() {
        // Items i = (2i, 2i + 1): over items 0..2500 the means are 2499 and 2500 (three blocks).
        let data = counting(3000);
        let norm = Arc::new(Normalizer::fit(Normalization::None, &data));
        let view = View::new(data, (0..2500).collect(), norm);
        assert_eq!(view.feature_means(), vec![2499.0, 2500.0]);
        let empty = View::new(counting(3), vec![], Arc::new(Normalizer::fit(Normalization::None, &counting(3))));
        assert_eq!(empty.feature_means(), vec![0.0, 0.0]);
    }

    #[test]
    fn feature_means_sample_reads_only_the_sampled_items() {
        // Items 2^k: the sum of a sample tells which items it holds.
        let data = Arc::new(Dataset {
            features: Features::F32((0..20).map(|k| (1u32 << k) as f32).collect()),
            item_shape: vec![1],
            labels: None,
            classes: vec![],
        });
        let view = View::all(data.clone(), Arc::new(Normalizer::fit(Normalization::None, &data)));
        assert_eq!(view.feature_means_sample(20, 3), view.feature_means());
        assert_eq!(view.feature_means(), vec![((1u32 << 20) - 1) as f64 / 20.0]);
        let a = view.feature_means_sample(5, 3);
        assert_eq!(a, view.feature_means_sample(5, 3));
        assert_ne!(a, view.feature_means_sample(5, 4));
        let sum = (a[0] * 5.0).round() as u32;
        assert_eq!(sum.count_ones(), 5, "{sum:b}");
    }

    #[test]
    fn split_is_seeded_disjoint_and_complete() {
        let (t, v) = split(100, 0.1, 5);
        assert_eq!((t.len(), v.len()), (90, 10));
        assert_eq!(split(100, 0.1, 5), (t.clone(), v.clone()));
        assert_ne!(split(100, 0.1, 6).1, v);
        let mut all: Vec<usize> = t.iter().chain(&v).copied().collect();
        all.sort();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(split(10, 0.0, 1).1.len(), 0);
    }

    #[test]
    fn dropping_a_stream_early_stops_its_workers() {
        let data = counting(1000);
        let norm = Arc::new(Normalizer::fit(Normalization::None, &data));
        let mut s = BatchStream::new(View::all(data, norm), (0..1000).collect(), 1, 2);
        assert!(s.next().is_some());
        drop(s);
    }
}
