//! `targets::code_taggers` (fuzz/targets.rs), coverage-guided. CI runs the same body on stable
//! over mutated real files (tests/fuzz.rs); `scripts/fuzz.sh` runs this for a while.
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::code_taggers(data));
