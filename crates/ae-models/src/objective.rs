//! The training objective as a forward pass reports it: named, weighted loss terms
//! ([`LossTerm`]) and their sum, with the reconstruction and the code ([`ForwardOutput`]). Below
//! every axis: a bottleneck or a penalty adds terms without knowing the autoencoder.

use burn::tensor::Tensor;

/// One named, weighted part of the training objective.
#[derive(Debug, Clone)]
pub struct LossTerm {
    /// Name as reported in metrics (`reconstruction`, `l1`, `kl`...).
    pub name: &'static str,
    /// Its value, already weighted, as a `[1]` tensor.
    pub value: Tensor<1>,
}

impl LossTerm {
    /// A new term.
    pub fn new(name: &'static str, value: Tensor<1>) -> Self {
        Self { name, value }
    }
}

/// Everything a forward pass produces.
#[derive(Debug, Clone)]
pub struct ForwardOutput {
    /// The reconstruction, `[batch, input]`, after the output activation.
    pub reconstruction: Tensor<2>,
    /// The decoder's pre-activation output.
    pub logits: Tensor<2>,
    /// The code handed to the decoder, `[batch, code]`.
    pub code: Tensor<2>,
    /// Every term of the objective; `terms[0]` is the reconstruction loss.
    pub terms: Vec<LossTerm>,
    /// The sum of the terms: what training minimises.
    pub loss: Tensor<1>,
}

impl ForwardOutput {
    /// Assembles a forward pass from its parts; `loss` is the sum of `terms` (the reconstruction
    /// term first, by convention). For models of your own (see
    /// [`Trainable`](crate::step::Trainable)).
    pub fn from_terms(reconstruction: Tensor<2>, logits: Tensor<2>, code: Tensor<2>, terms: Vec<LossTerm>) -> Self {
        let loss = match terms.split_first() {
            Some((first, rest)) => rest.iter().fold(first.value.clone(), |acc, t| acc + t.value.clone()),
            None => Tensor::zeros([1], &reconstruction.device()),
        };
        Self { reconstruction, logits, code, terms, loss }
    }

    /// The value of the term called `name`, read back to the host (`None` if there is none).
    pub fn term(&self, name: &str) -> Option<f64> {
        self.terms.iter().find(|t| t.name == name).map(|t| t.value.clone().into_scalar::<f32>() as f64)
    }
}
