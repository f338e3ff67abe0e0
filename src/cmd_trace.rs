//! `loam trace`: arguments and printing around `loam-trace` (build an exact-match index of a
//! mix; find a text's verbatim spans with their documents and provenance).

use crate::UsageError;
use anyhow::Result;
use clap::{Args, Subcommand};
use loam_trace::build::default_index_dir;
use loam_trace::{BuildOptions, Index, TraceError};
use std::path::PathBuf;

/// `loam trace MIX_DIR --text …` or `loam trace build MIX_DIR`.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct TraceArgs {
    #[command(subcommand)]
    action: Option<TraceAction>,
    /// Mix directory (its index is `<output>/trace/<mix>/<version>` for a pipeline's
    /// `<output>/<mix>/<version>`, unless --index is given).
    #[arg(required = true)]
    mix: Option<PathBuf>,
    /// The text to look for (a model's output, a quote).
    #[arg(long, required_unless_present = "file", conflicts_with = "file")]
    text: Option<String>,
    /// Read the text from a file.
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// Only the exact number of occurrences of the whole text.
    #[arg(long)]
    count: bool,
    /// Also write an HTML page: the text with its spans highlighted, the documents beside.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Documents shown per span.
    #[arg(long, default_value_t = 5)]
    max_docs: usize,
    /// Shortest span reported, in tokens (token index; default 5) or bytes (text; default 20).
    #[arg(long)]
    min_len: Option<usize>,
    /// The index directory.
    #[arg(long, value_name = "DIR")]
    index: Option<PathBuf>,
}

#[derive(Subcommand)]
enum TraceAction {
    /// Build the index of a mix: over its `loam tokens` arrays when there are any (beside a
    /// pipeline's mix, or --tokens), else over its documents' text.
    Build {
        #[command(flatten)]
        build: BuildArgs,
        /// This task's index among --world tasks sharing the shards (a final run without
        /// them writes trace.json).
        #[arg(long, default_value_t = 0)]
        rank: usize,
        /// Number of tasks sharing the shards.
        #[arg(long, default_value_t = 1)]
        world: usize,
    },
}

/// What an index is built from and where it goes (`loam trace build`, `loam slurm trace`).
#[derive(Args, Debug, Clone)]
pub struct BuildArgs {
    /// Mix directory.
    pub mix: PathBuf,
    /// The token arrays' directory (`loam tokens` destination).
    #[arg(long, value_name = "DIR")]
    pub tokens: Option<PathBuf>,
    /// Index the text even when token arrays exist.
    #[arg(long, conflicts_with = "tokens")]
    pub text: bool,
    /// Where the index goes (default `<output>/trace/<mix>/<version>`).
    #[arg(long, value_name = "DIR")]
    pub index: Option<PathBuf>,
    /// The most symbols (tokens, or bytes of text) in one shard: a larger file is
    /// indexed in several shards, split at document boundaries, so building takes at most
    /// about 32 bytes × N of memory per thread [default: 134217728, ≈ 4 GiB]
    #[arg(long, value_name = "N")]
    pub max_symbols: Option<u64>,
}

fn map_err(e: TraceError) -> anyhow::Error {
    match e {
        TraceError::Usage(m) => anyhow::Error::new(UsageError(m)),
        e => anyhow::Error::new(e),
    }
}

/// Runs `loam trace`.
pub fn trace(args: TraceArgs, threads: usize, json: bool) -> Result<()> {
    if let Some(TraceAction::Build {
        build:
            BuildArgs {
                mix,
                tokens,
                text,
                index,
                max_symbols,
            },
        rank,
        world,
    }) = args.action
    {
        if max_symbols == Some(0) {
            return Err(anyhow::Error::new(UsageError(
                "--max-symbols must be at least 1".into(),
            )));
        }
        let opts = BuildOptions {
            mix,
            tokens,
            text,
            index,
            threads,
            rank,
            world,
            max_symbols: max_symbols.unwrap_or(0),
        };
        println!("{}", loam_trace::build(&opts).map_err(map_err)?);
        return Ok(());
    }
    let mix = args
        .mix
        .ok_or_else(|| anyhow::Error::new(UsageError("loam trace: give MIX_DIR".into())))?;
    let text = match (args.text, args.file) {
        (Some(t), _) => t,
        (None, Some(f)) => std::fs::read_to_string(&f)
            .map_err(|e| anyhow::Error::new(UsageError(format!("{}: {e}", f.display()))))?,
        (None, None) => {
            return Err(anyhow::Error::new(UsageError(
                "loam trace: give --text TEXT or --file FILE".into(),
            )))
        }
    };
    let dir = args.index.unwrap_or_else(|| default_index_dir(&mix));
    let index = Index::open(&dir).map_err(map_err)?;
    let min_len = args.min_len.unwrap_or(match index.info().kind {
        loam_trace::Kind::Tokens => 5,
        loam_trace::Kind::Text => 20,
    });
    let answer = index
        .answer(&text, args.count, min_len, args.max_docs)
        .map_err(map_err)?;
    if let Some(p) = &args.html {
        std::fs::write(p, answer.to_html(&text))?;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        print!("{answer}");
    }
    Ok(())
}
