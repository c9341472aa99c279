//! Autoencoders for [Burn](https://burn.dev), composed from five independent axes.
//!
//! | axis | type | values today |
//! |---|---|---|
//! | network | [`network::NetworkConfig`] | dense MLP (optionally tied), convolutional (images, series), LSTM (series) |
//! | bottleneck | [`bottleneck::BottleneckConfig`] | deterministic, identity, Gaussian (VAE), top-k (k-sparse), binary (hashing), adversarial (AAE) |
//! | penalty | [`penalty::PenaltyConfig`] | L1 activity, KL sparsity, contractive |
//! | corruption | [`corruption::CorruptionConfig`] | Gaussian, masking, salt-and-pepper, Cauchy |
//! | loss | [`loss::ReconstructionLoss`] | MSE, BCE, MAE, correntropy, Bernoulli and Gaussian likelihoods |
//!
//! A whole model is described by one [`AutoencoderConfig`]; [`AutoencoderConfig::init`] builds an
//! [`Autoencoder`] on any Burn [`Device`](burn::tensor::Device) (CPU or GPU, chosen at run time).
//! [`Autoencoder::forward`] returns the reconstruction, the code and every loss term by name, so
//! a training loop never needs to know which variant it trains.
//!
//! Training: [`step::train_step`] is the one update (corrupt, forward, backward, optimizer step;
//! the discriminator's too for an adversarial model); [`train::fit_epoch`] runs it over any
//! iterator of batches and [`train::Trainer`] over a dataset held in a tensor. Models of your own
//! (a custom encoder in front of a library bottleneck and decoder) train the same way by
//! implementing [`step::Trainable`]. Runnable programs: `examples/own_data.rs` and
//! `examples/custom_encoder.rs`.
//!
//! # Examples
//!
//! A variational autoencoder: its forward pass, its named loss terms, one training step.
//!
//! ```
//! use ae_models::AutoencoderConfig;
//! use ae_models::activation::Activation;
//! use ae_models::bottleneck::BottleneckConfig;
//! use ae_models::loss::ReconstructionLoss;
//! use ae_models::network::DenseConfig;
//! use ae_models::schedule::Schedule;
//! use ae_models::step::{Optimizers, train_step};
//! use burn::optim::AdamConfig;
//! use burn::tensor::{Device, Distribution, Tensor};
//!
//! // 784-256-16 with a Bernoulli decoder (data in [0, 1]).
//! let network = DenseConfig { output_activation: Activation::Sigmoid, ..DenseConfig::new(vec![256], 16) };
//! let config = AutoencoderConfig::dense(network)
//!     .with_bottleneck(BottleneckConfig::gaussian(1.0))
//!     .with_loss(ReconstructionLoss::Bernoulli);
//! let device = Device::flex().autodiff(); // autodiff: this model will be trained
//! let model = config.init(784, &device).unwrap();
//!
//! let x = Tensor::<2>::random([32, 784], Distribution::Uniform(0.0, 1.0), &device);
//! let out = model.forward(x.clone(), None);
//! assert_eq!(out.reconstruction.dims(), [32, 784]);
//! assert_eq!(out.code.dims(), [32, 16]);
//! let names: Vec<&str> = out.terms.iter().map(|t| t.name).collect();
//! assert_eq!(names, ["reconstruction", "kl"]); // -ELBO = reconstruction + kl, in nats
//! assert!(out.term("kl").unwrap() >= 0.0);
//!
//! let mut optims = Optimizers::new(&model, || AdamConfig::new().init());
//! let (model, step) = train_step(model, &mut optims, x, Schedule::at(0, 100), 1e-3);
//! assert_eq!(step.terms.len(), 2);
//! let samples = model.generate(4, &device).unwrap(); // decoded draws from the prior
//! assert_eq!(samples.dims(), [4, 784]);
//! ```

#![warn(missing_docs)]

pub mod activation;
pub mod autoencoder;
pub mod average;
pub mod bottleneck;
pub mod corruption;
pub mod error;
pub mod likelihood;
pub mod loss;
pub mod network;
pub mod objective;
pub mod output_bias;
pub mod parallel;
pub mod penalty;
pub mod precision;
pub mod replicas;
pub mod schedule;
pub mod step;
pub mod train;
#[cfg(feature = "wgpu")]
pub mod wgpu_shaders;

pub use autoencoder::{Autoencoder, AutoencoderConfig};
pub use error::ConfigError;
pub use objective::{ForwardOutput, LossTerm};
