//! `s3://` locations in a build without the `s3` feature (`make demo`'s lean build): every
//! call fails naming the location and how to get a build that reads object stores.

use crate::storage::{AtomicWrite, ObjectInfo, StorageError};
use std::io::{self, Read};

fn off(location: &str) -> StorageError {
    StorageError::new(
        location,
        io::Error::new(
            io::ErrorKind::Unsupported,
            "this loam was built without object-store support (the cargo feature `s3`, on by \
             default; `make demo` builds without it): build it with `cargo install --path .` \
             or `make build`",
        ),
    )
}

/// Fails: no object store in this build.
pub fn check(location: &str) -> Result<(), StorageError> {
    Err(off(location))
}

/// Fails: no object store in this build.
pub fn list(location: &str) -> Result<Vec<ObjectInfo>, StorageError> {
    Err(off(location))
}

/// Fails: no object store in this build.
pub fn size(location: &str) -> Result<Option<u64>, StorageError> {
    Err(off(location))
}

/// Fails: no object store in this build.
pub fn delete(location: &str) -> Result<(), StorageError> {
    Err(off(location))
}

/// Fails: no object store in this build.
pub fn read_range(location: &str, _start: u64, _len: u64) -> Result<Vec<u8>, StorageError> {
    Err(off(location))
}

/// Fails: no object store in this build.
pub fn open(location: &str) -> Result<Box<dyn Read + Send>, StorageError> {
    Err(off(location))
}

/// Fails: no object store in this build.
pub fn create(location: &str) -> Result<Box<dyn AtomicWrite>, StorageError> {
    Err(off(location))
}
