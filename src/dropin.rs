//! Recognising std's types behind `copy`'s plain `Read`/`Write` bounds, on stable Rust.
//!
//! `fdcopy::copy` has std's signature, so it cannot ask for `CopySource`/`CopySink`. After
//! monomorphization the concrete types are known, though: comparing type ids (dtolnay's
//! `typeid`, which also works for types with lifetimes) against the list of std types in
//! `std_types.rs` tells which one a call site passed, and a pointer cast then gives the engine
//! the view it needs. Every comparison is between constants, so the optimizer keeps only the
//! branch that matches. A type not in the list is copied like any `Read`/`Write` (through
//! [`Plain`]).
//!
//! For every reader `B` of the list these shapes are recognised: `B`, `&mut B`, `Box<B>`,
//! `Take<B>`, `Take<&mut B>`, `&mut Take<B>`, `Take<Take<B>>`, `BufReader<B>`,
//! `BufReader<&mut B>`, `&mut BufReader<B>`, `Take<BufReader<B>>`, `Take<&mut BufReader<B>>`,
//! `BufReader<Take<B>>`, `Take<BufReader<Take<B>>>`; for every writer `B`: `B`, `&mut B`,
//! `Box<B>`, `BufWriter<B>`, `BufWriter<&mut B>`, `&mut BufWriter<B>`, and the same three with
//! `LineWriter`.

use std::io::{BufReader, BufWriter, LineWriter, Read, Take, Write};

use crate::side::{CopySink, CopySource};
use crate::std_types::std_types;
use crate::wrap::Plain;

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

/// The reader shapes of every reader in the list (entries with `read: no` are skipped).
macro_rules! reader_shapes {
    (($x:ident: $X:ident => $f:ident) $($(#[$m:meta])* $b:ty => $has:ident $(($kind:expr))?, read: $r:ident, write: $w:ident;)*) => {$(
        $(#[$m])* { reader_shapes!(@$r $x: $X => $f; $b); }
    )*};
    (@no $x:ident: $X:ident => $f:ident; $b:ty) => {};
    (@$r:ident $x:ident: $X:ident => $f:ident; $b:ty) => {
        recognise!($x: $X => $f;
            $b, &mut $b, Box<$b>,
            Take<$b>, Take<&mut $b>, &mut Take<$b>, Take<Take<$b>>,
            BufReader<$b>, BufReader<&mut $b>, &mut BufReader<$b>,
            Take<BufReader<$b>>, Take<&mut BufReader<$b>>, BufReader<Take<$b>>,
            Take<BufReader<Take<$b>>>,
        );
    };
}

/// The writer shapes of every writer in the list (entries with `write: no` are skipped).
macro_rules! writer_shapes {
    (($x:ident: $X:ident => $f:ident) $($(#[$m:meta])* $b:ty => $has:ident $(($kind:expr))?, read: $r:ident, write: $w:ident;)*) => {$(
        $(#[$m])* { writer_shapes!(@$w $x: $X => $f; $b); }
    )*};
    (@no $x:ident: $X:ident => $f:ident; $b:ty) => {};
    (@$w:ident $x:ident: $X:ident => $f:ident; $b:ty) => {
        recognise!($x: $X => $f;
            $b, &mut $b, Box<$b>,
            BufWriter<$b>, BufWriter<&mut $b>, &mut BufWriter<$b>,
            LineWriter<$b>, LineWriter<&mut $b>, &mut LineWriter<$b>,
        );
    };
}

/// Calls `f` with the engine's view of `reader`.
pub(crate) fn with_source<R: Read + ?Sized, T>(reader: &mut R, f: impl FnOnce(&mut dyn CopySource) -> T) -> T {
    std_types!(reader_shapes!(reader: R => f));
    #[cfg(test)]
    tests::UNKNOWN.set(true);
    f(&mut Plain(reader))
}

/// Calls `f` with the engine's view of `writer`.
pub(crate) fn with_sink<W: Write + ?Sized, T>(writer: &mut W, f: impl FnOnce(&mut dyn CopySink) -> T) -> T {
    std_types!(writer_shapes!(writer: W => f));
    #[cfg(test)]
    tests::UNKNOWN.set(true);
    f(&mut Plain(writer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptor::AsDescriptor;
    use std::cell::Cell;
    use std::io::{self, Cursor};

    thread_local! {
        /// Set when a view falls back to `Plain`: the type was not in the list.
        pub(super) static UNKNOWN: Cell<bool> = const { Cell::new(false) };
    }

    fn recognised_reader<R: Read>(mut r: R) -> bool {
        UNKNOWN.set(false);
        with_source(&mut r, |_| ());
        !UNKNOWN.get()
    }

    fn recognised_writer<W: Write>(mut w: W) -> bool {
        UNKNOWN.set(false);
        with_sink(&mut w, |_| ());
        !UNKNOWN.get()
    }

    #[test]
    fn std_types_and_their_wrappers_are_recognised() {
        let file = tempfile::tempfile().unwrap();
        assert!(recognised_reader(&file));
        assert!(recognised_reader(io::BufReader::new(&file)));
        assert!(recognised_reader(io::Read::take(io::BufReader::new(&file), 5)));
        assert!(recognised_reader(Box::new(&file)));
        assert!(recognised_writer(&file));
        assert!(recognised_writer(io::BufWriter::new(&file)));
        // 0.1 had the impls for these two but did not recognise them.
        assert!(recognised_writer(io::LineWriter::new(&file)));
        assert!(recognised_writer(Cursor::new(Box::<[u8]>::from(&b"x"[..]))));
        assert!(recognised_writer(Vec::new()));
        assert!(recognised_reader(Cursor::new(Box::<[u8]>::from(&b"x"[..]))));
        assert!(recognised_reader(&b"x"[..]));
        assert!(recognised_reader(io::stdin().lock()));
        assert!(recognised_writer(io::stdout().lock()));
    }

    #[test]
    fn types_outside_the_list_are_plain() {
        let file = tempfile::tempfile().unwrap();
        // The type is erased: std cannot see through it either.
        let boxed: Box<dyn Read> = Box::new(file.try_clone().unwrap());
        assert!(!recognised_reader(boxed));
        struct Mine(std::fs::File);
        impl Read for Mine {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.0.read(buf)
            }
        }
        assert!(!recognised_reader(Mine(file)));
        assert!(Plain(0u8).descriptor().is_none());
    }
}
