//! What fdcopy's tests, examples, fuzz targets and `cargo xtask` share to put bytes on real
//! descriptors and check what came out:
//!
//! * [`payload`]: the deterministic pseudo-random byte streams ([`Pattern`]), cheap to
//!   generate and to verify at any offset ([`Verifier`]), the same in every process;
//! * [`peers`]: connected loopback TCP and unix stream pairs, and the threads on their far
//!   ends ([`feed`], [`drain`]);
//! * [`fs`]: a file's extents (`FS_IOC_FIEMAP`) and a private mount namespace, for the tests
//!   and tools that mount filesystems of their own.
//!
//! Depends on std and libc only. Not published: the bytes and helpers may change with the tests.

pub mod fs;
pub mod payload;
pub mod peers;

pub use payload::{fill, payload, verify_reader, write_payload, write_stream, Expected, Pattern, Verifier, BLOCK};
pub use peers::{drain, drain_keep, feed, tcp_pair, tcp_pair_on, unix_pair, Peer};
