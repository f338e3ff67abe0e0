//! The `loam` command line.

mod cmd_explain;
mod cmd_manifest;
mod cmd_report;
mod cmd_slurm;
mod cmd_stat;
mod cmd_trace;
mod ui;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use loam_runner::tokens as cmd_tokens;
use loam_runner::warc as cmd_warc;
use loam_runner::{
    dedupe as cmd_dedupe, dolma as dolma_cmds, dolma_cli, mix as cmd_mix, recipe, run,
};
use std::ffi::OsString;
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
    /// One JSON document on stdout instead of the table (run, tag, dedupe, mix, warc,
    /// tokens, explain, manifest verify/diff, taggers, trace).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

/// A config's kind, as `--kind` takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Kind {
    Pipeline,
    Tag,
    Dedupe,
    Mix,
    Warc,
    Tokens,
}

impl From<Kind> for loam_runner::Kind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Pipeline => Self::Pipeline,
            Kind::Tag => Self::Tag,
            Kind::Dedupe => Self::Dedupe,
            Kind::Mix => Self::Mix,
            Kind::Warc => Self::Warc,
            Kind::Tokens => Self::Tokens,
        }
    }
}

/// A size in bytes: a number, optionally with a K, M or G suffix (powers of 1000).
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mul) = match t.char_indices().last() {
        Some((i, c)) if c.eq_ignore_ascii_case(&'k') => (t.get(..i), 1_000),
        Some((i, c)) if c.eq_ignore_ascii_case(&'m') => (t.get(..i), 1_000_000),
        Some((i, c)) if c.eq_ignore_ascii_case(&'g') => (t.get(..i), 1_000_000_000),
        _ => (Some(t), 1),
    };
    num.and_then(|n| n.trim().parse::<u64>().ok())
        .and_then(|n| n.checked_mul(mul))
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{s:?}: a positive number of bytes, like 256M or 1G"))
}

/// `--phase`: a phase of a phased dedupe section.
fn parse_phase(s: &str) -> Result<loam_runner::phases::Phase, String> {
    loam_runner::phases::Phase::parse(s)
}

/// A stage of a loam pipeline file, as `--stage` takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Stage {
    /// WARC/WET → documents.
    Warc,
    /// Taggers.
    Tag,
    /// Document dedup.
    Dedupe,
    /// The mix.
    Mix,
}

impl From<Stage> for run::Stage {
    fn from(s: Stage) -> Self {
        match s {
            Stage::Warc => Self::Warc,
            Stage::Tag => Self::Tag,
            Stage::Dedupe => Self::Dedupe,
            Stage::Mix => Self::Mix,
        }
    }
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
    /// Run a staged pipeline (read → tag → dedupe → mix): loam's pipeline file, or a dolma
    /// recipe (`loam run tag.yaml dedupe.yaml … mix.yaml`: tagger and deduper configs and
    /// one mixer config, run as one pipeline with one manifest).
    Run {
        /// A pipeline config (YAML or JSON), or dolma configs.
        #[arg(value_name = "CONFIG", required_unless_present = "config")]
        pipeline: Vec<PathBuf>,
        /// Same as one positional argument.
        #[arg(short, long, conflicts_with = "pipeline")]
        config: Option<PathBuf>,
        /// Run only this stage (cluster tasks); earlier stages must be complete.
        #[arg(long, value_enum)]
        stage: Option<Stage>,
        /// This task's index among --world tasks (needs --stage, but for a pipeline file
        /// whose tag and mix have no dedup between them: a task then makes both stages of its
        /// shards, reading each once).
        #[arg(long, default_value_t = 0)]
        rank: usize,
        /// Number of tasks sharing the stage's units (see --rank).
        #[arg(long, default_value_t = 1)]
        world: usize,
        /// Only this phase of a phased dedupe section (needs --stage dedupe): exact
        /// (`documents.partitions`): keys, survivors; MinHash (`minhash.partitions`):
        /// signatures, bands, partitions, merge-1 …, verify (or survivors, with only a keep
        /// policy); substring: suffixes, matches; Bloom filter and exact paragraphs
        /// (`bloom_filter`, `paragraphs`; a dolma recipe's dedupe configs too): keys, filter;
        /// every kind: marks.
        #[arg(long, requires = "stage", value_parser = parse_phase)]
        phase: Option<loam_runner::phases::Phase>,
        /// dolma recipes: reproduce dolma 1.2.1's tagger and dedupe bugs, to rebuild a
        /// published mix (loam's pipeline file sets `tag.dolma_bugs` instead).
        #[arg(long)]
        dolma_bugs: bool,
        /// dolma recipes: where manifest.json and ledger/ go (default: the deepest directory
        /// holding every stream's output.path).
        #[arg(long, value_name = "DIR")]
        manifest_dir: Option<String>,
    },
    /// Tag documents with a dolma `tag` config (and/or dolma's flags).
    #[command(after_help = dolma_help("tag"))]
    Tag {
        /// dolma tagger config (also `loam -c CONFIG tag`, as dolma takes it).
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// Reproduce dolma 1.2.1's tagger bugs (PII URL regex, doc_frac, c4_v2 offsets) to
        /// rebuild a published dolma mix; off by default (loam's values are the correct ones).
        #[arg(long)]
        dolma_bugs: bool,
    },
    /// Deduplicate with a dolma `dedupe` config and/or dolma's flags (`loam dedupe plan -c …`
    /// sizes it first).
    #[command(args_conflicts_with_subcommands = true, after_help = dolma_help("dedupe"))]
    Dedupe {
        /// dolma deduper config (also `loam -c CONFIG dedupe`, as dolma takes it).
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// Write dolma 1.2.1's bytes where loam fixes its dedupe bugs (docs/dedup.md), to
        /// rebuild a published dolma mix; off by default.
        #[arg(long)]
        dolma_bugs: bool,
        #[command(subcommand)]
        action: Option<DedupeAction>,
    },
    /// Mix with a dolma `mix` config (and/or dolma's flags).
    #[command(after_help = dolma_help("mix"))]
    Mix {
        /// dolma mixer config (also `loam -c CONFIG mix`, as dolma takes it).
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// Where manifest.json and ledger/ go (default: the deepest directory holding every
        /// stream's output.path; its parent when that is a `documents` folder).
        #[arg(long, value_name = "DIR")]
        manifest_dir: Option<String>,
        /// Name each stream's last output `…-NNNN.json.gz` as dolma 1.2.1 does (loam names
        /// them all `.jsonl.gz`; contents are the same either way).
        #[arg(long)]
        dolma_bugs: bool,
    },
    /// Extract documents from WARC/WET files with a dolma `warc` config.
    Warc {
        /// dolma warc config.
        #[arg(short, long)]
        config: PathBuf,
    },
    /// Rewrite the JSON-lines documents under IN as shards of at most --max-size bytes under
    /// OUT, one group per directory (lines copied byte for byte, in order; reshard.json last).
    Reshard {
        /// Input directory.
        input: String,
        /// Output directory.
        output: String,
        /// Largest shard in uncompressed bytes; K, M and G suffixes are powers of 1000.
        #[arg(long, default_value = "256M", value_parser = parse_size)]
        max_size: u64,
        /// Largest shard in documents.
        #[arg(long)]
        max_lines: Option<u64>,
        /// One group for the whole input instead of one per directory.
        #[arg(long)]
        flat: bool,
        /// Partition the whole input by this dotted document field (a mix's
        /// `buckets.field`): one directory of shards per value, `text/html/3/shard-…`.
        #[arg(long)]
        partition_by: Option<String>,
        /// The shards' extension: jsonl.gz, jsonl.zst or jsonl.
        #[arg(long, default_value = "jsonl.gz")]
        extension: String,
    },
    /// Check a config without touching data; lists every problem with its field path.
    Validate {
        /// The config.
        #[arg(short, long)]
        config: PathBuf,
        /// Config kind; guessed from its keys when absent.
        #[arg(long, value_enum)]
        kind: Option<Kind>,
        /// Also require every input path or glob to match files (relative to the working
        /// directory).
        #[arg(long)]
        check_inputs: bool,
    },
    /// List the built-in taggers with the signals they write (attribute keys
    /// `<experiment>__<tagger>__<signal>`), their granularity and the files they need
    /// (`loam list`, as dolma names it, is the same).
    #[command(alias = "list")]
    Taggers,
    /// Print a shell completion script (`loam completions bash > ~/.local/share/bash-completion/completions/loam`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Train a fastText classifier from labelled JSON lines (`{"text": …, "label": …}`), for
    /// use as a `tag.classifiers` entry.
    TrainClassifier {
        /// Labelled JSON-lines files.
        #[arg(long = "input", required = true)]
        inputs: Vec<PathBuf>,
        /// Model file to write (`.bin`; `.ftz` with --quantize).
        #[arg(long)]
        output: PathBuf,
        /// Field holding the text.
        #[arg(long, default_value = "text")]
        text_field: String,
        /// Field holding the label (a string, or a list for several labels).
        #[arg(long, default_value = "label")]
        label_field: String,
        /// Training epochs.
        #[arg(long, default_value_t = 25)]
        epoch: i32,
        /// Learning rate.
        #[arg(long, default_value_t = 0.5)]
        lr: f64,
        /// Vector dimension.
        #[arg(long, default_value_t = 64)]
        dim: i32,
        /// Word n-gram length.
        #[arg(long, default_value_t = 2)]
        word_ngrams: i32,
        /// Hash buckets for word n-grams (model size grows with bucket × dim).
        #[arg(long, default_value_t = 200_000)]
        bucket: i32,
        /// Quantize the model (smaller; fastText `.ftz`).
        #[arg(long)]
        quantize: bool,
    },
    /// One document's story: source, attributes, every rule with value and threshold.
    Explain {
        /// Mix directory (or a dolma tree with documents/ and attributes/).
        mix: PathBuf,
        /// Document id.
        #[arg(required_unless_present = "token")]
        id: Option<String>,
        /// A token of `loam tokens` output, `ARRAY.npy:OFFSET` (offset in tokens): names the
        /// document holding it, then explains that document in the mix.
        #[arg(long, value_name = "FILE:OFFSET", conflicts_with = "id")]
        token: Option<String>,
        /// The directory the mix was made in, which the manifest's relative input paths are
        /// relative to (default: the one the manifest records, else the current directory).
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
    },
    /// Tokenize documents into training arrays with a dolma `tokens` config and/or dolma's
    /// flags (dolma's `.npy` + `.csv.gz`, or Megatron's `.bin` + `.idx` with
    /// `output_format: megatron`).
    #[command(after_help = dolma_help("tokens"))]
    Tokens {
        /// dolma tokens config (also `loam -c CONFIG tokens`, as dolma takes it).
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// This task's index among --world tasks sharing the parts (cluster runs; a final
        /// run without them writes the manifest).
        #[arg(long, default_value_t = 0)]
        rank: usize,
        /// Number of tasks sharing the parts.
        #[arg(long, default_value_t = 1)]
        world: usize,
    },
    /// Find a text verbatim in a mix (an exact-match index over its token arrays or text),
    /// every hit with its document, source shard and line; `loam trace build MIX` first.
    Trace(cmd_trace::TraceArgs),
    /// Show documents one rule removed, with the spans that triggered it highlighted.
    Sample {
        /// Mix directory.
        mix: PathBuf,
        /// Rule name (as in the config and the summary).
        #[arg(long)]
        rule: String,
        /// How many.
        #[arg(short, default_value_t = 5)]
        n: usize,
        /// Seed of the (deterministic) choice.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// The directory the mix was made in, which the manifest's relative input paths are
        /// relative to (default: the one the manifest records, else the current directory).
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
    },
    /// A self-contained HTML report of a mix (or of two mixes, compared).
    Report {
        /// Mix directory (with manifest.json), or a dolma tree with attributes/.
        mix: PathBuf,
        /// A second mix to compare with.
        mix_b: Option<PathBuf>,
        /// Output HTML file.
        #[arg(short, long, default_value = "report.html")]
        output: PathBuf,
    },
    /// Attribute histograms, dolma `stat` compatible (`summaries.jsonl.gz`).
    Stat {
        /// dolma analyzer config (attributes, report, bins, regex).
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// Attribute files, directories or globs (replaces the config's).
        #[arg(long, num_args = 1..)]
        attributes: Vec<String>,
        /// Directory for summaries.jsonl.gz.
        #[arg(long)]
        report: Option<String>,
        /// Histogram bins (default 1000).
        #[arg(long)]
        bins: Option<usize>,
        /// Only attribute names containing this (`a|b` for alternatives).
        #[arg(long)]
        regex: Option<String>,
    },
    /// Run a pipeline on Slurm: chained job arrays, one per stage.
    Slurm {
        #[command(subcommand)]
        action: SlurmAction,
    },
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
        /// The directory the mix was made in, which the manifest's relative input paths are
        /// relative to (default: the one the manifest records, else the current directory).
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
    },
}

/// What every `loam slurm` submission takes.
#[derive(clap::Args)]
struct SlurmArgs {
    /// Tasks per array.
    #[arg(long, default_value_t = 4)]
    tasks: usize,
    /// Slurm partition.
    #[arg(long)]
    partition: Option<String>,
    /// Memory per task (e.g. 8G).
    #[arg(long)]
    mem: Option<String>,
    /// Time limit per task (e.g. 04:00:00).
    #[arg(long)]
    time: Option<String>,
}

impl SlurmArgs {
    fn options(self, threads: usize) -> cmd_slurm::SubmitOptions {
        cmd_slurm::SubmitOptions {
            tasks: self.tasks,
            threads,
            partition: self.partition,
            mem: self.mem,
            time: self.time,
        }
    }
}

#[derive(Subcommand)]
enum SlurmAction {
    /// Write and submit one job array per stage, chained with afterok.
    Submit {
        /// Pipeline config, or a dolma recipe's configs (as `loam run` takes them).
        #[arg(required = true)]
        pipeline: Vec<PathBuf>,
        #[command(flatten)]
        slurm: SlurmArgs,
    },
    /// `loam trace build` as a job array, then one task writing the index's `trace.json`.
    Trace {
        #[command(flatten)]
        build: cmd_trace::BuildArgs,
        #[command(flatten)]
        slurm: SlurmArgs,
    },
    /// Queue state and completed units per stage.
    Status {
        /// Pipeline config, or a dolma recipe's configs.
        #[arg(required = true)]
        pipeline: Vec<PathBuf>,
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
        /// The directory the mix was made in, which the manifest's relative input paths are
        /// relative to (default: the one the manifest records, else the current directory).
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
    },
    /// Per-stage and per-rule deltas between two mixes, from their ledgers.
    Diff {
        /// First mix directory or manifest.
        a: PathBuf,
        /// Second mix directory or manifest.
        b: PathBuf,
    },
}

/// The error and its causes, each cause once: many errors already say their source's text
/// in their own message (`<file>: <reason>`), so `{:#}` would print the reason twice.
fn message_chain(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !out.contains(&c) {
            out.push_str(": ");
            out.push_str(&c);
        }
    }
    out
}

/// The `--help` text listing dolma's flags for a command.
fn dolma_help(command: &str) -> String {
    let flags = dolma_cli::flags_of(command).unwrap_or(&[]);
    let names: Vec<String> = flags
        .iter()
        .map(|(k, kind)| match kind {
            dolma_cli::FlagKind::List => format!("--{k} [V ...]"),
            dolma_cli::FlagKind::Scalar => format!("--{k} [V]"),
            dolma_cli::FlagKind::Bool => format!("--[no-]{k}"),
        })
        .collect();
    format!(
        "dolma's flags (as `dolma {command}` takes them; they override the config file's keys, \
         mappings merged key by key; `${{oc.env:VAR[,default]}}` is resolved in every value):\n  {}",
        names.join("\n  ")
    )
}

/// dolma's command-line forms, before the argument parser sees them: `-c FILE` before the
/// command moves after it (`loam -c tag.yaml tag` is `loam tag -c tag.yaml`), and dolma's
/// flags after `tag|dedupe|mix|tokens` come out as a config tree.
fn dolma_forms(
    mut argv: Vec<OsString>,
) -> Result<(Vec<OsString>, serde_json::Value), dolma_cli::FlagError> {
    let empty = serde_json::Value::Object(Default::default());
    let mut cmd = Cli::command();
    cmd.build();
    let takes = |a: &clap::Arg| a.get_action().takes_values();
    let top: Vec<&clap::Arg> = cmd.get_arguments().collect();
    // Global options before the command; `-c FILE` among them moves after it.
    let mut i = 1;
    let mut config: Option<Vec<OsString>> = None;
    while i < argv.len() {
        let Some(a) = argv[i].to_str() else { break };
        if a == "-c" || a == "--config" {
            if i + 1 < argv.len() {
                config = Some(argv.drain(i..i + 2).collect());
                continue;
            }
            break;
        }
        if a.starts_with("--config=")
            || (a.starts_with("-c") && a.len() > 2 && !a.starts_with("--"))
        {
            config = Some(vec![argv.remove(i)]);
            continue;
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        let value_next = top.iter().any(|arg| {
            takes(arg)
                && (a
                    .strip_prefix("--")
                    .is_some_and(|l| arg.get_long() == Some(l))
                    || (a.len() == 2
                        && a.strip_prefix('-').and_then(|s| s.chars().next()) == arg.get_short()))
        });
        i += if value_next { 2 } else { 1 };
    }
    if i >= argv.len() {
        if let Some(c) = config {
            argv.extend(c);
        }
        return Ok((argv, empty));
    }
    let name = argv[i].to_string_lossy().to_string();
    if let Some(c) = config {
        let at = i + 1;
        argv.splice(at..at, c);
    }
    let Some(sub) = cmd.find_subcommand(&name) else {
        return Ok((argv, empty));
    };
    let sub_name = sub.get_name().to_string();
    if dolma_cli::flags_of(&sub_name).is_none()
        || (sub_name == "dedupe" && argv.get(i + 1).is_some_and(|a| a == "plan"))
    {
        return Ok((argv, empty));
    }
    let mut loam = dolma_cli::LoamOptions::default();
    for arg in sub.get_arguments().chain(top.iter().copied()) {
        if let Some(l) = arg.get_long() {
            loam.long.push((l.to_string(), takes(arg)));
        }
        if let Some(s) = arg.get_short() {
            loam.short.push((s, takes(arg)));
        }
    }
    let (rest, flags) = dolma_cli::split(&sub_name, &argv[i + 1..], &loam)?;
    argv.truncate(i + 1);
    argv.extend(rest);
    Ok((argv, flags))
}

/// A dolma command's config: the file, dolma's flags, or both (neither is a usage error).
fn source(
    command: &str,
    file: Option<PathBuf>,
    flags: serde_json::Value,
) -> anyhow::Result<dolma_cli::ConfigSource> {
    let src = dolma_cli::ConfigSource { file, flags };
    if src.file.is_none() && !src.has_flags() {
        return Err(anyhow::Error::new(UsageError(format!(
            "loam {command}: give -c CONFIG, dolma's flags (`loam {command} --help` lists them), or both{}",
            if command == "dedupe" { " (or `loam dedupe plan -c CONFIG`)" } else { "" }
        ))));
    }
    Ok(src)
}

fn main() -> ExitCode {
    // Die quietly on a closed pipe (`loam sample … | head`) like other Unix tools, instead
    // of panicking on the next write.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let (argv, flags) = match dolma_forms(std::env::args_os().collect()) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let cli = Cli::parse_from(argv);
    loam_runner::progress::set_display(ui::stage_bar);
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LOAM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut opts = run::RunOptions {
        threads: cli.threads,
        overwrite: cli.overwrite,
        part: run::Part::default(),
    };
    let json = cli.json;
    let result: anyhow::Result<Option<loam_runner::Outcome>> = match cli.command {
        Command::Run {
            pipeline,
            config,
            stage,
            rank,
            world,
            phase,
            dolma_bugs,
            manifest_dir,
        } => {
            let configs: Vec<PathBuf> = pipeline.into_iter().chain(config).collect();
            opts.part = run::Part {
                stage: stage.map(Into::into),
                units: loam_pipeline::units::Part { rank, world },
                phase,
            };
            if phase.is_some() && stage != Some(Stage::Dedupe) {
                Err(anyhow::Error::new(UsageError(
                    "--phase needs --stage dedupe (it names a phase of a partitioned MinHash)"
                        .into(),
                )))
            } else if world == 0 || rank >= world {
                Err(anyhow::Error::new(UsageError(format!(
                    "--rank {rank} must be below --world {world}"
                ))))
            } else if let [one] = configs.as_slice() {
                match dolma_cmds::is_pipeline_file(one) {
                    Ok(true) if dolma_bugs || manifest_dir.is_some() => {
                        Err(anyhow::Error::new(UsageError(format!(
                            "{}: --dolma-bugs and --manifest-dir are for dolma recipes; a loam pipeline file sets tag.dolma_bugs and writes its manifest in its mix directory",
                            one.display()
                        ))))
                    }
                    Ok(true) => run::run_pipeline(one, opts).map(Some).map_err(Into::into),
                    Ok(false) => {
                        recipe::run(&configs, dolma_bugs, manifest_dir.as_deref(), opts).map(Some).map_err(Into::into)
                    }
                    Err(e) => Err(e.into()),
                }
            } else {
                recipe::run(&configs, dolma_bugs, manifest_dir.as_deref(), opts)
                    .map(Some)
                    .map_err(Into::into)
            }
        }
        Command::Tag { config, dolma_bugs } => source("tag", config, flags)
            .and_then(|src| dolma_cmds::tag(&src, dolma_bugs, opts).map_err(Into::into))
            .map(Some),
        Command::Dedupe {
            action: Some(DedupeAction::Plan { config }),
            ..
        } => cmd_dedupe::plan(&config).map(|_| None).map_err(Into::into),
        Command::Dedupe {
            config, dolma_bugs, ..
        } => source("dedupe", config, flags)
            .and_then(|src| cmd_dedupe::dedupe(&src, dolma_bugs, opts).map_err(Into::into))
            .map(Some),
        Command::Mix {
            config,
            manifest_dir,
            dolma_bugs,
        } => source("mix", config, flags)
            .and_then(|src| {
                cmd_mix::mix(&src, manifest_dir.as_deref(), dolma_bugs, opts).map_err(Into::into)
            })
            .map(Some),
        Command::Warc { config } => cmd_warc::warc(&config, opts).map_err(Into::into),
        Command::Reshard {
            input,
            output,
            max_size,
            max_lines,
            flat,
            partition_by,
            extension,
        } => {
            let report = loam_runner::reshard::reshard(&loam_runner::reshard::ReshardOptions {
                input,
                output: output.clone(),
                max_size,
                max_lines,
                flat,
                partition_by,
                extension,
                overwrite: cli.overwrite,
                threads: cli.threads,
            });
            match report {
                Ok(r) => {
                    if cli.json {
                        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
                    } else {
                        println!(
                            "reshard: {} document(s) of {} file(s) in {} group(s) into {} shard(s) in {}",
                            r.documents,
                            r.inputs.len(),
                            r.groups,
                            r.outputs.len(),
                            output
                        );
                    }
                    if !r.complete() {
                        eprintln!(
                            "{} line(s) were not documents and were not copied; no {} written:",
                            r.bad_lines,
                            loam_runner::reshard::RESHARD_JSON
                        );
                        for e in &r.errors {
                            eprintln!("  {e}");
                        }
                        return ExitCode::from(1);
                    }
                    Ok(None)
                }
                Err(e) => Err(e.into()),
            }
        }
        Command::Validate {
            config,
            kind,
            check_inputs,
        } => dolma_cmds::validate(&config, kind.map(Into::into), check_inputs)
            .map(|_| None)
            .map_err(Into::into),
        Command::Slurm {
            action: SlurmAction::Submit { pipeline, slurm },
        } => cmd_slurm::submit(&pipeline, &slurm.options(cli.threads)).map(|_| None),
        Command::Slurm {
            action: SlurmAction::Trace { build, slurm },
        } => cmd_slurm::submit_trace(&build, &slurm.options(cli.threads)).map(|_| None),
        Command::Slurm {
            action: SlurmAction::Status { pipeline },
        } => cmd_slurm::status(&pipeline).map(|_| None),
        Command::Manifest {
            action:
                ManifestAction::Verify {
                    dir,
                    outputs_only,
                    root,
                },
        } => match cmd_manifest::verify(&dir, outputs_only, cli.threads, cli.json, root.as_deref())
        {
            Ok(true) => Ok(None),
            Ok(false) => return ExitCode::from(1),
            Err(e) => Err(e),
        },
        Command::Manifest {
            action: ManifestAction::Diff { a, b },
        } => cmd_manifest::diff(&a, &b, cli.json).map(|_| None),
        Command::Reproduce {
            manifest,
            output,
            root,
        } => match cmd_manifest::reproduce(&manifest, output, root.as_deref(), opts) {
            Ok(true) => Ok(None),
            Ok(false) => return ExitCode::from(1),
            Err(e) => Err(e),
        },
        Command::Explain {
            mix,
            id,
            token,
            root,
        } => match (id, token) {
            (Some(id), _) => {
                cmd_explain::explain(&mix, &id, cli.json, root.as_deref()).map(|_| None)
            }
            (None, Some(t)) => cmd_tokens::explain_token(&t)
                .map_err(anyhow::Error::from)
                .and_then(|row| cmd_explain::explain(&mix, &row.id, cli.json, root.as_deref()))
                .map(|_| None),
            (None, None) => Err(anyhow::Error::new(UsageError(
                "loam explain: give a document id or --token FILE:OFFSET".into(),
            ))),
        },
        Command::Tokens {
            config,
            rank,
            world,
        } => {
            if world == 0 || rank >= world {
                Err(anyhow::Error::new(UsageError(format!(
                    "--rank {rank} must be below --world {world}"
                ))))
            } else {
                opts.part.units = loam_pipeline::units::Part { rank, world };
                source("tokens", config, flags)
                    .and_then(|src| cmd_tokens::tokens(&src, opts).map_err(Into::into))
                    .map(Some)
            }
        }
        Command::Trace(args) => cmd_trace::trace(args, cli.threads, cli.json).map(|_| None),
        Command::Sample {
            mix,
            rule,
            n,
            seed,
            root,
        } => cmd_explain::sample(&mix, &rule, n, seed, root.as_deref()).map(|_| None),
        Command::Report { mix, mix_b, output } => {
            cmd_report::report(&mix, mix_b.as_deref(), &output, cli.threads).map(|_| None)
        }
        Command::Stat {
            config,
            attributes,
            report,
            bins,
            regex,
        } => cmd_stat::stat(
            cmd_stat::StatArgs {
                config,
                attributes,
                report,
                bins,
                regex,
            },
            cli.threads,
        )
        .map(|_| None),
        Command::TrainClassifier {
            inputs,
            output,
            text_field,
            label_field,
            epoch,
            lr,
            dim,
            word_ngrams,
            bucket,
            quantize,
        } => {
            let o = loam_filters::classifier::TrainOptions {
                text_field,
                label_field,
                epoch,
                lr,
                dim,
                word_ngrams,
                bucket,
                quantize,
            };
            loam_filters::classifier::train(&inputs, &output, &o)
                .map(|r| {
                    println!(
                        "trained {} on {} example(s): {}",
                        output.display(),
                        r.examples,
                        r.labels
                            .iter()
                            .map(|(l, n)| format!("{l} {n}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    None
                })
                .map_err(|e| match e {
                    loam_filters::classifier::ClassifierError::Input { .. } => {
                        anyhow::Error::new(UsageError(e.to_string()))
                    }
                    other => anyhow::Error::new(other),
                })
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "loam", &mut std::io::stdout());
            Ok(None)
        }
        Command::Taggers => {
            ui::print_taggers(cli.json);
            Ok(None)
        }
    };
    match result {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(outcome)) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&outcome.to_json()).unwrap_or_default()
                );
            } else {
                ui::print_outcome(&outcome);
            }
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
            } else if let Some(u) = e
                .downcast_ref::<loam_runner::Error>()
                .and_then(loam_runner::Error::usage_message)
            {
                eprintln!("error: {u}");
                ExitCode::from(2)
            } else {
                eprintln!("error: {}", message_chain(&e));
                ExitCode::from(1)
            }
        }
    }
}
