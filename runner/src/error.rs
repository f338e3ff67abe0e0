//! The error every command returns: a usage or config problem (exit 2, found before any
//! data was touched) or a failure with what was being done when it happened.

use std::fmt::Display;

/// Boxed source error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a command stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A usage or config problem, found before any data was touched (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// A failure, with what was being done (the file, the stage) when it happened.
    #[error("{context}")]
    Context {
        /// What was being done.
        context: String,
        /// What went wrong.
        #[source]
        source: BoxError,
    },
    /// A library's error, as it describes itself (it names its file and line).
    #[error(transparent)]
    Source(BoxError),
    /// A failure described by its message.
    #[error("{0}")]
    Failed(String),
}

/// A command's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A usage error from anything printable.
    pub fn usage(e: impl Display) -> Self {
        Error::Usage(e.to_string())
    }

    /// Whether this is (or wraps) a usage or config problem: exit code 2.
    pub fn is_usage(&self) -> bool {
        self.usage_message().is_some()
    }

    /// The usage or config problem this is or wraps, if any.
    pub fn usage_message(&self) -> Option<&str> {
        match self {
            Error::Usage(m) => Some(m),
            Error::Context { source, .. } | Error::Source(source) => source
                .downcast_ref::<Error>()
                .and_then(Error::usage_message),
            Error::Failed(_) => None,
        }
    }
}

macro_rules! from_errors {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::Source(Box::new(e))
            }
        }
    )*};
}

from_errors!(
    std::io::Error,
    serde_json::Error,
    loam_pipeline::storage::StorageError,
    loam_pipeline::layout::LayoutError,
    loam_pipeline::units::UnitsError,
    loam_pipeline::runstate::StateError,
    loam_pipeline::lock::LockError,
    loam_pipeline::executor::ExecutorError,
    loam_mixes::dolma_mix::PlanError,
    loam_tokens::TokensError,
);

/// Adds what was being done to an error, as `anyhow::Context` does.
pub trait Context<T> {
    /// Wraps the error with `context`.
    fn context(self, context: impl Display) -> Result<T>;
    /// Wraps the error with a context computed only on failure.
    fn with_context<C: Display>(self, f: impl FnOnce() -> C) -> Result<T>;
}

impl<T, E: std::error::Error + Send + Sync + 'static> Context<T> for std::result::Result<T, E> {
    fn context(self, context: impl Display) -> Result<T> {
        self.map_err(|e| Error::Context {
            context: context.to_string(),
            source: Box::new(e),
        })
    }

    fn with_context<C: Display>(self, f: impl FnOnce() -> C) -> Result<T> {
        self.map_err(|e| Error::Context {
            context: f().to_string(),
            source: Box::new(e),
        })
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, context: impl Display) -> Result<T> {
        self.ok_or_else(|| Error::Failed(context.to_string()))
    }

    fn with_context<C: Display>(self, f: impl FnOnce() -> C) -> Result<T> {
        self.ok_or_else(|| Error::Failed(f().to_string()))
    }
}
