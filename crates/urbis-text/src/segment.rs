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
                let guessed = is_unknown_chinese(&self.jieba, t.word);
                (t.word, if guessed { "x" } else { t.tag })
            })
            .collect()
    }

    /// Returns the tag [`Segmenter::tag`] gives `word` where a text's cut yields it as one token,
    /// without tagging the text: "x" for a Chinese word the dictionary lacks, else the dictionary's
    /// tag (or jieba's guess for a Latin or digit word it lacks). `None` when the dictionary's best
    /// cut of the word alone splits it; then only tagging the whole text tells.
    pub fn word_tag<'a>(&'a self, word: &'a str) -> Option<&'a str> {
        if is_unknown_chinese(&self.jieba, word) {
            return Some("x");
        }
        match self.jieba.tag(word, false).as_slice() {
            [only] if only.word == word => Some(only.tag),
            _ => None,
        }
    }

    /// Returns the word tokens of `text`: like [`Segmenter::cut`] without whitespace- and punctuation-only tokens.
    pub fn words<'a>(&self, text: &'a str) -> Vec<&'a str> {
        let mut words = self.cut(text);
        words.retain(|token| token.chars().any(char::is_alphanumeric));
        words
    }
}

/// True for a word with Chinese characters that the dictionary lacks: jieba guesses its tag, the
/// place finder reads it as unknown.
fn is_unknown_chinese(jieba: &Jieba, word: &str) -> bool {
    word.chars().any(|c| c >= '\u{2e80}') && !jieba.has_word(word)
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
