//! Object stores (`s3://bucket/key`, and S3-compatible stores) behind [`Storage`].
//!
//! Built on the `object_store` crate. The engine is synchronous (rayon threads), so every call
//! goes through one small shared tokio runtime: a *multi-thread* runtime with two I/O worker
//! threads, so that read-ahead and multipart part uploads make progress in the background
//! while the caller's thread is busy decoding or tagging (a current-thread runtime only runs
//! tasks inside `block_on`, which would serialize network and compute).
//!
//! - **Streaming reads**: an object is read with ranged GETs of [`ObjectConfig::read_chunk_bytes`]
//!   with one chunk fetched ahead; memory is two chunks per open reader, never the whole
//!   object. Every chunk is pinned to the ETag seen at open (`If-Match`), so an object
//!   replaced mid-read fails loudly instead of mixing two versions.
//! - **Atomic writes**: bytes are buffered up to one part; a small object is one PUT at
//!   commit, a large one a multipart upload (parts uploaded in the background, at most
//!   [`ObjectConfig::parts_in_flight`] per writer) that becomes visible only on
//!   CompleteMultipartUpload. A writer dropped without commit sends nothing (small) or
//!   aborts its upload (large): no object appears.
//! - **Listing**: recursive, sorted by key; paths are given back as `s3://bucket/key`.
//! - **Retries**: `object_store` retries 5xx (503 SlowDown), 429, 408 and transport errors
//!   (timeouts, refused connections) with exponential backoff and decorrelated jitter, up to
//!   [`ObjectConfig::max_retries`] times within [`ObjectConfig::retry_timeout`].
//! - **Bounded concurrency**: each calling thread has at most one request of its own in
//!   flight, plus one read-ahead per open reader and `parts_in_flight` per writer.
//! - **Credentials**: the standard AWS chain — `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
//!   (`AWS_SESSION_TOKEN`), else the profile `AWS_PROFILE` (default `default`) in
//!   `~/.aws/credentials` and `~/.aws/config` (`AWS_SHARED_CREDENTIALS_FILE`,
//!   `AWS_CONFIG_FILE`), else web identity, container and instance credentials. Endpoint from
//!   `AWS_ENDPOINT_URL` (or the profile's `endpoint_url`); S3-compatible endpoints are
//!   addressed path-style; an `http://` endpoint is allowed without further settings.

use crate::storage::{AtomicWrite, ObjectInfo, StorageError};
use bytes::Bytes;
use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjPath;
use object_store::{
    BackoffConfig, GetOptions, GetRange, MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload,
    RetryConfig,
};
use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

/// Tunables, read once from the environment (`LOAM_S3_*`), with defaults for real S3.
#[derive(Debug, Clone)]
pub struct ObjectConfig {
    /// Size of one ranged GET (`LOAM_S3_READ_CHUNK_BYTES`, default 8 MiB).
    pub read_chunk_bytes: u64,
    /// Size of one multipart part (`LOAM_S3_PART_BYTES`, default 16 MiB, at least 5 MiB as
    /// S3 requires); objects smaller than this are written with one PUT.
    pub part_bytes: usize,
    /// Part uploads in flight per writer (`LOAM_S3_PARTS_IN_FLIGHT`, default 2).
    pub parts_in_flight: usize,
    /// Retries of one request (`LOAM_S3_MAX_RETRIES`, default 10).
    pub max_retries: usize,
    /// Give up retrying a request after this long (`LOAM_S3_RETRY_TIMEOUT_SECS`, default 180).
    pub retry_timeout: Duration,
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

impl ObjectConfig {
    fn from_env() -> Self {
        ObjectConfig {
            read_chunk_bytes: env_num("LOAM_S3_READ_CHUNK_BYTES", 8 << 20).max(64 << 10),
            part_bytes: env_num("LOAM_S3_PART_BYTES", 16 << 20).max(5 << 20) as usize,
            parts_in_flight: env_num("LOAM_S3_PARTS_IN_FLIGHT", 2).max(1) as usize,
            max_retries: env_num("LOAM_S3_MAX_RETRIES", 10) as usize,
            retry_timeout: Duration::from_secs(env_num("LOAM_S3_RETRY_TIMEOUT_SECS", 180)),
        }
    }
}

/// `s3://bucket/key` → (`bucket`, `key`); `None` for other locations. The key may be empty.
pub fn parse_location(location: &str) -> Option<(&str, &str)> {
    let rest = location
        .strip_prefix("s3://")
        .or_else(|| location.strip_prefix("s3a://"))?;
    Some(rest.split_once('/').unwrap_or((rest, "")))
}

fn scheme_of(location: &str) -> &str {
    if location.starts_with("s3a://") {
        "s3a"
    } else {
        "s3"
    }
}

/// The shared runtime and one client per bucket.
struct Stores {
    rt: Runtime,
    config: ObjectConfig,
    clients: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
}

fn stores() -> Result<&'static Stores, io::Error> {
    static STORES: OnceLock<Result<Stores, String>> = OnceLock::new();
    let s = STORES.get_or_init(|| {
        // TLS through rustls on `ring` (no bundled provider is compiled in): installed once
        // for the process; an error only means one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("loam-io")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the I/O runtime: {e}"))?;
        Ok(Stores {
            rt,
            config: ObjectConfig::from_env(),
            clients: Mutex::new(HashMap::new()),
        })
    });
    s.as_ref().map_err(|e| io::Error::other(e.clone()))
}

/// One `[section]` of an AWS ini file.
fn ini_section(text: &str, section: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == section;
            continue;
        }
        if inside {
            if let Some((k, v)) = line.split_once('=') {
                out.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
    }
    out
}

/// The settings of profile `AWS_PROFILE` (default `default`) from the shared credentials and
/// config files; the credentials file wins where both set a key.
fn profile_settings() -> HashMap<String, String> {
    let profile = std::env::var("AWS_PROFILE")
        .or_else(|_| std::env::var("AWS_DEFAULT_PROFILE"))
        .unwrap_or_else(|_| "default".into());
    let home = std::env::var("HOME").unwrap_or_default();
    let config_file =
        std::env::var("AWS_CONFIG_FILE").unwrap_or_else(|_| format!("{home}/.aws/config"));
    let creds_file = std::env::var("AWS_SHARED_CREDENTIALS_FILE")
        .unwrap_or_else(|_| format!("{home}/.aws/credentials"));
    let mut out = HashMap::new();
    if let Ok(text) = std::fs::read_to_string(&config_file) {
        let section = if profile == "default" {
            "default".to_string()
        } else {
            format!("profile {profile}")
        };
        out.extend(ini_section(&text, &section));
    }
    if let Ok(text) = std::fs::read_to_string(&creds_file) {
        out.extend(ini_section(&text, &profile));
    }
    out
}

fn env_set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty())
}

fn build_client(bucket: &str, config: &ObjectConfig) -> Result<Arc<dyn ObjectStore>, io::Error> {
    let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
    // The profile chain fills what the environment leaves unset.
    let profile = profile_settings();
    let from_profile =
        |b: AmazonS3Builder, key: AmazonS3ConfigKey, name: &str| match profile.get(name) {
            Some(v) => b.with_config(key, v),
            None => b,
        };
    if !env_set("AWS_ACCESS_KEY_ID") && profile.contains_key("aws_access_key_id") {
        b = from_profile(b, AmazonS3ConfigKey::AccessKeyId, "aws_access_key_id");
        b = from_profile(
            b,
            AmazonS3ConfigKey::SecretAccessKey,
            "aws_secret_access_key",
        );
        b = from_profile(b, AmazonS3ConfigKey::Token, "aws_session_token");
    }
    if !env_set("AWS_REGION") && !env_set("AWS_DEFAULT_REGION") {
        b = from_profile(b, AmazonS3ConfigKey::Region, "region");
    }
    let endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| profile.get("endpoint_url").cloned());
    if let Some(ep) = &endpoint {
        // S3-compatible stores: path-style addressing (`endpoint/bucket/key`).
        b = b
            .with_endpoint(ep.trim_end_matches('/'))
            .with_virtual_hosted_style_request(false);
        if ep.starts_with("http://") {
            b = b.with_allow_http(true);
        }
    }
    b = b.with_retry(RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: config.max_retries,
        retry_timeout: config.retry_timeout,
    });
    let store = b.build().map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            redact_userinfo(&format!(
                "cannot configure the S3 client for bucket `{bucket}`: {e}"
            )),
        )
    })?;
    Ok(Arc::new(store))
}

/// The client for a bucket (built once, shared by every thread).
fn client(bucket: &str) -> Result<(&'static Stores, Arc<dyn ObjectStore>), io::Error> {
    let s = stores()?;
    let mut clients = s.clients.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = clients.get(bucket) {
        return Ok((s, c.clone()));
    }
    let c = build_client(bucket, &s.config)?;
    clients.insert(bucket.to_string(), c.clone());
    Ok((s, c))
}

/// `text` with the user-info part of every URL in it (`scheme://user:password@host`)
/// replaced by `***`: an endpoint URL carrying a password must not reach logs.
pub fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // The authority ends at the first `/`, `?`, `#`, whitespace or quote.
        let end = tail
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | ')' | '>') || c.is_whitespace()
            })
            .unwrap_or(tail.len());
        let (authority, after) = tail.split_at(end);
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("***");
                out.push_str(authority.get(at..).unwrap_or_default());
            }
            None => out.push_str(authority),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Maps an `object_store` error to an I/O error whose message says what went wrong in the
/// terms a user acts on (credentials, missing object, unreachable endpoint), with any
/// password in a URL redacted.
fn io_error(e: object_store::Error) -> io::Error {
    let e = io_error_raw(e);
    io::Error::new(e.kind(), redact_userinfo(&e.to_string()))
}

fn io_error_raw(e: object_store::Error) -> io::Error {
    use object_store::Error as E;
    match e {
        E::NotFound { .. } => io::Error::new(io::ErrorKind::NotFound, "no such object"),
        E::PermissionDenied { source, .. } | E::Unauthenticated { source, .. } => io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "access denied: the object store rejected the credentials or the request signature \
                 (check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN or AWS_PROFILE, \
                 and the bucket policy): {source}"
            ),
        ),
        E::Precondition { .. } => io::Error::other(
            "the object changed while it was being read (its ETag no longer matches)",
        ),
        other => {
            let msg = other.to_string();
            let kind = if msg.contains("SignatureDoesNotMatch")
                || msg.contains("InvalidAccessKeyId")
                || msg.contains("AccessDenied")
            {
                return io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!(
                        "access denied: the object store rejected the credentials or the request \
                         signature (check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, \
                         AWS_SESSION_TOKEN or AWS_PROFILE): {msg}"
                    ),
                );
            } else {
                io::ErrorKind::Other
            };
            io::Error::new(kind, format!("object store request failed: {msg}"))
        }
    }
}

/// A location split into its client and key.
struct Loc {
    stores: &'static Stores,
    store: Arc<dyn ObjectStore>,
    scheme: &'static str,
    bucket: String,
    key: ObjPath,
}

fn resolve(location: &str) -> Result<Loc, StorageError> {
    let (bucket, key) = parse_location(location).ok_or_else(|| {
        StorageError::new(
            location,
            io::Error::new(io::ErrorKind::InvalidInput, "not an s3:// location"),
        )
    })?;
    if bucket.is_empty() {
        return Err(StorageError::new(
            location,
            io::Error::new(io::ErrorKind::InvalidInput, "no bucket name"),
        ));
    }
    let key = ObjPath::parse(key.trim_end_matches('/')).map_err(|e| {
        StorageError::new(
            location,
            io::Error::new(io::ErrorKind::InvalidInput, format!("invalid key: {e}")),
        )
    })?;
    let (stores, store) = client(bucket).map_err(|e| StorageError::new(location, e))?;
    Ok(Loc {
        stores,
        store,
        scheme: if scheme_of(location) == "s3a" {
            "s3a"
        } else {
            "s3"
        },
        bucket: bucket.to_string(),
        key,
    })
}

/// Checks that a location can be served (its client can be configured) without a request.
pub fn check(location: &str) -> Result<(), StorageError> {
    resolve(location).map(|_| ())
}

/// Objects under `location` (recursively, sorted); the object itself when it is one.
pub fn list(location: &str) -> Result<Vec<ObjectInfo>, StorageError> {
    let l = resolve(location)?;
    let err = |e| StorageError::new(location, io_error(e));
    let prefix = (!l.key.as_ref().is_empty()).then_some(&l.key);
    let metas: Vec<object_store::ObjectMeta> = l
        .stores
        .rt
        .block_on(l.store.list(prefix).try_collect())
        .map_err(err)?;
    let base = l.key.as_ref();
    let mut out: Vec<ObjectInfo> = metas
        .into_iter()
        .filter(|m| {
            let rel = m.location.as_ref();
            let rel = rel.strip_prefix(base).unwrap_or(rel);
            // Our own bookkeeping and temporary names, as local listing skips them.
            !rel.split('/').any(|seg| seg.starts_with(".loam"))
        })
        .map(|m| ObjectInfo {
            path: format!("{}://{}/{}", l.scheme, l.bucket, m.location),
            size: m.size,
        })
        .collect();
    if out.is_empty() && !base.is_empty() {
        // Not a prefix: perhaps a single object.
        if let Some(size) = head(&l, location)?.map(|(s, _)| s) {
            out.push(ObjectInfo {
                path: location.to_string(),
                size,
            });
        }
    }
    out.sort();
    Ok(out)
}

fn head(l: &Loc, location: &str) -> Result<Option<(u64, Option<String>)>, StorageError> {
    match l.stores.rt.block_on(l.store.head(&l.key)) {
        Ok(m) => Ok(Some((m.size, m.e_tag))),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(StorageError::new(location, io_error(e))),
    }
}

/// The object's size, or `None` when it does not exist.
pub fn size(location: &str) -> Result<Option<u64>, StorageError> {
    let l = resolve(location)?;
    Ok(head(&l, location)?.map(|(s, _)| s))
}

/// Deletes an object (a missing one is not an error).
pub fn delete(location: &str) -> Result<(), StorageError> {
    let l = resolve(location)?;
    match l.stores.rt.block_on(l.store.delete(&l.key)) {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(StorageError::new(location, io_error(e))),
    }
}

/// `len` bytes from `start` (one ranged GET; for random access such as Parquet footers).
pub fn read_range(location: &str, start: u64, len: u64) -> Result<Vec<u8>, StorageError> {
    let l = resolve(location)?;
    if len == 0 {
        return Ok(Vec::new());
    }
    let b = l
        .stores
        .rt
        .block_on(fetch(
            l.store.clone(),
            l.key.clone(),
            start..start + len,
            None,
        ))
        .map_err(|e| StorageError::new(location, e))?;
    Ok(b.to_vec())
}

async fn fetch(
    store: Arc<dyn ObjectStore>,
    key: ObjPath,
    range: std::ops::Range<u64>,
    etag: Option<String>,
) -> io::Result<Bytes> {
    let want = range.end - range.start;
    let opts = GetOptions {
        range: Some(GetRange::Bounded(range.clone())),
        if_match: etag,
        ..Default::default()
    };
    let r = store.get_opts(&key, opts).await.map_err(io_error)?;
    let b = r.bytes().await.map_err(io_error)?;
    if b.len() as u64 != want {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "short read: asked for bytes {}..{}, got {} bytes",
                range.start,
                range.end,
                b.len()
            ),
        ));
    }
    Ok(b)
}

/// Opens an object for streaming reads.
pub fn open(location: &str) -> Result<Box<dyn Read + Send>, StorageError> {
    let l = resolve(location)?;
    let (size, etag) = head(&l, location)?.ok_or_else(|| {
        StorageError::new(
            location,
            io::Error::new(io::ErrorKind::NotFound, "no such object"),
        )
    })?;
    let mut r = ObjectReader {
        rt: &l.stores.rt,
        store: l.store,
        key: l.key,
        size,
        etag,
        chunk: l.stores.config.read_chunk_bytes,
        next: 0,
        buf: Bytes::new(),
        pending: None,
    };
    r.prefetch();
    Ok(Box::new(r))
}

/// Ranged GETs with one chunk of read-ahead.
struct ObjectReader {
    rt: &'static Runtime,
    store: Arc<dyn ObjectStore>,
    key: ObjPath,
    size: u64,
    etag: Option<String>,
    chunk: u64,
    /// Offset of the next chunk to fetch.
    next: u64,
    buf: Bytes,
    pending: Option<JoinHandle<io::Result<Bytes>>>,
}

impl ObjectReader {
    fn prefetch(&mut self) {
        if self.pending.is_some() || self.next >= self.size {
            return;
        }
        let end = (self.next + self.chunk).min(self.size);
        let fut = fetch(
            self.store.clone(),
            self.key.clone(),
            self.next..end,
            self.etag.clone(),
        );
        self.pending = Some(self.rt.spawn(fut));
        self.next = end;
    }
}

impl Read for ObjectReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.buf.is_empty() {
            let Some(h) = self.pending.take() else {
                return Ok(0);
            };
            self.buf = self.rt.block_on(h).map_err(io::Error::other)??;
            self.prefetch();
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        let _ = self.buf.split_to(n);
        Ok(n)
    }
}

impl Drop for ObjectReader {
    fn drop(&mut self) {
        if let Some(h) = self.pending.take() {
            h.abort();
        }
    }
}

/// Starts an atomic write.
pub fn create(location: &str) -> Result<Box<dyn AtomicWrite>, StorageError> {
    let l = resolve(location)?;
    if l.key.as_ref().is_empty() {
        return Err(StorageError::new(
            location,
            io::Error::new(io::ErrorKind::InvalidInput, "no object key"),
        ));
    }
    Ok(Box::new(ObjectWriter {
        location: location.to_string(),
        rt: &l.stores.rt,
        part_bytes: l.stores.config.part_bytes,
        in_flight: l.stores.config.parts_in_flight,
        store: l.store,
        key: l.key,
        buf: Vec::new(),
        upload: None,
        parts: VecDeque::new(),
        failed: None,
    }))
}

type PartHandle = JoinHandle<object_store::Result<()>>;

/// Buffers one part; a single PUT for small objects, a multipart upload for large ones.
struct ObjectWriter {
    location: String,
    rt: &'static Runtime,
    part_bytes: usize,
    in_flight: usize,
    store: Arc<dyn ObjectStore>,
    key: ObjPath,
    buf: Vec<u8>,
    upload: Option<Box<dyn MultipartUpload>>,
    parts: VecDeque<PartHandle>,
    /// The first failure; later writes and the commit repeat it.
    failed: Option<String>,
}

impl ObjectWriter {
    fn fail(&mut self, e: io::Error) -> io::Error {
        self.failed.get_or_insert_with(|| e.to_string());
        e
    }

    fn wait_part(&mut self, h: PartHandle) -> io::Result<()> {
        match self.rt.block_on(h) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(io_error(e)),
            Err(e) => Err(io::Error::other(e)),
        }
    }

    /// Sends the buffered bytes as the next part.
    fn send_part(&mut self) -> io::Result<()> {
        let upload = match self.upload.take() {
            Some(up) => up,
            None => self
                .rt
                .block_on(self.store.put_multipart(&self.key))
                .map_err(io_error)?,
        };
        let upload = self.upload.insert(upload);
        let data = std::mem::replace(&mut self.buf, Vec::with_capacity(self.part_bytes));
        let fut = upload.put_part(PutPayload::from(data));
        self.parts.push_back(self.rt.spawn(fut));
        while self.parts.len() > self.in_flight {
            let Some(h) = self.parts.pop_front() else {
                break;
            };
            self.wait_part(h)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        if let Some(m) = &self.failed {
            return Err(io::Error::other(m.clone()));
        }
        // The upload stays in `self` until its parts are in, so a failure here leaves it for
        // `drop` to abort.
        if self.upload.is_some() {
            if !self.buf.is_empty() {
                self.send_part()?;
            }
            while let Some(h) = self.parts.pop_front() {
                self.wait_part(h)?;
            }
        }
        let Some(mut up) = self.upload.take() else {
            // Never reached the part size: a single PUT.
            let data = std::mem::take(&mut self.buf);
            self.rt
                .block_on(self.store.put(&self.key, PutPayload::from(data)))
                .map_err(io_error)?;
            return Ok(());
        };
        match self.rt.block_on(up.complete()) {
            Ok(_) => Ok(()),
            Err(e) => {
                let _ = self.rt.block_on(up.abort());
                Err(io_error(e))
            }
        }
    }
}

impl Write for ObjectWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if let Some(m) = &self.failed {
            return Err(io::Error::other(m.clone()));
        }
        let room = self.part_bytes - self.buf.len();
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() >= self.part_bytes {
            self.send_part().map_err(|e| self.fail(e))?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AtomicWrite for ObjectWriter {
    fn commit(mut self: Box<Self>) -> Result<(), StorageError> {
        let r = self.finish();
        r.map_err(|e| StorageError::new(self.location.clone(), e))
    }
}

impl Drop for ObjectWriter {
    fn drop(&mut self) {
        // Not committed: nothing was published. Abort a started upload so its parts do not
        // linger (best effort; S3 lifecycle rules clean up after a killed process).
        for h in self.parts.drain(..) {
            h.abort();
        }
        if let Some(mut up) = self.upload.take() {
            let _ = self.rt.block_on(up.abort());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_redacted() {
        assert_eq!(
            redact_userinfo(
                "error sending request for url (http://ak:s3cret@127.0.0.1:9/b?x=1): refused"
            ),
            "error sending request for url (http://***@127.0.0.1:9/b?x=1): refused"
        );
        assert_eq!(
            redact_userinfo("s3://bucket/key and https://host/p"),
            "s3://bucket/key and https://host/p"
        );
        assert_eq!(redact_userinfo("a://u@h b://c"), "a://***@h b://c");
    }

    #[test]
    fn parses_locations() {
        assert_eq!(parse_location("s3://b/k/x.gz"), Some(("b", "k/x.gz")));
        assert_eq!(parse_location("s3://b"), Some(("b", "")));
        assert_eq!(parse_location("s3a://b/"), Some(("b", "")));
        assert_eq!(parse_location("/tmp/x"), None);
        assert_eq!(parse_location("gs://b/x"), None);
    }

    #[test]
    fn reads_profile_sections() {
        let text = "[default]\naws_access_key_id = A\n\n[profile other]\nregion=eu-west-1\n# c\n[x]\nk=v\n";
        assert_eq!(ini_section(text, "default")["aws_access_key_id"], "A");
        assert_eq!(ini_section(text, "profile other")["region"], "eu-west-1");
        assert!(ini_section(text, "nope").is_empty());
    }
}
