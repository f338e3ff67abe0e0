//! dolma 1.2.1's `code_starcoder_taggers_v2` (StarCoder-style code signals), in parts:
//! [`python`] measures a Python file's comments and docstrings as BigCode's
//! `get_text_python` does under CPython 3.11.

pub mod python;
