//! One run per output root: an advisory lock on `<root>/.loam/lock`.
//!
//! A run takes `flock(LOCK_EX)` on the lock file of every local output root it writes
//! (never waiting: a second run is refused, naming the holder's host and pid, which the
//! holder writes into the file). Tasks of one cluster run (`--rank/--world`, world > 1)
//! share an output by design: they take `LOCK_SH`, so they run side by side while a plain
//! run on the same output is refused, and the other way round. The kernel drops a `flock`
//! when its process dies, so a killed run never leaves a stale lock; a run that ends removes
//! the file while still holding it (a run that opened the removed file notices and retries).
//!
//! Object-store roots (`s3://…`) take no lock: see `docs/cluster.md`. A local file system
//! that does not support `flock` (some network file systems without lock support) runs
//! unlocked; [`OutputLock::unlocked`] lists those roots so the caller can warn.

use crate::storage::StorageError;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Why an output root cannot be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds it.
    #[error("{root} is in use by another loam run ({holder}; lock file {lock}); wait for it to end or stop it, then rerun")]
    Held {
        /// The output root.
        root: String,
        /// Its lock file.
        lock: String,
        /// Who holds it, as the holder wrote it (`host … pid …`).
        holder: String,
    },
    /// The lock file could not be created or read.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Shared (tasks of one run) or exclusive (everything else).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// One run alone.
    Exclusive,
    /// Tasks of one cluster run, side by side.
    Shared,
}

/// Held locks; dropping releases them (and removes the files when no one else holds them).
#[derive(Debug, Default)]
pub struct OutputLock {
    held: Vec<(PathBuf, File)>,
    unlocked: Vec<String>,
}

impl OutputLock {
    /// Roots that could not be locked because their file system has no `flock`.
    pub fn unlocked(&self) -> &[String] {
        &self.unlocked
    }

    /// Lock files held.
    pub fn files(&self) -> Vec<&Path> {
        self.held.iter().map(|(p, _)| p.as_path()).collect()
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        for (path, file) in self.held.drain(..) {
            // Remove the file only when no other holder shares it; a shared holder that
            // cannot upgrade leaves it to the last one.
            // SAFETY: `flock` on a descriptor this struct owns.
            let last = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
            if last {
                let _ = std::fs::remove_file(&path);
            }
            drop(file);
        }
    }
}

/// This process, as a lock holder: `host <name> pid <pid>` (and `note`).
fn holder_line(note: &str) -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; the name is NUL-terminated or truncated.
    let host = if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(buf.get(..end).unwrap_or_default()).into_owned()
    } else {
        "unknown".to_string()
    };
    let mut line = format!("host {host} pid {}", std::process::id());
    if !note.is_empty() {
        line.push(' ');
        line.push_str(note);
    }
    line
}

fn lock_one(root: &str, mode: LockMode, me: &str) -> Result<Option<(PathBuf, File)>, LockError> {
    let dir = Path::new(root).join(".loam");
    let path = dir.join("lock");
    let shown = path.display().to_string();
    let io = |e: std::io::Error| LockError::Storage(StorageError::new(&shown, e));
    std::fs::create_dir_all(&dir).map_err(io)?;
    // SAFETY (every `flock` below): a descriptor this function owns.
    let try_lock =
        |f: &File, op: i32| unsafe { libc::flock(f.as_raw_fd(), op | libc::LOCK_NB) } == 0;
    // A holder that ends removes the file: whoever opened the removed file tries again.
    let mut replaced = 0;
    // Tasks of one run hold the lock exclusively for an instant (the first while it writes
    // its line, the last while it removes the file): a task finding it so waits a little
    // instead of refusing a run it belongs to.
    let patience = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        // Alone (exclusive, or the first task of a run): the file names only this process.
        // A task joining others appends its line.
        let alone = try_lock(&file, libc::LOCK_EX);
        let joined = !alone && mode == LockMode::Shared && try_lock(&file, libc::LOCK_SH);
        if !alone && !joined {
            let e = std::io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::EWOULDBLOCK) => {
                    let mut text = String::new();
                    let _ = file.read_to_string(&mut text);
                    let holders: Vec<&str> = text
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .collect();
                    // Held by tasks (or by one still writing its name): a task waits a
                    // little; a plain run's lock refuses at once.
                    let tasks = holders.is_empty() || holders.iter().any(|h| h.contains(" task "));
                    if mode == LockMode::Shared && tasks && std::time::Instant::now() < patience {
                        drop(file);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        continue;
                    }
                    Err(LockError::Held {
                        root: root.to_string(),
                        lock: shown,
                        holder: if holders.is_empty() {
                            "holder unknown: it has not written its name yet".into()
                        } else {
                            holders.join("; ")
                        },
                    })
                }
                Some(libc::ENOLCK | libc::EOPNOTSUPP | libc::ENOSYS) => Ok(None),
                _ => Err(io(e)),
            };
        }
        let same = match (file.metadata(), std::fs::metadata(&path)) {
            (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
            _ => false,
        };
        if !same {
            replaced += 1;
            if replaced > 100 {
                return Err(io(std::io::Error::other(
                    "the lock file keeps being replaced; is another run starting and stopping?",
                )));
            }
            continue;
        }
        if alone {
            file.set_len(0).map_err(io)?;
            file.seek(SeekFrom::Start(0)).map_err(io)?;
        } else {
            file.seek(SeekFrom::End(0)).map_err(io)?;
        }
        file.write_all(format!("{me}\n").as_bytes()).map_err(io)?;
        // The first task lets the others in (a plain run grabbing the lock in between
        // makes this fail: then that run holds it).
        if alone && mode == LockMode::Shared && !try_lock(&file, libc::LOCK_SH) {
            return Err(LockError::Held {
                root: root.to_string(),
                lock: shown,
                holder: "another run took it while this task started".into(),
            });
        }
        return Ok(Some((path, file)));
    }
}

/// Locks every local root of `roots` (object-store roots are skipped), in sorted order;
/// `note` is added to the holder line (e.g. `task 2/8`). The first held root refuses the
/// whole run and releases the others.
pub fn lock_outputs(roots: &[String], mode: LockMode, note: &str) -> Result<OutputLock, LockError> {
    let mut roots: Vec<&str> = roots
        .iter()
        .map(|r| r.trim_end_matches('/'))
        .map(|r| if r.is_empty() { "/" } else { r })
        .filter(|r| !r.contains("://"))
        .collect();
    roots.sort_unstable();
    roots.dedup();
    let me = holder_line(note);
    let mut lock = OutputLock::default();
    for root in roots {
        match lock_one(root, mode, &me)? {
            Some(h) => lock.held.push(h),
            None => lock.unlocked.push(root.to_string()),
        }
    }
    Ok(lock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_run_is_refused_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out").to_string_lossy().to_string();
        let first = lock_outputs(std::slice::from_ref(&root), LockMode::Exclusive, "").unwrap();
        assert_eq!(first.files().len(), 1);
        let err = lock_outputs(std::slice::from_ref(&root), LockMode::Exclusive, "").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        assert!(matches!(
            lock_outputs(std::slice::from_ref(&root), LockMode::Shared, ""),
            Err(LockError::Held { .. })
        ));
        drop(first);
        assert!(!dir.path().join("out/.loam/lock").exists());
        // Tasks of one run share it; a plain run is refused while they hold it.
        let a = lock_outputs(std::slice::from_ref(&root), LockMode::Shared, "task 0/2").unwrap();
        let b = lock_outputs(std::slice::from_ref(&root), LockMode::Shared, "task 1/2").unwrap();
        let msg = lock_outputs(std::slice::from_ref(&root), LockMode::Exclusive, "")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("task 0/2") && msg.contains("task 1/2"),
            "{msg}"
        );
        drop(a);
        assert!(
            dir.path().join("out/.loam/lock").exists(),
            "b still holds it"
        );
        drop(b);
        assert!(!dir.path().join("out/.loam/lock").exists());
        let again = lock_outputs(&[root, "s3://bucket/x".into()], LockMode::Exclusive, "").unwrap();
        assert_eq!(again.files().len(), 1, "object stores take no lock");
    }
}
