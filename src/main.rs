//! The `loam` command line.

mod cmd_dedupe;
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
    /// Deduplicate with a dolma `dedupe` config.
    Dedupe {
        /// dolma deduper config.
        #[arg(short, long)]
        config: PathBuf,
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
        Command::Dedupe { config } => cmd_dedupe::dedupe(&config, opts).map(Some),
        Command::Mix { config } => dolma_cmds::mix(&config, opts).map(Some),
        Command::Validate { config, kind } => dolma_cmds::validate(&config, kind).map(|_| None),
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
