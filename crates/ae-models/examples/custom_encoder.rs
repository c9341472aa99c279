//! Your own encoder in a variational autoencoder: a residual MLP (any Burn module would do) in
//! front of the library's Gaussian bottleneck, dense decoder and Bernoulli likelihood, trained
//! by the library's trainer. Run: `cargo run --release -p ae-models --example custom_encoder`

use ae_models::activation::Activation;
use ae_models::bottleneck::{Bottleneck, BottleneckConfig};
use ae_models::loss::ReconstructionLoss;
use ae_models::network::{DenseConfig, DenseDecoder};
use ae_models::schedule::Schedule;
use ae_models::step::Trainable;
use ae_models::train::{Trainer, TrainerConfig};
use ae_models::{ForwardOutput, LossTerm};
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Device, Tensor, TensorData};

/// The custom encoder: `h = relu(W1 x)`, then `h + relu(W2 h)`.
#[derive(Module, Debug)]
struct ResidualMlp {
    input: Linear,
    block: Linear,
}

impl ResidualMlp {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let h = relu(self.input.forward(x));
        h.clone() + relu(self.block.forward(h))
    }
}

/// The model: custom encoder, library bottleneck and decoder.
#[derive(Module, Debug)]
struct ResidualVae {
    encoder: ResidualMlp,
    bottleneck: Bottleneck,
    decoder: DenseDecoder,
}

impl Trainable for ResidualVae {
    fn forward_at(&self, input: Tensor<2>, target: Option<Tensor<2>>, schedule: Schedule) -> ForwardOutput {
        let target = target.unwrap_or_else(|| input.clone());
        // A reparameterised sample of q(z|x) and its KL term (weighted by beta).
        let out = self.bottleneck.forward(self.encoder.forward(input), schedule);
        let logits = self.decoder.forward(out.code.clone());
        let reconstruction = sigmoid(logits.clone());
        let nll = ReconstructionLoss::Bernoulli.mean(logits.clone(), reconstruction.clone(), target);
        let mut terms = vec![LossTerm::new("reconstruction", nll)];
        terms.extend(out.terms);
        ForwardOutput::from_terms(reconstruction, logits, out.code, terms)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let device = Device::flex().autodiff();
    let (pixels, width, code) = (16, 64, 2);
    let model = ResidualVae {
        encoder: ResidualMlp {
            input: LinearConfig::new(pixels, width).init(&device),
            block: LinearConfig::new(width, width).init(&device),
        },
        bottleneck: BottleneckConfig::gaussian(1.0).init(width, code, Activation::Linear, &device),
        decoder: DenseConfig::new(vec![width], code).init(pixels, &device).1,
    };
    // 4x4 images of one horizontal or vertical bar, 512 of them.
    let bars: Vec<f32> = (0..512 * pixels)
        .map(|i| {
            let (item, pixel) = (i / pixels, i % pixels);
            let (row, col, bar) = (pixel / 4, pixel % 4, (item / 2) % 4);
            f32::from(u8::from(if item % 2 == 0 { row == bar } else { col == bar }))
        })
        .collect();
    let data = Tensor::<2>::from_data(TensorData::new(bars, [512, pixels]), &device);

    let trainer = Trainer::new(TrainerConfig { epochs: 40, batch_size: 32, learning_rate: 3e-3, seed: 3 });
    let fitted = trainer.fit(model, &data)?;
    for (epoch, stats) in fitted.history.iter().enumerate() {
        let (nll, kl) = (stats.terms["reconstruction"], stats.terms["kl"]);
        println!(
            "epoch {:>2}: -ELBO {:7.3} = reconstruction {nll:7.3} + KL {kl:6.3} (nats per image)",
            epoch + 1,
            nll + kl
        );
    }
    Ok(())
}
