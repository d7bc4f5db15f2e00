//! The identity file: which cluster and node a data directory belongs to.
//!
//! ```text
//! [magic "PAXSTORE"][format version: u32 LE][cluster: u64 LE][node: u64 LE][crc32c of the 28 bytes before: u32 LE]
//! ```
//!
//! It is written once, when the directory is created, through a temporary
//! file that is synced and renamed, and the directory is synced after; so it
//! is either absent or complete. Its presence is what tells a created
//! directory from an empty or wiped one.

use crate::error::{io, Error, Reason};
use paxos_core::NodeId;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

/// Name of the identity file in the data directory.
pub const IDENTITY_FILE: &str = "IDENTITY";
/// Name of the identity file while it is being written.
pub const IDENTITY_TMP_FILE: &str = "IDENTITY.tmp";
/// The on-disk format version this build reads and writes (2: frames padded
/// to 8 bytes and ending in a trailer).
pub const FORMAT_VERSION: u32 = 2;

const MAGIC: [u8; 8] = *b"PAXSTORE";
const IDENTITY_LEN: usize = 32;

/// Whose data a directory holds. A node opening storage names itself; a
/// directory of another node or cluster is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Identity {
    /// The cluster, as configured by the operator.
    pub cluster: u64,
    /// The node.
    pub node: NodeId,
}

impl Identity {
    fn to_bytes(self) -> [u8; IDENTITY_LEN] {
        let mut out = [0; IDENTITY_LEN];
        out[..8].copy_from_slice(&MAGIC);
        out[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        out[12..20].copy_from_slice(&self.cluster.to_le_bytes());
        out[20..28].copy_from_slice(&self.node.0.to_le_bytes());
        let check = crc32c::crc32c(&out[..28]);
        out[28..].copy_from_slice(&check.to_le_bytes());
        out
    }

    fn parse(bytes: &[u8], file: &Path) -> Result<Identity, Error> {
        let corrupt = |reason| Error::Corrupt {
            file: file.to_path_buf(),
            offset: 0,
            reason,
        };
        let Ok(bytes) = <&[u8; IDENTITY_LEN]>::try_from(bytes) else {
            return Err(corrupt(Reason::IdentityFormat));
        };
        if bytes[..8] != MAGIC {
            return Err(corrupt(Reason::IdentityFormat));
        }
        let u32_at =
            |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let u64_at = |i: usize| (u64::from(u32_at(i + 4)) << 32) | u64::from(u32_at(i));
        if crc32c::crc32c(&bytes[..28]) != u32_at(28) {
            return Err(corrupt(Reason::IdentityChecksum));
        }
        let version = u32_at(8);
        if version != FORMAT_VERSION {
            return Err(Error::Version {
                file: file.to_path_buf(),
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        Ok(Identity {
            cluster: u64_at(12),
            node: NodeId(u64_at(20)),
        })
    }

    /// Reads `dir`'s identity file; `Ok(None)` if there is none.
    pub(crate) fn read(dir: &Path) -> Result<Option<Identity>, Error> {
        let path = dir.join(IDENTITY_FILE);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("open", &path)(e)),
        };
        // One byte more than a valid file, so an oversized one is noticed
        // without reading all of it.
        let mut bytes = Vec::with_capacity(IDENTITY_LEN + 1);
        file.take(IDENTITY_LEN as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(io("read", &path))?;
        Identity::parse(&bytes, &path).map(Some)
    }

    /// Writes `dir`'s identity file atomically: temporary file, sync,
    /// rename, directory sync.
    pub(crate) fn write(self, dir: &Path) -> Result<(), Error> {
        let tmp = dir.join(IDENTITY_TMP_FILE);
        let path = dir.join(IDENTITY_FILE);
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(io("create", &tmp))?;
        file.write_all(&self.to_bytes())
            .map_err(io("write", &tmp))?;
        file.sync_all().map_err(io("fsync", &tmp))?;
        drop(file);
        std::fs::rename(&tmp, &path).map_err(io("rename", &tmp))?;
        sync_dir(dir)
    }
}

/// Makes `dir`'s entries (created, renamed files) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("fsync directory", dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_bytes_parse_back() {
        let id = Identity {
            cluster: 0x0102_0304_0506_0708,
            node: NodeId(u64::MAX - 1),
        };
        assert_eq!(Identity::parse(&id.to_bytes(), Path::new("x")).unwrap(), id);
    }
}
