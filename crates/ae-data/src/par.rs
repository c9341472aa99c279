//! Order-keeping parallel map over a slice on scoped threads (image decoding).

/// Maps `f` over `items` on up to `std::thread::available_parallelism` threads, each taking a
/// contiguous run, and returns the results in item order; the error of the earliest failing
/// item is returned (each thread stops at its first error).
pub(crate) fn try_map<T, U, E>(items: &[T], f: impl Fn(&T) -> Result<U, E> + Sync) -> Result<Vec<U>, E>
where
    T: Sync,
    U: Send,
    E: Send,
{
    let threads =
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(items.len().div_ceil(8)).max(1);
    if threads == 1 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    let parts: Vec<Result<Vec<U>, E>> = std::thread::scope(|s| {
        let handles: Vec<_> =
            items.chunks(chunk).map(|run| s.spawn(move || run.iter().map(f).collect::<Result<Vec<U>, E>>())).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    });
    let mut out = Vec::with_capacity(items.len());
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order_and_returns_the_first_error() {
        let items: Vec<u32> = (0..1000).collect();
        assert_eq!(
            super::try_map(&items, |&x| Ok::<_, ()>(x * 2)).unwrap(),
            (0..1000).map(|x| x * 2).collect::<Vec<_>>()
        );
        let r = super::try_map(&items, |&x| if x == 700 || x == 900 { Err(x) } else { Ok(x) });
        assert_eq!(r, Err(700));
        assert_eq!(super::try_map(&[] as &[u32], |&x| Ok::<_, ()>(x)).unwrap(), Vec::<u32>::new());
    }
}
