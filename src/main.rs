//! The `loam` command line.

mod cmd_dedupe;
mod cmd_manifest;
mod cmd_mix;
mod dolma_cmds;
mod pipeline_config;
mod run;
mod ui;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// A usage or config problem: exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

#[derive(Parser)]
#[command(
    name = "loam",
    version,
    about = "Open, deterministic data curation for LLM pretraining corpora (dolma-compatible)",
    after_help = "Exit codes: 0 ok, 1 some input failed, 2 usage or config error."
)]
struct Cli {
    /// Worker threads (0: one per core). Outputs never depend on it.
    #[arg(long, short = 'j', global = true, default_value_t = 0)]
    threads: usize,
    /// Replace outputs made by a different config instead of refusing.
    #[arg(long, global = true)]
    overwrite: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Kind {
    Pipeline,
    Tag,
    Dedupe,
    Mix,
}

#[derive(Subcommand)]
enum DedupeAction {
    /// Print the Bloom filter's memory and expected false-positive rate; touch no data.
    Plan {
        /// dolma deduper config.
        #[arg(short, long)]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Run a staged pipeline (read → tag → dedupe → mix) from loam's pipeline config.
    Run {
        /// Pipeline config (YAML or JSON).
        #[arg(value_name = "PIPELINE.yaml", required_unless_present = "config")]
        pipeline: Option<PathBuf>,
        /// Same as the positional argument.
        #[arg(short, long, conflicts_with = "pipeline")]
        config: Option<PathBuf>,
    },
    /// Tag documents with a dolma `tag` config.
    Tag {
        /// dolma tagger config.
        #[arg(short, long)]
        config: PathBuf,
    },
    /// Deduplicate with a dolma `dedupe` config (`loam dedupe plan -c …` sizes it first).
    #[command(args_conflicts_with_subcommands = true)]
    Dedupe {
        /// dolma deduper config.
        #[arg(short, long)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        action: Option<DedupeAction>,
    },
    /// Mix with a dolma `mix` config.
    Mix {
        /// dolma mixer config.
        #[arg(short, long)]
        config: PathBuf,
    },
    /// Check a config without touching data; lists every problem with its field path.
    Validate {
        /// The config.
        #[arg(short, long)]
        config: PathBuf,
        /// Config kind; guessed from its keys when absent.
        #[arg(long, value_enum)]
        kind: Option<Kind>,
    },
    /// List the built-in taggers.
    Taggers,
    /// Check or compare mixes through their manifests.
    Manifest {
        #[command(subcommand)]
        action: ManifestAction,
    },
    /// Rebuild a mix from its manifest and compare every output byte.
    Reproduce {
        /// The manifest (or its mix directory).
        manifest: PathBuf,
        /// Where to rebuild (default: out/reproduce-<content id>).
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ManifestAction {
    /// Recompute every checksum; report missing, changed and unlisted files.
    Verify {
        /// Mix directory or manifest file.
        dir: PathBuf,
        /// Check only the mix's own files, not its inputs and models.
        #[arg(long)]
        outputs_only: bool,
    },
    /// Per-stage and per-rule deltas between two mixes, from their ledgers.
    Diff {
        /// First mix directory or manifest.
        a: PathBuf,
        /// Second mix directory or manifest.
        b: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LOAM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let opts = run::RunOptions {
        threads: cli.threads,
        overwrite: cli.overwrite,
    };
    let result = match cli.command {
        Command::Run { pipeline, config } => match pipeline.or(config) {
            Some(p) => run::run_pipeline(&p, opts).map(Some),
            None => Err(anyhow::Error::new(UsageError(
                "no pipeline config given".into(),
            ))),
        },
        Command::Tag { config } => dolma_cmds::tag(&config, opts).map(Some),
        Command::Dedupe {
            action: Some(DedupeAction::Plan { config }),
            ..
        } => cmd_dedupe::plan(&config).map(|_| None),
        Command::Dedupe {
            config: Some(c), ..
        } => cmd_dedupe::dedupe(&c, opts).map(Some),
        Command::Dedupe { config: None, .. } => Err(anyhow::Error::new(UsageError(
            "loam dedupe: give -c CONFIG (or `loam dedupe plan -c CONFIG`)".into(),
        ))),
        Command::Mix { config } => cmd_mix::mix(&config, opts).map(Some),
        Command::Validate { config, kind } => dolma_cmds::validate(&config, kind).map(|_| None),
        Command::Manifest {
            action: ManifestAction::Verify { dir, outputs_only },
        } => match cmd_manifest::verify(&dir, outputs_only, cli.threads) {
            Ok(true) => Ok(None),
            Ok(false) => return ExitCode::from(1),
            Err(e) => Err(e),
        },
        Command::Manifest {
            action: ManifestAction::Diff { a, b },
        } => cmd_manifest::diff(&a, &b).map(|_| None),
        Command::Reproduce { manifest, output } => {
            match cmd_manifest::reproduce(&manifest, output, opts) {
                Ok(true) => Ok(None),
                Ok(false) => return ExitCode::from(1),
                Err(e) => Err(e),
            }
        }
        Command::Taggers => {
            for n in loam_filters::registry::names() {
                println!("{n}");
            }
            Ok(None)
        }
    };
    match result {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(outcome)) => {
            outcome.print();
            if outcome.failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            if let Some(u) = e.downcast_ref::<UsageError>() {
                eprintln!("error: {u}");
                ExitCode::from(2)
            } else {
                eprintln!("error: {e:#}");
                ExitCode::from(1)
            }
        }
    }
}
