//! The `ae-train` binary.

use clap::Parser;

fn main() {
    // Mesa's Vulkan drivers ask libwayland for a display while wgpu lists adapters, and
    // libwayland prints "error: XDG_RUNTIME_DIR is invalid" when the variable is unset (servers,
    // CI). Point it at the temp folder so that the only `error:` lines are ours.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // SAFETY: first statement of main, before any other thread exists.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir()) };
    }
    ae_train::alloc::tune_for_training();
    let cli = ae_train::cli::Cli::parse();
    // On a worker of the compute pool, Burn's parallel CPU kernels run partly on this thread
    // instead of waking the pool and sleeping for each one (+14-35 % steps/s on 2 cores).
    // An MPI job's processes join it on the thread that trains (`mpirun -np N ae-train ...`).
    let work = || {
        ae_train::training::distributed::start()?;
        let result = ae_train::cli::run(cli);
        ae_train::training::distributed::finish();
        result
    };
    if let Err(e) = ae_models::parallel::on_compute_pool(0, 0, work) {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}
