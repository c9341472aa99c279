//! Train an autoencoder on your own in-memory data: points on a noisy helix in 3-D, squeezed
//! through a 1-D code. Run: `cargo run --release -p ae-models --example own_data`

use std::f64::consts::PI;

use ae_models::AutoencoderConfig;
use ae_models::activation::Activation;
use ae_models::network::DenseConfig;
use ae_models::train::{Trainer, TrainerConfig};
use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let device = Device::flex().autodiff();
    device.seed(42);
    // Your data goes here: one row per item. 2000 points (cos t, sin t, t / 2 pi) plus noise.
    let t = Tensor::<1>::random([2000], Distribution::Uniform(0.0, 2.0 * PI), &device);
    let data = helix(t) + Tensor::random([2000, 3], Distribution::Normal(0.0, 0.03), &device);

    let network = DenseConfig { activation: Activation::Tanh, ..DenseConfig::new(vec![64, 64], 1) };
    let model = AutoencoderConfig::dense(network).init(3, &device)?;
    let trainer = Trainer::new(TrainerConfig { epochs: 30, batch_size: 32, learning_rate: 1e-3, seed: 1 });
    // On a worker of the compute pool, Burn's parallel CPU kernels share the cores with this loop.
    let fitted = ae_models::parallel::on_compute_pool(0, 0, || trainer.fit(model, &data))?;
    for (epoch, stats) in fitted.history.iter().enumerate() {
        println!("epoch {:>2}: loss {:.5}", epoch + 1, stats.loss);
    }

    // The code of clean points along the curve follows t (up to sign and scale).
    let model = fitted.model.valid();
    let ts = [0.5f32, 1.5, 2.5, 3.5, 4.5, 5.5];
    let probe = helix(Tensor::<1>::from_floats(ts, &Device::flex()));
    let codes = model.encode(probe).into_data().try_into_vec::<f32>()?;
    for (t, code) in ts.iter().zip(codes) {
        println!("t = {t:.1} -> code {code:+.3}");
    }
    Ok(())
}

/// The points `(cos t, sin t, t / 2 pi)`, `[n, 3]`.
fn helix(t: Tensor<1>) -> Tensor<2> {
    Tensor::stack(vec![t.clone().cos(), t.clone().sin(), t.div_scalar(2.0 * PI)], 1)
}
