//! Chinese word segmentation: jieba with the city's own words added.
//!
//! Place names, department names and local words ("阳光小区", "城管执法局", "12345") are often unknown to the general
//! dictionary and get cut into pieces; [`Segmenter::with_user_words`] adds them so they stay whole.
//! Loading the built-in dictionary takes tens of milliseconds, so build a segmenter once and share it
//! ([`Segmenter::shared_default`] does that for the plain dictionary).

use std::sync::OnceLock;

use jieba_rs::Jieba;

/// A jieba segmenter with optional user words.
pub struct Segmenter {
    jieba: Jieba,
    user_words: Vec<String>,
}

impl Segmenter {
    /// Returns a segmenter with jieba's built-in dictionary only.
    pub fn new() -> Segmenter {
        Segmenter {
            jieba: Jieba::new(),
            user_words: Vec::new(),
        }
    }

    /// Returns a segmenter that also knows `words` (place names, departments, city words).
    /// Each word gets a frequency high enough for jieba to keep it whole; blank entries are ignored.
    pub fn with_user_words(words: &[&str]) -> Segmenter {
        let mut segmenter = Segmenter::new();
        for word in words {
            let word = word.trim();
            if word.is_empty() {
                continue;
            }
            segmenter.jieba.add_word(word, None, None);
            segmenter.user_words.push(word.to_owned());
        }
        segmenter
    }

    /// Returns the process-wide segmenter with the built-in dictionary, built on first use.
    pub fn shared_default() -> &'static Segmenter {
        static SHARED: OnceLock<Segmenter> = OnceLock::new();
        SHARED.get_or_init(Segmenter::new)
    }

    /// Returns the user words this segmenter was built with, trimmed, in the order given.
    pub fn user_words(&self) -> &[String] {
        &self.user_words
    }

    /// Cuts `text` into tokens (jieba's accurate mode with the HMM for unknown words).
    /// The tokens cover the text exactly, whitespace and punctuation included.
    pub fn cut<'a>(&self, text: &'a str) -> Vec<&'a str> {
        self.jieba
            .cut(text, true)
            .into_iter()
            .map(|token| token.word)
            .collect()
    }

    /// Cuts `text` like [`Segmenter::cut`] and returns each token with its part-of-speech tag from the
    /// dictionary ("n", "ns", "v", …; "x" for words the dictionary does not know).
    pub fn tag<'a>(&'a self, text: &'a str) -> Vec<(&'a str, &'a str)> {
        self.jieba
            .tag(text, true)
            .into_iter()
            .map(|t| {
                // jieba guesses a tag for a Chinese word its dictionary lacks (an HMM over
                // its own tagged corpus); the place finder was built on such words read as
                // unknown ("x"), so that is what they stay.
                let guessed =
                    t.word.chars().any(|c| c >= '\u{2e80}') && !self.jieba.has_word(t.word);
                (t.word, if guessed { "x" } else { t.tag })
            })
            .collect()
    }

    /// Returns the word tokens of `text`: like [`Segmenter::cut`] without whitespace- and punctuation-only tokens.
    pub fn words<'a>(&self, text: &'a str) -> Vec<&'a str> {
        let mut words = self.cut(text);
        words.retain(|token| token.chars().any(char::is_alphanumeric));
        words
    }
}

impl Default for Segmenter {
    fn default() -> Segmenter {
        Segmenter::new()
    }
}

impl std::fmt::Debug for Segmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segmenter")
            .field("user_words", &self.user_words)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
