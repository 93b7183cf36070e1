//! Class-balanced subsets: the first `n/classes` examples of each of the first `classes`
//! classes, in the order the source presents them (file order for CIFAR-10 and MNIST).

use anyhow::{bail, ensure, Result};

/// Streams labels through a quota of `per_class` examples for each class `< classes`.
#[derive(Clone, Debug)]
pub(crate) struct BalancedPicker {
    per_class: usize,
    counts: Vec<usize>,
    missing: usize,
}

impl BalancedPicker {
    /// A picker for `n` examples over `classes` classes (`n` must be a positive multiple of
    /// `classes`; `source` names the data set in errors).
    pub(crate) fn new(n: usize, classes: usize, source: &str) -> Result<Self> {
        ensure!(classes > 0, "{source}: classes must be at least 1");
        ensure!(
            n > 0 && n % classes == 0,
            "{source}: n = {n} must be a positive multiple of classes = {classes} (the subset takes n/classes examples of each class)"
        );
        Ok(BalancedPicker {
            per_class: n / classes,
            counts: vec![0; classes],
            missing: n,
        })
    }

    /// Whether the example with this label joins the subset (and counts it if so).
    pub(crate) fn offer(&mut self, label: usize) -> bool {
        match self.counts.get_mut(label) {
            Some(c) if *c < self.per_class => {
                *c += 1;
                self.missing -= 1;
                true
            }
            _ => false,
        }
    }

    /// True once every class has its quota.
    pub(crate) fn is_full(&self) -> bool {
        self.missing == 0
    }

    /// Errors naming the first class that fell short (`seen` describes what was searched).
    pub(crate) fn finish(&self, source: &str, seen: &str) -> Result<()> {
        if let Some((c, &have)) = self
            .counts
            .iter()
            .enumerate()
            .find(|(_, &h)| h < self.per_class)
        {
            bail!(
                "{source}: class {c} has only {have} examples in {seen}, but n/classes = {} are needed; lower n or classes",
                self.per_class
            );
        }
        Ok(())
    }
}

/// Indices (ascending) of the class-balanced subset of `labels`: the first `n/classes`
/// examples of each class `0..classes`. Errors if `n` is not a positive multiple of `classes`
/// or a class has too few examples.
pub fn balanced_indices(labels: &[usize], n: usize, classes: usize) -> Result<Vec<usize>> {
    let mut picker = BalancedPicker::new(n, classes, "balanced subset")?;
    let mut picked = Vec::with_capacity(n);
    for (i, &l) in labels.iter().enumerate() {
        if picker.is_full() {
            break;
        }
        if picker.offer(l) {
            picked.push(i);
        }
    }
    picker.finish("balanced subset", &format!("{} labels", labels.len()))?;
    Ok(picked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn picks_first_of_each_class_in_order() {
        let labels = [3, 0, 1, 0, 2, 1, 0, 1, 0];
        assert_eq!(balanced_indices(&labels, 4, 2).unwrap(), vec![1, 2, 3, 5]);
        let e = balanced_indices(&labels, 6, 3).unwrap_err().to_string();
        assert!(e.contains("class 2 has only 1"), "{e}");
        assert!(balanced_indices(&labels, 5, 2)
            .unwrap_err()
            .to_string()
            .contains("multiple"));
        assert!(balanced_indices(&labels, 0, 2).is_err());
        assert!(balanced_indices(&labels, 2, 0).is_err());
    }

    proptest! {
        /// Exactly n/classes of each class `< classes`, none of the others, ascending, and
        /// each picked index is the j-th occurrence of its class with j < n/classes.
        #[test]
        fn balanced_subset_invariants(
            labels in prop::collection::vec(0usize..6, 0..300),
            classes in 1usize..6,
            per_class in 1usize..20,
        ) {
            let n = per_class * classes;
            let enough = (0..classes).all(|c| labels.iter().filter(|&&l| l == c).count() >= per_class);
            match balanced_indices(&labels, n, classes) {
                Ok(idx) => {
                    prop_assert!(enough);
                    prop_assert_eq!(idx.len(), n);
                    prop_assert!(idx.windows(2).all(|w| w[0] < w[1]));
                    for c in 0..classes {
                        let first: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).take(per_class).collect();
                        let got: Vec<usize> = idx.iter().copied().filter(|&i| labels[i] == c).collect();
                        prop_assert_eq!(got, first);
                    }
                }
                Err(_) => prop_assert!(!enough),
            }
        }
    }
}
