//! Recognising std's types behind `copy`'s plain `Read`/`Write` bounds, on stable Rust.
//!
//! `fdcopy::copy` has std's signature, so it cannot ask for `CopySource`/`CopySink`. After
//! monomorphization the concrete types are known, though: comparing type ids (dtolnay's
//! `typeid`, which also works for types with lifetimes) against a list of std types tells which
//! one a call site passed, and a pointer cast then gives the engine the view it needs. Every
//! comparison is between constants, so the optimizer keeps only the branch that matches.
//! A type not in the list is copied like any `Read`/`Write` (through [`Plain`]).
//!
//! Shapes recognised, for every descriptor type `B` (see [`copy`](crate::copy)): `B`, `&mut B`,
//! `Box<B>`, `Take<B>`, `Take<&mut B>`, `&mut Take<B>`, `Take<Take<B>>`, `BufReader<B>`,
//! `BufReader<&mut B>`, `&mut BufReader<B>`, `Take<BufReader<B>>`, `Take<&mut BufReader<B>>`,
//! `BufReader<Take<B>>`, `Take<BufReader<Take<B>>>` for readers; `B`, `&mut B`, `Box<B>`,
//! `BufWriter<B>`, `BufWriter<&mut B>`, `&mut BufWriter<B>` for writers.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, BufWriter, Cursor, Empty, Read, Repeat, Sink, Take, Write};
use std::io::{PipeReader, PipeWriter, Stderr, StderrLock, Stdin, StdinLock, Stdout, StdoutLock};
use std::net::TcpStream;
use std::process::{ChildStderr, ChildStdin, ChildStdout};

use crate::side::{CopySink, CopySource};
use crate::wrap::Plain;

#[cfg(unix)]
use std::os::unix::net::UnixStream;
/// Stands in for `UnixStream` where there is none; never equal to a caller's type.
#[cfg(not(unix))]
enum UnixStream {}

/// If `$x: &mut $X` is one of the types listed, hand it to `$f` as the type it is.
macro_rules! recognise {
    ($x:ident: $X:ident => $f:ident; $($t:ty),* $(,)?) => {$(
        if typeid::of::<$X>() == typeid::of::<$t>() {
            // SAFETY: equal type ids mean `$X` and `$t` are the same type up to lifetimes, so
            // the pointer cast keeps the address, layout and validity of the value. Lifetimes
            // are erased by the cast, which is sound here because the reference is used only
            // inside `$f`, for the duration of this call, to call methods of the value: nothing
            // is stored through it or kept beyond the call, so no reference can outlive what
            // it borrows.
            let v = unsafe { &mut *($x as *mut $X).cast::<$t>() };
            return $f(v);
        }
    )*};
}

/// The reader shapes of a descriptor type.
macro_rules! reader_shapes {
    ($x:ident: $X:ident => $f:ident; $($b:ty),* $(,)?) => {
        recognise!($x: $X => $f; $(
            $b, &mut $b, Box<$b>,
            Take<$b>, Take<&mut $b>, &mut Take<$b>, Take<Take<$b>>,
            BufReader<$b>, BufReader<&mut $b>, &mut BufReader<$b>,
            Take<BufReader<$b>>, Take<&mut BufReader<$b>>, BufReader<Take<$b>>,
            Take<BufReader<Take<$b>>>,
        )*);
    };
}

/// The writer shapes of a descriptor type.
macro_rules! writer_shapes {
    ($x:ident: $X:ident => $f:ident; $($b:ty),* $(,)?) => {
        recognise!($x: $X => $f; $(
            $b, &mut $b, Box<$b>, BufWriter<$b>, BufWriter<&mut $b>, &mut BufWriter<$b>,
        )*);
    };
}

/// Calls `f` with the engine's view of `reader`.
pub(crate) fn with_source<R: Read + ?Sized, T>(reader: &mut R, f: impl FnOnce(&mut dyn CopySource) -> T) -> T {
    reader_shapes!(reader: R => f;
        File, &File, TcpStream, &TcpStream, UnixStream, &UnixStream, PipeReader, &PipeReader,
        ChildStdout, ChildStderr, Stdin, StdinLock<'_>);
    recognise!(reader: R => f;
        &[u8], &mut &[u8], Cursor<Vec<u8>>, Cursor<&[u8]>, Cursor<&Vec<u8>>, &mut Cursor<Vec<u8>>,
        &mut Cursor<&[u8]>, VecDeque<u8>, &mut VecDeque<u8>, Empty, Repeat, Take<Repeat>, Take<&[u8]>);
    f(&mut Plain(reader))
}

/// Calls `f` with the engine's view of `writer`.
pub(crate) fn with_sink<W: Write + ?Sized, T>(writer: &mut W, f: impl FnOnce(&mut dyn CopySink) -> T) -> T {
    writer_shapes!(writer: W => f;
        File, &File, TcpStream, &TcpStream, UnixStream, &UnixStream, PipeWriter, &PipeWriter,
        ChildStdin, Stdout, StdoutLock<'_>, Stderr, StderrLock<'_>);
    recognise!(writer: W => f;
        Vec<u8>, &mut Vec<u8>, Cursor<Vec<u8>>, Cursor<&mut Vec<u8>>, Cursor<&mut [u8]>,
        &mut Cursor<Vec<u8>>, VecDeque<u8>, &mut VecDeque<u8>, Sink, Empty, &mut [u8]);
    f(&mut Plain(writer))
}

#[cfg(not(unix))]
mod no_unix_stream {
    //! The stand-in `UnixStream` satisfies the bounds of the lists above; it has no values.
    use super::UnixStream;
    use std::io;
    impl io::Read for UnixStream {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            match *self {}
        }
    }
    impl io::Write for UnixStream {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            match *self {}
        }
        fn flush(&mut self) -> io::Result<()> {
            match *self {}
        }
    }
    impl io::Read for &UnixStream {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            match **self {}
        }
    }
    impl io::Write for &UnixStream {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            match **self {}
        }
        fn flush(&mut self) -> io::Result<()> {
            match **self {}
        }
    }
    impl crate::AsRawFdKind for UnixStream {
        fn as_raw_fd_kind(&self) -> Option<crate::RawFdKind> {
            None
        }
    }
    impl crate::AsRawFdKind for &UnixStream {
        fn as_raw_fd_kind(&self) -> Option<crate::RawFdKind> {
            None
        }
    }
    impl crate::CopySource for UnixStream {}
    impl crate::CopySource for &UnixStream {}
    impl crate::CopySink for UnixStream {}
    impl crate::CopySink for &UnixStream {}
}
