//! The text classifier at intake: an appeal that arrives without a category gets the model's
//! suggestion, applied only when the model is confident enough; the suggestion and its confidence
//! go into the case's audit record either way, so unsure cases wait for a dispatcher.

use std::collections::HashMap;
use std::sync::Arc;

use urbis_text::classifier::Model;

use crate::{Result, Services};

/// A loaded model and the taxonomy it maps onto.
pub struct Classifier {
    model: Arc<Model>,
    /// Model label (category code or name) → category.
    categories: HashMap<String, SuggestedCategory>,
}

/// One category the classifier proposes, with its calibrated probability.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SuggestedCategory {
    pub category_id: i64,
    pub code: String,
    pub name: String,
    pub confidence: f32,
}

/// What the classifier said about one appeal.
#[derive(Debug, Clone)]
pub struct Suggestion {
    pub label: String,
    pub confidence: f32,
    pub category_id: Option<i64>,
    /// Whether the suggestion became the case's category.
    pub applied: bool,
    /// The best (up to) three labels that map to a category, best first.
    pub top: Vec<SuggestedCategory>,
}

impl Services {
    /// Installs a classifier model; its labels are matched to categories by code, then by name.
    /// Returns how many of the model's labels matched a category.
    pub async fn set_classifier(&self, model: Model) -> Result<usize> {
        self.install_classifier(Arc::new(model)).await
    }

    /// Matches the installed model's labels to the taxonomy again (after a taxonomy import, on
    /// this node or another); nothing without a model.
    pub(crate) async fn remap_classifier(&self) -> Result<()> {
        let installed = self
            .inner
            .classifier
            .read()
            .ok()
            .and_then(|guard| guard.clone());
        if let Some(classifier) = installed {
            self.install_classifier(classifier.model.clone()).await?;
        }
        Ok(())
    }

    async fn install_classifier(&self, model: Arc<Model>) -> Result<usize> {
        let mut categories = HashMap::new();
        for category in self.list_categories().await? {
            let entry = SuggestedCategory {
                category_id: category.id,
                code: category.code.clone(),
                name: category.name.clone(),
                confidence: 0.0,
            };
            categories.insert(category.name.clone(), entry.clone());
            categories.insert(category.code.clone(), entry);
        }
        let matched = model
            .labels()
            .iter()
            .filter(|label| categories.contains_key(label.as_str()))
            .count();
        let classifier = Arc::new(Classifier { model, categories });
        if let Ok(mut guard) = self.inner.classifier.write() {
            *guard = Some(classifier);
        }
        Ok(matched)
    }

    /// Classifies a text with the installed model, if any.
    pub fn classify(&self, text: &str) -> Option<Suggestion> {
        let classifier = self.inner.classifier.read().ok()?.clone()?;
        let prediction = classifier.model.predict(text);
        let category_id = classifier
            .categories
            .get(&prediction.label)
            .map(|c| c.category_id);
        let applied = category_id.is_some()
            && prediction.confidence >= self.config().auto_category_min_confidence;
        let top = prediction
            .top
            .iter()
            .filter_map(|(label, confidence)| {
                classifier.categories.get(label).map(|c| SuggestedCategory {
                    confidence: *confidence,
                    ..c.clone()
                })
            })
            .collect();
        Some(Suggestion {
            label: prediction.label,
            confidence: prediction.confidence,
            category_id,
            applied,
            top,
        })
    }
}
