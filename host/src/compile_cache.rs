//! Compiled components kept on disk across restarts, so a start does not compile again.
//!
//! A cached file is native code the host maps and runs, so who can write it matters: the cache
//! lives in a directory only this user may write (created `0700`; one that another user can
//! write is refused), and each file carries a header naming what it was compiled from and a
//! SHA-256 of its payload, checked before wasmtime sees a byte of it. A file that is truncated,
//! corrupted, foreign (another tool's format) or compiled from other bytes is compiled again,
//! with a log line. The digest is not a signature: whoever can write the directory can write a
//! matching digest; the directory's permissions are what keep others out.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::component::Component;
use wasmtime::error::Context;
use wasmtime::{Engine, Result, bail};

/// The start of every file this cache writes (the format's version is in it).
const MAGIC: &[u8] = b"fn-host compiled component v1\n";
/// Magic, the cache key (what was compiled, by which engine), the payload's SHA-256.
const HEADER_LEN: usize = MAGIC.len() + 32 + 32;

/// A directory of compiled components, checked to be private to this user.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: PathBuf,
}

impl CompileCache {
    /// Opens `dir`, creating it (mode `0700`) if needed; refuses a directory another user can
    /// write.
    pub fn open(dir: &Path) -> Result<Self> {
        create_private_dir(dir)?;
        check_private_dir(dir)?;
        Ok(CompileCache { dir: dir.to_path_buf() })
    }

    /// `$XDG_CACHE_HOME/fn-host` or `~/.cache/fn-host`. Without either variable there is no
    /// safe place to guess (a shared temporary directory is not one): the error asks for
    /// `--cache-dir`.
    pub fn default_dir() -> Result<PathBuf> {
        let Some(base) = std::env::var_os("XDG_CACHE_HOME")
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                let home = std::env::var_os("HOME").filter(|home| !home.is_empty())?;
                Some(PathBuf::from(home).join(".cache"))
            })
        else {
            bail!(
                "neither HOME nor XDG_CACHE_HOME is set, so there is no place of yours to keep \
                 compiled components: pass --cache-dir <a directory only you can write>"
            );
        };
        Ok(base.join("fn-host"))
    }

    /// The component in `source`, from the cache when it holds a sound copy compiled from these
    /// exact bytes by an engine like `engine`; compiled (and cached) otherwise.
    pub fn load(&self, engine: &Engine, source: &Path) -> Result<Component> {
        let bytes =
            std::fs::read(source).with_context(|| format!("cannot read {}", source.display()))?;
        let key = cache_key(engine, &bytes);
        let path = self.dir.join(format!("{}.cwasm", hex(&key)));
        match std::fs::read(&path) {
            Ok(file) => match payload(&file, &key) {
                // SAFETY: wasmtime runs a deserialized file as native code. This one sits in a
                // directory only this user can write (checked in `open`), names the source and
                // engine it was compiled for, and its payload matches the digest written with it
                // by `store` from `Component::serialize`.
                Ok(payload) => match unsafe { Component::deserialize(engine, payload) } {
                    Ok(component) => return Ok(component),
                    Err(error) => tracing::warn!(
                        "recompiling {}: the cached copy is unusable: {error:#}",
                        source.display()
                    ),
                },
                Err(problem) => tracing::warn!(
                    "recompiling {}: the cached copy {} {problem}",
                    source.display(),
                    path.display()
                ),
            },
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => tracing::warn!("recompiling: cannot read {}: {error}", path.display()),
        }
        let component = Component::new(engine, &bytes)
            .with_context(|| format!("{} is not a valid component", source.display()))?;
        if let Err(error) = self.store(&component, &key, &path) {
            tracing::warn!("cannot cache the compiled component: {error:#}");
        }
        release_compiler_memory();
        Ok(component)
    }

    /// Writes header and payload atomically (a temporary file renamed into place), so a
    /// concurrent start never reads half a file.
    fn store(&self, component: &Component, key: &[u8; 32], path: &Path) -> Result<()> {
        let payload = component.serialize()?;
        let mut file = Vec::with_capacity(HEADER_LEN + payload.len());
        file.extend_from_slice(MAGIC);
        file.extend_from_slice(key);
        file.extend_from_slice(&Sha256::digest(&payload));
        file.extend_from_slice(&payload);
        let temporary = tempfile::NamedTempFile::new_in(&self.dir)?;
        std::fs::write(temporary.path(), file)?;
        temporary.persist(path)?;
        Ok(())
    }
}

/// Compiling takes far more memory than running (tens of megabytes for this app's three
/// components), and the allocator keeps what the compiler freed cached in the threads that
/// compiled: this one and rayon's pool, where wasmtime compiles functions in parallel. Left
/// there, a host that compiled at start would hold it for as long as it runs.
fn release_compiler_memory() {
    // SAFETY: `mi_collect` only returns memory that no allocation uses to the system.
    rayon::broadcast(|_| unsafe { libmimalloc_sys::mi_collect(true) });
    unsafe { libmimalloc_sys::mi_collect(true) };
}

/// The payload of a cache file, once its header shows it is ours, for `key`, and intact.
fn payload<'a>(file: &'a [u8], key: &[u8; 32]) -> Result<&'a [u8], &'static str> {
    let Some(rest) = file.strip_prefix(MAGIC) else {
        return Err("is not in this host's format");
    };
    if rest.len() < 64 {
        return Err("is truncated");
    }
    let (written_key, rest) = rest.split_at(32);
    let (digest, payload) = rest.split_at(32);
    if written_key != key {
        return Err("was compiled from something else");
    }
    if Sha256::digest(payload).as_slice() != digest {
        return Err("does not match its digest (corrupted or altered)");
    }
    Ok(payload)
}

/// SHA-256 of the component bytes and the engine's compatibility hash.
fn cache_key(engine: &Engine, bytes: &[u8]) -> [u8; 32] {
    struct ShaHasher(Sha256);
    impl Hasher for ShaHasher {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut hasher = ShaHasher(Sha256::new());
    hasher.write(bytes);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.0.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create the cache directory {}", dir.display()))
}

/// Owned by this user and writable by nobody else.
#[cfg(unix)]
fn check_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(dir)
        .with_context(|| format!("cannot read the cache directory {}", dir.display()))?;
    if !metadata.is_dir() {
        bail!("the cache directory {} is not a directory", dir.display());
    }
    let me = rustix::process::geteuid().as_raw();
    if metadata.uid() != me {
        bail!(
            "the cache directory {} belongs to another user (uid {}, you are {me}); compiled \
             code from it would run as you: pass --cache-dir <a directory of yours>",
            dir.display(),
            metadata.uid()
        );
    }
    let mode = metadata.mode() & 0o777;
    if mode & 0o022 != 0 {
        bail!(
            "the cache directory {} can be written by other users (mode {mode:o}); compiled code \
             from it would run as you: `chmod go-w {}` or pass another --cache-dir",
            dir.display(),
            dir.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the cache directory {}", dir.display()))
}

#[cfg(not(unix))]
fn check_private_dir(_dir: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_for(key: &[u8; 32], payload: &[u8]) -> Vec<u8> {
        let mut file = MAGIC.to_vec();
        file.extend_from_slice(key);
        file.extend_from_slice(&Sha256::digest(payload));
        file.extend_from_slice(payload);
        file
    }

    #[test]
    fn only_an_intact_file_for_the_same_key_yields_its_payload() {
        let key = [7u8; 32];
        let file = file_for(&key, b"native code");
        assert_eq!(payload(&file, &key), Ok(&b"native code"[..]));
        assert_eq!(payload(&file, &[8u8; 32]), Err("was compiled from something else"));
        let mut altered = file.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(
            payload(&altered, &key),
            Err("does not match its digest (corrupted or altered)")
        );
        assert_eq!(payload(&file[..MAGIC.len() + 40], &key), Err("is truncated"));
        assert_eq!(payload(b"\x7fELF...", &key), Err("is not in this host's format"));
    }

    #[cfg(unix)]
    #[test]
    fn the_directory_is_created_private_and_refused_when_others_can_write_it() {
        use std::os::unix::fs::PermissionsExt;
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("a/b/cache");
        CompileCache::open(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);

        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let refused = CompileCache::open(&dir).unwrap_err().to_string();
        assert_eq!(
            refused,
            format!(
                "the cache directory {0} can be written by other users (mode 777); compiled \
                 code from it would run as you: `chmod go-w {0}` or pass another --cache-dir",
                dir.display()
            )
        );
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        CompileCache::open(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_of_another_user_is_refused() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("cache");
        CompileCache::open(&dir).unwrap();
        let me = rustix::process::geteuid().as_raw();
        let other = if me == 0 { 1 } else { 0 };
        // Only root may give a directory away; as anyone else this test has nothing to check.
        if std::os::unix::fs::chown(&dir, Some(other), None).is_err() {
            eprintln!("skipped: cannot chown {} to uid {other}", dir.display());
            return;
        }
        let refused = CompileCache::open(&dir).unwrap_err().to_string();
        assert_eq!(
            refused,
            format!(
                "the cache directory {} belongs to another user (uid {other}, you are {me}); \
                 compiled code from it would run as you: pass --cache-dir <a directory of yours>",
                dir.display()
            )
        );
    }
}
