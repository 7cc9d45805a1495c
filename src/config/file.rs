//! Reading `chains.toml` from disk, bounded: the path must name a regular
//! file (a FIFO would block the open until a writer came, `/dev/zero` would
//! never end), and at most [`MAX_FILE_BYTES`] are read whatever the file
//! claims to be, so no input can make a command read forever or fill memory.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::error::{line_col, ConfigError};
use super::MAX_FILE_BYTES;

/// The file's text, or a one-line error naming the file.
pub(super) fn read(path: &Path) -> Result<String, ConfigError> {
    let error = |message: String| ConfigError {
        path: path.to_path_buf(),
        pos: None,
        message,
    };
    let cannot = |e: std::io::Error| {
        error(match e.kind() {
            std::io::ErrorKind::NotFound => {
                "no such file (run `escalate init` to write a starter, or pass --config)"
                    .to_string()
            }
            _ => format!("cannot read: {e}"),
        })
    };
    // The type is judged from the path before opening: opening a FIFO for
    // reading blocks until some process opens it for writing.
    let meta = std::fs::metadata(path).map_err(cannot)?;
    check_type(&meta).map_err(error)?;
    let file = File::open(path).map_err(cannot)?;
    // Again on what was opened, in case the path was swapped meanwhile
    // (the bounded read below still holds if a FIFO slipped in).
    let meta = file.metadata().map_err(cannot)?;
    check_type(&meta).map_err(error)?;
    let mut bytes = Vec::new();
    // One byte over the cap tells "too big" from "exactly the cap".
    file.take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() > MAX_FILE_BYTES {
        let size = meta.len().max(bytes.len() as u64);
        return Err(error(format!(
            "file is {size} bytes; a chains file over {MAX_FILE_BYTES} bytes is refused"
        )));
    }
    String::from_utf8(bytes).map_err(|e| ConfigError {
        path: path.to_path_buf(),
        pos: Some(line_col(
            &String::from_utf8_lossy(e.as_bytes()),
            e.utf8_error().valid_up_to(),
        )),
        message: "file is not valid UTF-8".to_string(),
    })
}

/// Only a regular file (or a symlink to one, which `metadata` follows) is
/// a config: a directory, FIFO, socket or device is refused by name.
fn check_type(meta: &std::fs::Metadata) -> Result<(), String> {
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(());
    }
    let what = if kind.is_dir() {
        "a directory"
    } else {
        special_kind(&kind)
    };
    Err(format!("cannot read: it is {what}, not a regular file"))
}

#[cfg(unix)]
fn special_kind(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "a special file"
}
