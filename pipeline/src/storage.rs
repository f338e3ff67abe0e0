//! Storage behind one trait: sorted listing, streaming reads, atomic writes.
//!
//! Local files ([`LocalStorage`]) and object stores (`s3://bucket/key`, [`crate::object`])
//! behind the same trait; [`storage_for`] gives [`AnyStorage`], which routes every call by
//! the location's scheme, so inputs and outputs may live in different places. Every write
//! goes to a temporary name (or an uncompleted upload) and becomes visible only on
//! [`AtomicWrite::commit`], so readers never see half a file and a killed run leaves no
//! partial output.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// A storage failure, naming the location.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct StorageError {
    /// The location involved.
    pub path: String,
    /// The underlying I/O error.
    #[source]
    pub source: io::Error,
}

impl StorageError {
    /// Wraps an I/O error with its location.
    pub fn new(path: impl Into<String>, source: io::Error) -> Self {
        StorageError {
            path: path.into(),
            source,
        }
    }
}

/// One listed object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectInfo {
    /// Full location (a path for local storage).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
}

/// A write that is invisible until committed.
pub trait AtomicWrite: Write + Send {
    /// Flushes, syncs and publishes the object under its final name.
    fn commit(self: Box<Self>) -> Result<(), StorageError>;
}

/// Where shards live. Implementations must list in sorted order (byte order of the path),
/// stream reads without loading whole objects, and make writes atomic.
pub trait Storage: Send + Sync {
    /// Every object under `prefix` (recursively), sorted by path. A missing prefix lists
    /// nothing.
    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StorageError>;
    /// Opens an object for streaming reads.
    fn open(&self, path: &str) -> Result<Box<dyn Read + Send>, StorageError>;
    /// Starts an atomic write; parents are created as needed.
    fn create(&self, path: &str) -> Result<Box<dyn AtomicWrite>, StorageError>;
    /// The object's size, or `None` when it does not exist.
    fn size(&self, path: &str) -> Result<Option<u64>, StorageError>;
    /// Deletes an object; deleting a missing object is not an error.
    fn delete(&self, path: &str) -> Result<(), StorageError>;
    /// A local filesystem path for the object when it has one (random access for Parquet).
    fn local_path(&self, path: &str) -> Option<PathBuf>;
    /// `len` bytes starting at byte `start` (random access, e.g. Parquet on an object
    /// store). Fails if the object is shorter. The default reads through [`Storage::open`].
    fn read_range(&self, path: &str, start: u64, len: u64) -> Result<Vec<u8>, StorageError> {
        let mut r = self.open(path)?;
        io::copy(&mut (&mut r).take(start), &mut io::sink())
            .map_err(|e| StorageError::new(path, e))?;
        let mut buf = vec![0; len as usize];
        r.read_exact(&mut buf)
            .map_err(|e| StorageError::new(path, e))?;
        Ok(buf)
    }
}

/// The local filesystem.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalStorage;

impl LocalStorage {
    fn walk(dir: &Path, out: &mut Vec<ObjectInfo>) -> io::Result<()> {
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            // Skip our own bookkeeping and temporary files.
            if name.to_string_lossy().starts_with(".loam") {
                continue;
            }
            let ft = entry.file_type()?;
            let path = entry.path();
            if ft.is_dir() {
                Self::walk(&path, out)?;
            } else {
                let meta = fs::metadata(&path)?;
                if meta.is_file() {
                    out.push(ObjectInfo {
                        path: path.to_string_lossy().into_owned(),
                        size: meta.len(),
                    });
                }
            }
        }
        Ok(())
    }
}

impl Storage for LocalStorage {
    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StorageError> {
        let p = Path::new(prefix);
        let mut out = Vec::new();
        match fs::metadata(p) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(StorageError::new(prefix, e)),
            Ok(m) if m.is_file() => out.push(ObjectInfo {
                path: prefix.to_string(),
                size: m.len(),
            }),
            Ok(_) => Self::walk(p, &mut out).map_err(|e| StorageError::new(prefix, e))?,
        }
        out.sort();
        Ok(out)
    }

    fn open(&self, path: &str) -> Result<Box<dyn Read + Send>, StorageError> {
        let f = File::open(path).map_err(|e| StorageError::new(path, e))?;
        Ok(Box::new(f))
    }

    fn create(&self, path: &str) -> Result<Box<dyn AtomicWrite>, StorageError> {
        Ok(Box::new(
            LocalAtomicFile::create(Path::new(path)).map_err(|e| StorageError::new(path, e))?,
        ))
    }

    fn size(&self, path: &str) -> Result<Option<u64>, StorageError> {
        match fs::metadata(path) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StorageError::new(path, e)),
        }
    }

    fn delete(&self, path: &str) -> Result<(), StorageError> {
        match fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StorageError::new(path, e)),
        }
    }

    fn local_path(&self, path: &str) -> Option<PathBuf> {
        Some(PathBuf::from(path))
    }
}

/// A local file written under a temporary name in the same directory and renamed on commit.
/// Dropped without commit, the temporary file is removed.
pub struct LocalAtomicFile {
    tmp: PathBuf,
    dest: PathBuf,
    file: Option<BufWriter<File>>,
    /// Renamed into place: the temporary name no longer exists.
    committed: bool,
}

impl LocalAtomicFile {
    /// Creates the temporary file (and any missing parent directories).
    pub fn create(dest: &Path) -> io::Result<Self> {
        let parent = dest.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(dir) = parent {
            fs::create_dir_all(dir)?;
            sweep_dead_temporaries(dir);
        }
        let name = dest
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))?;
        let tmp_name = format!(
            ".loam-tmp.{}.{}.{}",
            std::process::id(),
            next_tmp_id(),
            name.to_string_lossy()
        );
        let tmp = match parent {
            Some(dir) => dir.join(tmp_name),
            None => PathBuf::from(tmp_name),
        };
        let file = File::create(&tmp)?;
        Ok(LocalAtomicFile {
            tmp,
            dest: dest.to_path_buf(),
            file: Some(BufWriter::with_capacity(1 << 20, file)),
            committed: false,
        })
    }

    fn finish(&mut self) -> io::Result<()> {
        let Some(w) = self.file.take() else {
            return Err(io::Error::other("already committed"));
        };
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        drop(f);
        fs::rename(&self.tmp, &self.dest)?;
        self.committed = true;
        Ok(())
    }
}

/// Deletes `.loam-tmp.<pid>.…` files whose writing process is gone (a killed run), once per
/// directory per process. A process on another machine sharing the directory cannot be
/// seen from here, so its files are kept unless its pid is also unused locally — they are
/// recreated by the resumed unit anyway, and never listed as data.
pub fn sweep_dead_temporaries(dir: &std::path::Path) {
    use std::collections::HashSet;
    use std::sync::Mutex;
    static SWEPT: Mutex<Option<HashSet<std::path::PathBuf>>> = Mutex::new(None);
    {
        let Ok(mut g) = SWEPT.lock() else { return };
        if !g.get_or_insert_with(HashSet::new).insert(dir.to_path_buf()) {
            return;
        }
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let me = std::process::id();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(rest) = name.strip_prefix(".loam-tmp.") else {
            continue;
        };
        let Some(pid) = rest.split('.').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != me && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn next_tmp_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

impl Write for LocalAtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.file.as_mut() {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("write after commit")),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.write_all(buf),
            None => Err(io::Error::other("write after commit")),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl AtomicWrite for LocalAtomicFile {
    fn commit(mut self: Box<Self>) -> Result<(), StorageError> {
        let dest = self.dest.to_string_lossy().into_owned();
        self.finish().map_err(|e| StorageError::new(dest, e))
    }
}

impl Drop for LocalAtomicFile {
    fn drop(&mut self) {
        // Not committed — dropped unwritten, or a commit that failed (a full disk fails the
        // last flush or the sync): the temporary file goes, so a failed unit leaves nothing.
        if !self.committed {
            drop(self.file.take());
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Writes a whole object atomically.
pub fn write_atomic(storage: &dyn Storage, path: &str, bytes: &[u8]) -> Result<(), StorageError> {
    let mut w = storage.create(path)?;
    w.write_all(bytes).map_err(|e| StorageError::new(path, e))?;
    w.commit()
}

/// Reads a whole (small) object.
pub fn read_all(storage: &dyn Storage, path: &str) -> Result<Vec<u8>, StorageError> {
    let mut r = storage.open(path)?;
    let mut buf = Vec::new();
    r.read_to_end(&mut buf)
        .map_err(|e| StorageError::new(path, e))?;
    Ok(buf)
}

/// Every location's storage: local paths (plain or `file://`) go to [`LocalStorage`],
/// `s3://bucket/key` (and `s3a://`) to the object store client for that bucket
/// ([`crate::object`]); any other scheme is refused with a message naming it, never misread
/// as a local name. Each call routes on its own path, so one run may read from a bucket and
/// write locally, or the other way round.
#[derive(Debug, Default, Clone, Copy)]
pub struct AnyStorage;

enum Route<'a> {
    Local(&'a str),
    Object,
}

fn route(location: &str) -> Result<Route<'_>, StorageError> {
    match location.split_once("://") {
        None => Ok(Route::Local(location)),
        Some(("file", rest)) => Ok(Route::Local(rest)),
        Some(("s3" | "s3a", _)) => Ok(Route::Object),
        Some((scheme, _)) => Err(StorageError::new(
            location,
            io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "the `{scheme}://` object store is not supported by this build (supported: local paths, file://, s3://)"
                ),
            ),
        )),
    }
}

impl Storage for AnyStorage {
    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StorageError> {
        match route(prefix)? {
            Route::Local(p) => LocalStorage.list(p),
            Route::Object => crate::object::list(prefix),
        }
    }
    fn open(&self, path: &str) -> Result<Box<dyn Read + Send>, StorageError> {
        match route(path)? {
            Route::Local(p) => LocalStorage.open(p),
            Route::Object => crate::object::open(path),
        }
    }
    fn create(&self, path: &str) -> Result<Box<dyn AtomicWrite>, StorageError> {
        match route(path)? {
            Route::Local(p) => LocalStorage.create(p),
            Route::Object => crate::object::create(path),
        }
    }
    fn size(&self, path: &str) -> Result<Option<u64>, StorageError> {
        match route(path)? {
            Route::Local(p) => LocalStorage.size(p),
            Route::Object => crate::object::size(path),
        }
    }
    fn delete(&self, path: &str) -> Result<(), StorageError> {
        match route(path)? {
            Route::Local(p) => LocalStorage.delete(p),
            Route::Object => crate::object::delete(path),
        }
    }
    fn local_path(&self, path: &str) -> Option<PathBuf> {
        match route(path) {
            Ok(Route::Local(p)) => LocalStorage.local_path(p),
            _ => None,
        }
    }
    fn read_range(&self, path: &str, start: u64, len: u64) -> Result<Vec<u8>, StorageError> {
        match route(path)? {
            Route::Local(p) => LocalStorage.read_range(p, start, len),
            Route::Object => crate::object::read_range(path, start, len),
        }
    }
}

/// The storage that serves a location (and, through [`AnyStorage`], every other location
/// of the run). Checks up front that the location's scheme is supported and, for an object
/// store, that its client can be configured (credentials are first used by the first
/// request).
pub fn storage_for(location: &str) -> Result<&'static dyn Storage, StorageError> {
    if let Route::Object = route(location)? {
        crate::object::check(location)?;
    }
    static ANY: AnyStorage = AnyStorage;
    Ok(&ANY)
}

/// Strips a `file://` scheme, if any.
pub fn local_part(location: &str) -> &str {
    location.strip_prefix("file://").unwrap_or(location)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_is_invisible_until_commit() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a/b/out.txt");
        let s = LocalStorage;
        let mut w = s.create(dest.to_str().unwrap()).unwrap();
        w.write_all(b"hello").unwrap();
        assert!(!dest.exists());
        w.commit().unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"hello");
        // Dropped without commit: nothing appears, nothing left behind.
        let dest2 = dir.path().join("a/b/out2.txt");
        {
            let mut w = s.create(dest2.to_str().unwrap()).unwrap();
            w.write_all(b"partial").unwrap();
        }
        assert!(!dest2.exists());
        let names: Vec<_> = fs::read_dir(dir.path().join("a/b"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn routes_by_scheme() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.txt");
        let s = storage_for(p.to_str().unwrap()).unwrap();
        write_atomic(s, &format!("file://{}", p.display()), b"abc").unwrap();
        assert_eq!(read_all(s, p.to_str().unwrap()).unwrap(), b"abc");
        assert_eq!(s.read_range(p.to_str().unwrap(), 1, 2).unwrap(), b"bc");
        assert!(s.read_range(p.to_str().unwrap(), 2, 5).is_err());
        let e = storage_for("hdfs://nn/x").err().unwrap().to_string();
        assert!(
            e.contains("hdfs://nn/x") && e.contains("not supported"),
            "{e}"
        );
        assert!(s.local_path("s3://b/k").is_none());
    }

    #[test]
    fn listing_is_sorted_and_recursive() {
        let dir = tempfile::tempdir().unwrap();
        for p in ["b/2.jsonl", "a/1.jsonl", "b/1.jsonl", "c.jsonl"] {
            let full = dir.path().join(p);
            fs::create_dir_all(full.parent().unwrap()).unwrap();
            fs::write(full, "x").unwrap();
        }
        let l = LocalStorage.list(dir.path().to_str().unwrap()).unwrap();
        let root = format!("{}/", dir.path().to_str().unwrap());
        let names: Vec<String> = l
            .iter()
            .map(|o| o.path.strip_prefix(&root).unwrap().to_string())
            .collect();
        assert_eq!(names, ["a/1.jsonl", "b/1.jsonl", "b/2.jsonl", "c.jsonl"]);
    }
}
