//! Finding and reading input files: bounded, regular files only, each once.
//!
//! Every file the tool reads (scenario files here; sweep reports for
//! `merge`) goes through [`read_input`], which reads only a regular file and
//! at most its size limit plus one byte. A FIFO, a device (`/dev/zero`), a
//! socket or a folder is refused from its metadata, before it is opened; the
//! open itself does not block (`O_NONBLOCK`), and the file actually opened is
//! checked again (`fstat`), so a path swapped for a FIFO between the two
//! checks cannot hang the read. A file that grows past its limit while it is
//! read is refused at limit + 1 bytes, whatever its size said.
//!
//! [`collect_files`] turns the paths of a command line into the list of
//! scenario files to load. Files given are kept as given; folders are walked
//! depth first in name order for `*.yaml` and `*.yml`. The walk follows
//! symlinks, to files and to folders alike, so that a suite may link in
//! scenarios kept elsewhere, but it enters each folder once and lists each
//! file once, recognised by device and inode (the target, not the link): a
//! folder holding symlinks to itself or to an ancestor is walked once, in
//! time linear in what it holds, and `scenario c02.yaml ./c02.yaml` runs
//! `c02.yaml` once. The first path that reaches a file is the one reported.
//! A walk examines at most [`MAX_WALK_ENTRIES`] folder entries.

use std::collections::HashSet;
use std::fmt;
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::diagnostics::{LoadError, Problem};

use super::limits::MAX_WALK_ENTRIES;

/// What a path is, when it is not a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A directory.
    Folder,
    /// A named pipe.
    Fifo,
    /// A character device such as `/dev/zero` or a terminal.
    CharDevice,
    /// A block device such as a disk.
    BlockDevice,
    /// A Unix domain socket.
    Socket,
    /// Anything else that is not a regular file.
    Other,
}

impl FileKind {
    fn of(meta: &Metadata) -> Self {
        let kind = meta.file_type();
        if kind.is_dir() {
            return Self::Folder;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if kind.is_fifo() {
                return Self::Fifo;
            }
            if kind.is_char_device() {
                return Self::CharDevice;
            }
            if kind.is_block_device() {
                return Self::BlockDevice;
            }
            if kind.is_socket() {
                return Self::Socket;
            }
        }
        Self::Other
    }

    /// In words, with its article: `a FIFO (named pipe)`.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Folder => "a folder",
            Self::Fifo => "a FIFO (named pipe)",
            Self::CharDevice => "a character device",
            Self::BlockDevice => "a block device",
            Self::Socket => "a socket",
            Self::Other => "a special file",
        }
    }
}

/// Why [`read_input`] refused a file.
#[derive(Debug)]
pub enum InputError {
    /// It could not be opened or read.
    Io(io::Error),
    /// It is not a regular file.
    NotRegular(FileKind),
    /// It holds more than the limit: `size` when its metadata said so,
    /// `None` when it was found while reading (it grew, or its size is not
    /// known in advance).
    TooLarge {
        /// The limit, in bytes.
        max: u64,
        /// Its size, when known.
        size: Option<u64>,
    },
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "cannot read the file: {e}"),
            Self::NotRegular(kind) => write!(
                f,
                "cannot read the file: it is {}, not a regular file",
                kind.describe()
            ),
            Self::TooLarge {
                max,
                size: Some(size),
            } => write!(f, "the file is {size} bytes; the limit is {max} bytes"),
            Self::TooLarge { max, size: None } => {
                write!(f, "the file holds more than {max} bytes, the limit")
            }
        }
    }
}

impl std::error::Error for InputError {}

impl From<io::Error> for InputError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// The bytes of the regular file at `path`, refusing anything else and
/// anything over `max_bytes`: see the module documentation.
pub fn read_input(path: &Path, max_bytes: u64) -> Result<Vec<u8>, InputError> {
    // Refused from the metadata, so that a device is never opened: opening
    // some (a tape, a terminal) has effects of its own.
    let meta = std::fs::metadata(path)?;
    check_regular(&meta, max_bytes)?;
    let file = open_nonblocking(path)?;
    // The file actually opened, in case the path changed since.
    let meta = file.metadata()?;
    check_regular(&meta, max_bytes)?;
    let expected = usize::try_from(meta.len().min(max_bytes)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(expected.saturating_add(1));
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_bytes {
        return Err(InputError::TooLarge {
            max: max_bytes,
            size: None,
        });
    }
    Ok(bytes)
}

fn check_regular(meta: &Metadata, max_bytes: u64) -> Result<(), InputError> {
    if !meta.is_file() {
        return Err(InputError::NotRegular(FileKind::of(meta)));
    }
    if meta.len() > max_bytes {
        return Err(InputError::TooLarge {
            max: max_bytes,
            size: Some(meta.len()),
        });
    }
    Ok(())
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
    // writer. O_NOCTTY: a terminal swapped in never becomes ours. Neither
    // changes how a regular file reads.
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    File::open(path)
}

/// What makes two paths the same file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum FileId {
    #[cfg(unix)]
    Inode { dev: u64, ino: u64 },
    #[cfg(not(unix))]
    Canonical(PathBuf),
}

impl FileId {
    #[cfg_attr(unix, allow(unused_variables))]
    fn of(path: &Path, meta: &Metadata) -> Option<Self> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Some(Self::Inode {
                dev: meta.dev(),
                ino: meta.ino(),
            })
        }
        #[cfg(not(unix))]
        {
            std::fs::canonicalize(path).ok().map(Self::Canonical)
        }
    }
}

/// Every scenario file under `paths`, each once, in order: files as given,
/// folders walked in name order (see the module documentation).
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut walk = Walk::default();
    for path in paths {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk.folder(path, &meta)?,
            Ok(meta) => walk.file(path.clone(), Some(&meta)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let dangling = std::fs::symlink_metadata(path).is_ok();
                return Err(LoadError::single(
                    &path.display().to_string(),
                    String::new(),
                    Problem::new(if dangling {
                        "a symlink to nothing: its target does not exist"
                    } else {
                        "no such file or folder"
                    }),
                ));
            }
            // Loading it reports why it cannot be read, with the other
            // invalid files.
            Err(_) => walk.file(path.clone(), None),
        }
    }
    Ok(walk.files)
}

#[derive(Default)]
struct Walk {
    files: Vec<PathBuf>,
    seen_files: HashSet<FileId>,
    seen_folders: HashSet<FileId>,
    entries: usize,
}

impl Walk {
    /// Lists `path` unless the same file is listed already.
    fn file(&mut self, path: PathBuf, meta: Option<&Metadata>) {
        if let Some(id) = meta.and_then(|m| FileId::of(&path, m))
            && !self.seen_files.insert(id)
        {
            return;
        }
        self.files.push(path);
    }

    /// Walks the folder `root`, depth first in name order, with a stack of
    /// its own so that a deep tree cannot overflow the call stack.
    fn folder(&mut self, root: &Path, meta: &Metadata) -> Result<(), LoadError> {
        if !self.enter(root, meta) {
            return Ok(());
        }
        // Each level's entries, last name first, so `pop` takes them in order.
        let mut stack: Vec<Vec<PathBuf>> = vec![self.entries_of(root, root)?];
        while let Some(level) = stack.last_mut() {
            let Some(entry) = level.pop() else {
                stack.pop();
                continue;
            };
            let scenario = entry.extension().is_some_and(|e| e == "yaml" || e == "yml");
            match std::fs::metadata(&entry) {
                Ok(meta) if meta.is_dir() && self.enter(&entry, &meta) => {
                    let entries = self.entries_of(&entry, root)?;
                    stack.push(entries);
                }
                Ok(meta) if meta.is_dir() => {}
                Ok(meta) if scenario => self.file(entry, Some(&meta)),
                // A dangling link named like a scenario: loading it says so.
                Err(_) if scenario => self.file(entry, None),
                _ => {}
            }
        }
        Ok(())
    }

    /// Whether `folder` is new to this walk (and now seen).
    fn enter(&mut self, folder: &Path, meta: &Metadata) -> bool {
        FileId::of(folder, meta).is_none_or(|id| self.seen_folders.insert(id))
    }

    /// The entries of `folder`, a folder under `root`, last name first.
    fn entries_of(&mut self, folder: &Path, root: &Path) -> Result<Vec<PathBuf>, LoadError> {
        let io = |e: io::Error| LoadError::io(&folder.display().to_string(), &e);
        let mut entries: Vec<PathBuf> = Vec::new();
        for entry in std::fs::read_dir(folder).map_err(io)? {
            self.entries += 1;
            if self.entries > MAX_WALK_ENTRIES {
                return Err(LoadError::single(
                    &root.display().to_string(),
                    String::new(),
                    Problem {
                        help: Some(
                            "give the folders that hold the scenarios, not one above them".into(),
                        ),
                        ..Problem::new(format!(
                            "more than {MAX_WALK_ENTRIES} folder entries to search for scenario files"
                        ))
                    },
                ));
            }
            entries.push(entry.map_err(io)?.path());
        }
        entries.sort_unstable_by(|a, b| b.file_name().cmp(&a.file_name()));
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("rollout-sim-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn folders_are_walked_in_name_order_and_files_kept_as_given() {
        let dir = scratch("order");
        for name in [
            "b.yaml",
            "a.yml",
            "c.txt",
            "sub/z.yaml",
            "sub/deeper/y.yaml",
        ] {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "name: x\n").unwrap();
        }
        let files = collect_files(&[dir.join("b.yaml"), dir.clone()]).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|p| p.strip_prefix(&dir).unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            ["b.yaml", "a.yml", "sub/deeper/y.yaml", "sub/z.yaml"]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn reading_is_bounded() {
        let dir = scratch("bounded");
        let path = dir.join("f");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read_input(&path, 5).unwrap(), b"12345");
        assert!(matches!(
            read_input(&path, 4),
            Err(InputError::TooLarge {
                max: 4,
                size: Some(5)
            })
        ));
        assert!(matches!(
            read_input(&dir, 4),
            Err(InputError::NotRegular(FileKind::Folder))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
