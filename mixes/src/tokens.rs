//! Token counts for budgets (`max_tokens`) and the manifest: whitespace tokens by default, or
//! a named byte-pair encoding.
//!
//! The BPEs are OpenAI's tiktoken encodings, as bundled (vocabulary files included, nothing
//! downloaded) by the `tiktoken-rs` crate: `cl100k_base` is the pre-tokenizer and vocabulary
//! of Ai2's `dolma2-tokenizer` (OLMo 2), `r50k_base` is GPT-2's. Text is counted as ordinary
//! text: a document containing `<|endoftext|>` counts its characters, as a pretraining
//! tokenizer that does not allow special tokens in documents would.

use serde::{Deserialize, Serialize};

/// How tokens are counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tokenizer {
    /// Words separated by Unicode whitespace ([`crate::mix::whitespace_tokens`]).
    #[default]
    Whitespace,
    /// tiktoken `cl100k_base` (GPT-4; OLMo 2's `dolma2-tokenizer` vocabulary).
    Cl100kBase,
    /// tiktoken `o200k_base` (GPT-4o).
    O200kBase,
    /// tiktoken `p50k_base` (Codex).
    P50kBase,
    /// tiktoken `r50k_base` (GPT-2, GPT-3).
    R50kBase,
}

impl Tokenizer {
    /// Every name a config accepts.
    pub const NAMES: &'static [&'static str] = &[
        "whitespace",
        "cl100k_base",
        "o200k_base",
        "p50k_base",
        "r50k_base",
    ];

    /// Whether this is the default (whitespace) counter.
    pub fn is_whitespace(&self) -> bool {
        *self == Tokenizer::Whitespace
    }

    /// The name used in configs and manifests.
    pub fn name(self) -> &'static str {
        match self {
            Tokenizer::Whitespace => "whitespace",
            Tokenizer::Cl100kBase => "cl100k_base",
            Tokenizer::O200kBase => "o200k_base",
            Tokenizer::P50kBase => "p50k_base",
            Tokenizer::R50kBase => "r50k_base",
        }
    }

    /// Tokens of `text`. A BPE's tables are built once per process, on first use (≈ 0.1–0.3 s).
    pub fn count(self, text: &str) -> u64 {
        use tiktoken_rs as tk;
        let n = match self {
            Tokenizer::Whitespace => return crate::mix::whitespace_tokens(text),
            Tokenizer::Cl100kBase => tk::cl100k_base_singleton().count_ordinary(text),
            Tokenizer::O200kBase => tk::o200k_base_singleton().count_ordinary(text),
            Tokenizer::P50kBase => tk::p50k_base_singleton().count_ordinary(text),
            Tokenizer::R50kBase => tk::r50k_base_singleton().count_ordinary(text),
        };
        n as u64
    }

    /// What a budget's counting pass keeps for the mix pass, from a unit's draws (each
    /// eligible document's tokens, in order): only a BPE's counts are worth holding (a
    /// whitespace count is cheaper to redo); `None` also when a count does not fit 32 bits.
    pub fn keep_counts(self, draws: &[(f64, u64)]) -> Option<Vec<u32>> {
        if self.is_whitespace() {
            return None;
        }
        draws.iter().map(|d| u32::try_from(d.1).ok()).collect()
    }

    /// Tokens of a unit's `i`th eligible document: taken from `counted` (the counting pass's,
    /// [`Tokenizer::keep_counts`]) when it holds them, else counted.
    pub fn count_or_take(self, counted: Option<&[u32]>, i: u64, text: &str) -> u64 {
        let known = counted.and_then(|c| usize::try_from(i).ok().and_then(|i| c.get(i)));
        match known {
            Some(&t) => u64::from(t),
            None => self.count(text),
        }
    }
}

/// Fails a unit (`what` names it) whose eligible documents are not as many as the counts its
/// mix pass took: its input changed between the passes, and the budget came from other data.
pub fn check_counted(counted: Option<&[u32]>, eligible: u64, what: &str) -> Result<(), String> {
    match counted {
        Some(c) if c.len() as u64 != eligible => Err(format!(
            "{what}: {eligible} eligible documents now, {} in the token-counting pass: its input changed during the run",
            c.len()
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde() {
        for name in Tokenizer::NAMES {
            let t: Tokenizer = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(t.name(), *name);
            assert_eq!(serde_json::to_value(t).unwrap(), serde_json::json!(name));
        }
        assert!(serde_json::from_value::<Tokenizer>(serde_json::json!("gpt2")).is_err());
    }

    #[test]
    fn counts_match_tiktoken() {
        // Token ids published for these strings (tiktoken's README and OpenAI's cookbook):
        // cl100k_base "hello world" = [15339, 1917]; "tiktoken is great!" =
        // [83, 1609, 5963, 374, 2294, 0]; GPT-2 (r50k_base) "hello world" = [31373, 995].
        let cl = tiktoken_rs::cl100k_base_singleton();
        assert_eq!(cl.encode_ordinary("hello world"), [15339, 1917]);
        assert_eq!(
            cl.encode_ordinary("tiktoken is great!"),
            [83, 1609, 5963, 374, 2294, 0]
        );
        assert_eq!(
            tiktoken_rs::r50k_base_singleton().encode_ordinary("hello world"),
            [31373, 995]
        );
        assert_eq!(Tokenizer::Cl100kBase.count("tiktoken is great!"), 6);
        assert_eq!(Tokenizer::Whitespace.count("tiktoken is great!"), 3);
        // Special-token text is ordinary text in a document.
        assert!(Tokenizer::Cl100kBase.count("<|endoftext|>") > 1);
        assert_eq!(Tokenizer::O200kBase.count(""), 0);
        assert!(Tokenizer::P50kBase.count("fn main() {}") > 0);
    }
}
