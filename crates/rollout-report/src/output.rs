//! Every file a command writes, and its stdout: whole or not at all, and
//! never over anything it must not touch (DESIGN §6, "Output safety").
//!
//! The model: a command first gathers its inputs into [`Outputs`], then
//! opens each destination through it *before anything runs*. Opening
//! decides what the path is, following symlinks to their target:
//!
//! - a regular file, or no file yet: an [`Output`] built in a temporary file
//!   beside the target (creating it is the proof that the folder exists and
//!   is writable) and renamed over the target only when complete, so a
//!   reader never sees half a file and a failure leaves the old one. A
//!   symlink stays a link: its target is what gets replaced.
//! - a character device (`/dev/null`, `/dev/full`, a terminal), a pipe with
//!   a reader, or one of this process's own descriptors (`/dev/stdout`,
//!   `/dev/stderr`, `/dev/fd/N`): written through, never replaced. A FIFO
//!   with no reader is refused, as writing to it would wait forever.
//! - anything else (a folder, a socket, a block device): refused.
//!
//! An existing file that is an input of the same command (same device and
//! inode, however it is spelt or linked) is refused, and so is a file that
//! two outputs would write.
//!
//! Write errors, a full disk or a full `/dev/full` alike, are kept and
//! returned by [`Output::commit`] (the first one; later writes are skipped),
//! so a command writes its outputs as results arrive and checks once.
//! [`Stdout`] does the same for standard output, except that a reader that
//! has gone away (`| head -1`) is not an error: the rest of stdout is
//! dropped quietly, as other command-line tools do.
//!
//! Every temporary file is registered while it exists. [`abandon`], called
//! when the process is told to stop (SIGINT, SIGTERM), removes them all and
//! lets no output be created or renamed into place afterwards, so an
//! interrupted command leaves no trace. Work that must not be cut off in
//! the middle, an SQLite transaction on a user's database, registers itself
//! with [`begin_transaction`]: [`abandon`] interrupts it and waits for it to
//! roll back.

// Transactions are the spans database's: without the `sqlite` feature
// nothing begins one.
#![cfg_attr(not(feature = "sqlite"), allow(dead_code))]

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// An output could not be written, or must not be.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {message}")]
pub struct OutputError {
    /// The destination, as given.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

impl OutputError {
    /// An error about `path`.
    pub fn new(path: &Path, message: impl std::fmt::Display) -> Self {
        Self {
            path: path.display().to_string(),
            message: message.to_string(),
        }
    }
}

// ---------------------------------------------------------------------------
// The registry of live temporary files and transactions.

type Interrupt = Box<dyn Fn() + Send + Sync>;

struct Live {
    /// Set once by [`abandon`]; nothing is created or renamed after it.
    abandoned: bool,
    temporaries: Vec<PathBuf>,
    transactions: Vec<(u64, Interrupt)>,
    next_transaction: u64,
}

static LIVE: Mutex<Live> = Mutex::new(Live {
    abandoned: false,
    temporaries: Vec::new(),
    transactions: Vec::new(),
    next_transaction: 0,
});

/// Signalled whenever a transaction ends.
static TRANSACTION_ENDED: Condvar = Condvar::new();

/// How long [`abandon`] waits for transactions to roll back. SQLite stops
/// an interrupted statement at once; this only bounds a stuck disk.
const ROLLBACK_WAIT: Duration = Duration::from_secs(10);

fn live() -> MutexGuard<'static, Live> {
    LIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The process is exiting (see [`abandon`]): this thread has nothing left to
/// do and must not touch the file system again.
fn wait_for_exit() -> ! {
    loop {
        std::thread::park();
    }
}

/// Files SQLite may keep beside a database.
const DATABASE_COMPANIONS: [&str; 3] = ["-journal", "-wal", "-shm"];

fn remove_with_companions(path: &Path) {
    let _ = std::fs::remove_file(path);
    for suffix in DATABASE_COMPANIONS {
        let mut companion = path.as_os_str().to_owned();
        companion.push(suffix);
        let _ = std::fs::remove_file(companion);
    }
}

/// Stops every output for good, because the process is about to exit:
/// interrupts registered transactions and waits (a bounded time) for them
/// to roll back, removes every temporary file, and from then on blocks any
/// thread that would create or rename one. Call it once, then exit.
pub fn abandon() {
    let mut live = live();
    live.abandoned = true;
    for (_, interrupt) in &live.transactions {
        interrupt();
    }
    let deadline = Instant::now() + ROLLBACK_WAIT;
    while !live.transactions.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        live = TRANSACTION_ENDED
            .wait_timeout(live, left)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
    for path in live.temporaries.drain(..) {
        remove_with_companions(&path);
    }
    // Keep the registry locked until the process exits: a thread that
    // reaches it now waits instead of writing.
    std::mem::forget(live);
}

/// True once [`abandon`] has been called.
pub fn abandoned() -> bool {
    live().abandoned
}

/// A transaction on a file that is not ours to remove (an SQLite database
/// being appended to), registered so that [`abandon`] interrupts it and
/// waits for its rollback instead of exiting in the middle of it.
pub struct TransactionGuard {
    id: u64,
}

/// Registers a transaction; `interrupt` must make it fail soon, from any
/// thread (SQLite's `sqlite3_interrupt`). Drop the guard after the
/// transaction has committed or rolled back.
pub fn begin_transaction(interrupt: Interrupt) -> TransactionGuard {
    let mut live = live();
    if live.abandoned {
        drop(live);
        wait_for_exit();
    }
    let id = live.next_transaction;
    live.next_transaction += 1;
    live.transactions.push((id, interrupt));
    TransactionGuard { id }
}

impl TransactionGuard {
    /// True once the process is stopping: give up and roll back.
    pub fn abandoned(&self) -> bool {
        abandoned()
    }
}

impl Drop for TransactionGuard {
    fn drop(&mut self) {
        let mut live = live();
        live.transactions.retain(|(id, _)| *id != self.id);
        TRANSACTION_ENDED.notify_all();
        if live.abandoned {
            drop(live);
            wait_for_exit();
        }
    }
}

/// A temporary file beside a destination: removed when dropped, unless
/// renamed onto it.
#[derive(Debug)]
pub struct Temporary {
    path: PathBuf,
    /// Renamed into place: nothing to remove.
    renamed: bool,
}

impl Temporary {
    /// Creates a new, empty temporary file in `target`'s folder.
    pub fn beside(target: &Path) -> io::Result<(Self, File)> {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut live = live();
        if live.abandoned {
            drop(live);
            wait_for_exit();
        }
        let pid = std::process::id();
        for attempt in 0u32.. {
            let file_name = match attempt {
                0 => format!(".{name}.{pid}.tmp"),
                n => format!(".{name}.{pid}-{n}.tmp"),
            };
            let path = target.with_file_name(file_name);
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => {
                    live.temporaries.push(path.clone());
                    return Ok((
                        Self {
                            path,
                            renamed: false,
                        },
                        file,
                    ));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 64 => {}
                Err(e) => return Err(e),
            }
        }
        unreachable!("the loop returns")
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames it onto `target`, as one step against [`abandon`]: either the
    /// complete file is in place, or the temporary file is removed.
    pub fn rename_onto(mut self, target: &Path) -> io::Result<()> {
        let mut live = live();
        if live.abandoned {
            drop(live);
            wait_for_exit();
        }
        std::fs::rename(&self.path, target)?;
        live.temporaries.retain(|p| *p != self.path);
        self.renamed = true;
        Ok(())
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        if self.renamed {
            return;
        }
        let mut live = live();
        remove_with_companions(&self.path);
        live.temporaries.retain(|p| *p != self.path);
    }
}

// ---------------------------------------------------------------------------
// What a path is.

/// A file's identity: the same file however it is named or linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileKey {
    dev: u64,
    ino: u64,
}

impl FileKey {
    fn of(meta: &Metadata) -> Self {
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// Symlinks followed at most, as the kernel's own limit.
const MAX_LINKS: usize = 40;

/// A path with its symlinks followed.
enum Resolved {
    /// One of this process's standard descriptors (0, 1, 2).
    Standard(u8),
    /// Another descriptor of this process (`/dev/fd/N`, `/proc/self/fd/N`):
    /// opened through the path, which the kernel resolves.
    Descriptor(PathBuf),
    /// An existing file that is not a symlink.
    Existing(PathBuf, Metadata),
    /// Nothing there yet.
    Missing(PathBuf),
}

/// What `path` is when it names one of this process's own descriptors.
fn own_descriptor(path: &Path) -> Option<Resolved> {
    let text = path.to_str()?;
    let standard = match text {
        "/dev/stdin" => Some(0),
        "/dev/stdout" => Some(1),
        "/dev/stderr" => Some(2),
        _ => None,
    };
    let n = match standard {
        Some(n) => n,
        None => {
            let pid = format!("/proc/{}/fd/", std::process::id());
            ["/dev/fd/", "/proc/self/fd/", "/proc/thread-self/fd/", &pid]
                .iter()
                .find_map(|prefix| text.strip_prefix(prefix))?
                .parse::<u32>()
                .ok()?
        }
    };
    Some(match u8::try_from(n) {
        Ok(n) if n <= 2 => Resolved::Standard(n),
        _ => Resolved::Descriptor(path.to_path_buf()),
    })
}

fn resolve(path: &Path) -> Result<Resolved, String> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        if let Some(own) = own_descriptor(&current) {
            return Ok(own);
        }
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&current).map_err(|e| e.to_string())?;
                current = match current.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            Ok(meta) => return Ok(Resolved::Existing(current, meta)),
            Err(e)
                if e.kind() == io::ErrorKind::NotFound
                    || e.raw_os_error() == Some(libc::ENOTDIR) =>
            {
                return Ok(Resolved::Missing(current));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Err("too many levels of symbolic links".into())
}

/// The folder a file would be created in.
fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

fn describe(kind: std::fs::FileType) -> &'static str {
    if kind.is_dir() {
        "a folder"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else {
        "not a regular file"
    }
}

/// Opens a FIFO for writing without waiting for a reader.
fn open_fifo(path: &Path) -> Result<File, String> {
    let file = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ENXIO) {
                "it is a FIFO with no reader; writing to it would wait forever".to_string()
            } else {
                e.to_string()
            }
        })?;
    // Written through like any pipe from here on: blocking, so that a slow
    // reader slows the writer instead of failing it.
    let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
    // SAFETY: `fd` is open for the life of `file`; F_GETFL/F_SETFL only read
    // and set its status flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags == -1 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } == -1 {
        return Err(io::Error::last_os_error().to_string());
    }
    Ok(file)
}

/// A standard descriptor of this process, shared (`>&1` in a shell).
fn standard(n: u8) -> Result<File, String> {
    let owned = match n {
        0 => io::stdin().as_fd().try_clone_to_owned(),
        1 => io::stdout().as_fd().try_clone_to_owned(),
        _ => io::stderr().as_fd().try_clone_to_owned(),
    };
    owned
        .map(File::from)
        .map_err(|e| format!("descriptor {n} is not open: {e}"))
}

/// Where a destination's bytes go, as found before anything runs.
#[derive(Debug)]
pub enum Destination {
    /// A regular file at `target` (the path with its symlinks followed),
    /// with its metadata when it exists: built beside it and renamed over it.
    File {
        /// The file to replace or create.
        target: PathBuf,
        /// Its metadata, when it exists.
        existing: Option<Metadata>,
    },
    /// A character device, a pipe or a descriptor of this process: written
    /// through, never replaced.
    Stream(File),
}

/// What an output claims, to find two outputs of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Claim {
    Existing(FileKey),
    New(PathBuf),
}

/// The inputs and outputs of one command: outputs are checked against
/// both before anything runs.
#[derive(Debug, Default)]
pub struct Outputs {
    inputs: Vec<(FileKey, PathBuf)>,
    claims: Vec<(Claim, String)>,
}

impl Outputs {
    /// A command reading `inputs` (files; those that cannot be read are the
    /// input side's error, not this one's).
    pub fn new<P: AsRef<Path>>(inputs: impl IntoIterator<Item = P>) -> Self {
        let inputs = inputs
            .into_iter()
            .filter_map(|p| {
                let p = p.as_ref();
                let meta = std::fs::metadata(p).ok()?;
                Some((FileKey::of(&meta), p.to_path_buf()))
            })
            .collect();
        Self {
            inputs,
            claims: Vec::new(),
        }
    }

    fn refuse_overlap(&mut self, flag: &str, path: &Path, claim: Claim) -> Result<(), OutputError> {
        if let Claim::Existing(key) = &claim
            && let Some((_, input)) = self.inputs.iter().find(|(k, _)| k == key)
        {
            return Err(OutputError::new(
                path,
                format!(
                    "it is an input of this command ({}); an output never replaces an input",
                    input.display()
                ),
            ));
        }
        if let Some((_, other)) = self.claims.iter().find(|(c, _)| *c == claim) {
            return Err(OutputError::new(
                path,
                format!("{other} and {flag} both write it; give each output its own file"),
            ));
        }
        self.claims.push((claim, flag.to_string()));
        Ok(())
    }

    /// Decides what `path` (the value of `flag`) is, refusing what must not
    /// be written; see the module documentation.
    pub fn claim(&mut self, flag: &str, path: &Path) -> Result<Destination, OutputError> {
        let refuse = |message: String| OutputError::new(path, message);
        if path.as_os_str().is_empty() {
            return Err(refuse("empty path".into()));
        }
        match resolve(path).map_err(refuse)? {
            Resolved::Standard(n) => Ok(Destination::Stream(standard(n).map_err(refuse)?)),
            Resolved::Descriptor(fd_path) => {
                let meta = std::fs::metadata(&fd_path).map_err(|e| refuse(e.to_string()))?;
                let kind = meta.file_type();
                let file = if kind.is_fifo() {
                    open_fifo(&fd_path).map_err(refuse)?
                } else if kind.is_char_device() {
                    OpenOptions::new()
                        .write(true)
                        .open(&fd_path)
                        .map_err(|e| refuse(e.to_string()))?
                } else {
                    return Err(refuse(format!(
                        "it is a descriptor of this process that names {}; give that file's path",
                        if kind.is_file() {
                            "a regular file"
                        } else {
                            describe(kind)
                        }
                    )));
                };
                Ok(Destination::Stream(file))
            }
            Resolved::Existing(target, meta) => {
                let kind = meta.file_type();
                if kind.is_file() {
                    self.refuse_overlap(flag, path, Claim::Existing(FileKey::of(&meta)))?;
                    Ok(Destination::File {
                        target,
                        existing: Some(meta),
                    })
                } else if kind.is_dir() {
                    Err(refuse("it is a folder".into()))
                } else if kind.is_char_device() {
                    let file = OpenOptions::new()
                        .write(true)
                        .open(&target)
                        .map_err(|e| refuse(e.to_string()))?;
                    Ok(Destination::Stream(file))
                } else if kind.is_fifo() {
                    Ok(Destination::Stream(open_fifo(&target).map_err(refuse)?))
                } else {
                    Err(refuse(format!(
                        "it is {}; an output replaces only a regular file, and writes through \
                         only a character device or a pipe",
                        describe(kind)
                    )))
                }
            }
            Resolved::Missing(target) => {
                let folder = folder_of(&target);
                match std::fs::metadata(folder) {
                    Ok(meta) if meta.is_dir() => {}
                    Ok(_) => return Err(refuse(format!("{} is not a folder", folder.display()))),
                    Err(_) => {
                        return Err(refuse(format!(
                            "the folder {} does not exist",
                            folder.display()
                        )));
                    }
                }
                let name = target.file_name().map(PathBuf::from).unwrap_or_default();
                let canonical = std::fs::canonicalize(folder)
                    .map_err(|e| refuse(e.to_string()))?
                    .join(name);
                self.refuse_overlap(flag, path, Claim::New(canonical))?;
                Ok(Destination::File {
                    target,
                    existing: None,
                })
            }
        }
    }

    /// Checks and opens `path` (the value of `flag`) for writing; nothing is
    /// replaced until [`Output::commit`].
    pub fn open(&mut self, flag: &str, path: &Path) -> Result<Output, OutputError> {
        let place = match self.claim(flag, path)? {
            Destination::Stream(file) => (Place::Through, file),
            Destination::File { target, existing } => {
                let (temp, file) =
                    Temporary::beside(&target).map_err(|e| OutputError::new(path, e))?;
                if let Some(meta) = existing {
                    // The replacement keeps the file's mode.
                    let _ = file.set_permissions(meta.permissions());
                }
                (Place::Replace { temp, target }, file)
            }
        };
        Ok(Output {
            shown: path.to_path_buf(),
            place: place.0,
            sink: BufWriter::with_capacity(1 << 16, place.1),
            failed: None,
        })
    }

    /// Checks, before anything runs, that files can later be created in
    /// `dir`: it is a writable folder, or the nearest
    /// folder above it that exists is, so that it can be created.
    pub fn check_folder(&self, dir: &Path) -> Result<(), OutputError> {
        let mut existing = dir;
        loop {
            match std::fs::metadata(existing) {
                Ok(meta) if meta.is_dir() => break,
                Ok(_) => {
                    return Err(OutputError::new(
                        dir,
                        format!("{} is not a folder", existing.display()),
                    ));
                }
                Err(_) => match existing.parent() {
                    Some(parent) if !parent.as_os_str().is_empty() => existing = parent,
                    _ => {
                        existing = Path::new(".");
                        break;
                    }
                },
            }
        }
        let probe = existing.join("probe");
        Temporary::beside(&probe).map(drop).map_err(|e| {
            if existing == dir {
                OutputError::new(dir, e)
            } else {
                OutputError::new(
                    dir,
                    format!("it cannot be created in {}: {e}", existing.display()),
                )
            }
        })
    }
}

// ---------------------------------------------------------------------------
// Writing.

#[derive(Debug)]
enum Place {
    Replace { temp: Temporary, target: PathBuf },
    Through,
}

/// An output being written: see [`Outputs::open`]. Dropping it without
/// [`commit`](Self::commit) leaves the destination as it was.
#[derive(Debug)]
pub struct Output {
    shown: PathBuf,
    place: Place,
    sink: BufWriter<File>,
    /// The first write error; later writes are skipped.
    failed: Option<io::Error>,
}

impl Output {
    /// The destination, as given.
    pub fn path(&self) -> &Path {
        &self.shown
    }

    fn record<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &result
            && self.failed.is_none()
        {
            self.failed = Some(io::Error::new(e.kind(), e.to_string()));
        }
        result
    }

    fn skip(&self) -> io::Result<()> {
        match &self.failed {
            Some(e) => Err(io::Error::new(e.kind(), e.to_string())),
            None => Ok(()),
        }
    }

    /// Flushes and puts the file in place: renamed over its target, or
    /// flushed through to the device or pipe. Returns the first error of
    /// any write.
    pub fn commit(mut self) -> Result<(), OutputError> {
        let flushed = self.sink.flush();
        let _ = self.record(flushed);
        if let Some(e) = self.failed.take() {
            return Err(OutputError::new(&self.shown, e));
        }
        let shown = self.shown;
        let place = self.place;
        let sink = self.sink;
        match place {
            Place::Through => Ok(()),
            Place::Replace { temp, target } => {
                sink.get_ref()
                    .sync_all()
                    .map_err(|e| OutputError::new(&shown, e))?;
                drop(sink);
                // What was checked before the run may have changed since.
                if let Ok(meta) = std::fs::symlink_metadata(&target)
                    && !meta.is_file()
                {
                    return Err(OutputError::new(
                        &shown,
                        format!(
                            "{} became {} while this command ran; it is left as it is",
                            target.display(),
                            describe(meta.file_type())
                        ),
                    ));
                }
                temp.rename_onto(&target)
                    .map_err(|e| OutputError::new(&shown, e))
            }
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.skip()?;
        let result = self.sink.write(buf);
        self.record(result)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.skip()?;
        let result = self.sink.write_all(buf);
        self.record(result)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.skip()?;
        let result = self.sink.flush();
        self.record(result)
    }
}

/// Opens, writes whole and commits one output.
pub fn write_file(
    outputs: &mut Outputs,
    flag: &str,
    path: &Path,
    bytes: &[u8],
) -> Result<(), OutputError> {
    let mut output = outputs.open(flag, path)?;
    let _ = output.write_all(bytes);
    output.commit()
}

/// Standard output, written as results arrive.
#[derive(Debug, Default)]
pub struct Stdout {
    state: StdoutState,
}

#[derive(Debug, Default)]
enum StdoutState {
    #[default]
    Open,
    /// The reader went away (a broken pipe): the rest is dropped quietly.
    Closed,
    /// Writing failed (a full disk, `/dev/full`): an error at the end.
    Failed(io::Error),
}

impl Stdout {
    /// Standard output, not yet written.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `text` and flushes it, so that a reader sees each result as it
    /// is ready.
    pub fn print(&mut self, text: &str) {
        if !matches!(self.state, StdoutState::Open) {
            return;
        }
        let mut stdout = io::stdout().lock();
        if let Err(e) = stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
        {
            self.state = if e.kind() == io::ErrorKind::BrokenPipe {
                StdoutState::Closed
            } else {
                StdoutState::Failed(e)
            };
        }
    }

    /// The first error, if writing failed other than by the reader leaving.
    pub fn finish(self) -> Result<(), OutputError> {
        match self.state {
            StdoutState::Failed(e) => Err(OutputError::new(Path::new("stdout"), e)),
            StdoutState::Open | StdoutState::Closed => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("rollout-sim-output-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_file_is_built_beside_and_renamed_into_place() {
        let dir = scratch("rename");
        let path = dir.join("out.json");
        std::fs::write(&path, "old").unwrap();
        let mut outputs = Outputs::new::<&Path>([]);
        let mut out = outputs.open("--x", &path).unwrap();
        out.write_all(b"new").unwrap();
        // Until committed, the old file is there, beside the temporary one.
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(names(&dir).len(), 2);
        out.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(names(&dir), ["out.json"]);

        // Dropped uncommitted: nothing changes, nothing is left.
        let mut outputs = Outputs::new::<&Path>([]);
        let out = outputs.open("--x", &path).unwrap();
        drop(out);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(names(&dir), ["out.json"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_folders_folders_and_overlaps_are_refused() {
        let dir = scratch("refuse");
        let mut outputs = Outputs::new([dir.join("in.yaml")]);
        let missing = dir.join("no/such/out.json");
        assert_eq!(
            outputs.open("--x", &missing).unwrap_err().to_string(),
            format!(
                "cannot write {}: the folder {} does not exist",
                missing.display(),
                dir.join("no/such").display()
            )
        );
        assert!(
            outputs
                .open("--x", &dir)
                .unwrap_err()
                .to_string()
                .ends_with("it is a folder")
        );
        let a = outputs.open("--a", &dir.join("x")).unwrap();
        assert_eq!(
            outputs.open("--b", &dir.join("./x")).unwrap_err().message,
            "--a and --b both write it; give each output its own file"
        );
        drop(a);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn write_errors_are_kept_for_commit() {
        let mut outputs = Outputs::new::<&Path>([]);
        let Ok(mut out) = outputs.open("--x", Path::new("/dev/full")) else {
            eprintln!("skipped: /dev/full cannot be opened here");
            return;
        };
        let _ = out.write_all(&[b'x'; 100_000]);
        let _ = out.write_all(b"more");
        let err = out.commit().unwrap_err();
        assert_eq!(err.path, "/dev/full");
        assert!(err.message.contains("No space left on device"), "{err}");
    }
}
