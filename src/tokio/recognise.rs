//! Recognising tokio's types behind the drop-ins' plain `AsyncRead`/`AsyncWrite` bounds, as
//! `dropin.rs` does for std's: equal type ids, then a pointer cast. A type not listed is
//! copied by the loop, with tokio's semantics.
//!
//! For every reader `B` these shapes are recognised: `B`, `&mut B`, `Box<B>`, `Take<B>`,
//! `Take<&mut B>`, `&mut Take<B>`, `BufReader<B>`, `BufReader<&mut B>`, `&mut BufReader<B>`,
//! `Take<BufReader<B>>`, `Take<&mut BufReader<B>>`, `BufReader<Take<B>>`; for every writer `B`: `B`, `&mut B`, `Box<B>`,
//! `BufWriter<B>`, `BufWriter<&mut B>`, `&mut BufWriter<B>`. The readers: `TcpStream`,
//! `UnixStream`, their `OwnedReadHalf` and `ReadHalf`, `unix::pipe::Receiver`,
//! `tokio::fs::File`; the writers: the same with the write halves and `unix::pipe::Sender`.

use tokio::io::{AsyncRead, AsyncWrite};

use super::side::{AsyncCopySink, AsyncCopySource, Opaque};

/// If `$x: &mut $X` is one of the types listed, hand it to `$f` as the type it is.
#[cfg(unix)]
macro_rules! recognise {
    ($x:ident: $X:ident => $f:ident; $($t:ty),* $(,)?) => {$(
        if typeid::of::<$X>() == typeid::of::<$t>() {
            // SAFETY: equal type ids mean `$X` and `$t` are the same type up to lifetimes, so
            // the pointer cast keeps the address, layout and validity of the value. The
            // reference is used only inside `$f`, during this call, and nothing is kept beyond
            // it, so erasing lifetimes cannot let a borrow outlive what it borrows.
            let v = unsafe { &mut *($x as *mut $X).cast::<$t>() };
            return $f(v);
        }
    )*};
}

#[cfg(unix)]
macro_rules! reader_shapes {
    ($x:ident: $X:ident => $f:ident; $($b:ty),* $(,)?) => {$(
        recognise!($x: $X => $f;
            $b, &mut $b, Box<$b>,
            tokio::io::Take<$b>, tokio::io::Take<&mut $b>, &mut tokio::io::Take<$b>,
            tokio::io::BufReader<$b>, tokio::io::BufReader<&mut $b>, &mut tokio::io::BufReader<$b>,
            tokio::io::Take<tokio::io::BufReader<$b>>, tokio::io::Take<&mut tokio::io::BufReader<$b>>,
            tokio::io::BufReader<tokio::io::Take<$b>>,
        );
    )*};
}

#[cfg(unix)]
macro_rules! writer_shapes {
    ($x:ident: $X:ident => $f:ident; $($b:ty),* $(,)?) => {$(
        recognise!($x: $X => $f;
            $b, &mut $b, Box<$b>,
            tokio::io::BufWriter<$b>, tokio::io::BufWriter<&mut $b>, &mut tokio::io::BufWriter<$b>,
        );
    )*};
}

/// Calls `f` with the engine's view of `reader`.
pub(crate) fn with_source<R: AsyncRead + Unpin + ?Sized, T>(
    reader: &mut R,
    f: impl FnOnce(&mut dyn AsyncCopySource) -> T,
) -> T {
    #[cfg(unix)]
    {
        use tokio::net::{tcp, unix};
        reader_shapes!(reader: R => f;
            tokio::net::TcpStream, tcp::OwnedReadHalf, tcp::ReadHalf<'_>,
            tokio::net::UnixStream, unix::OwnedReadHalf, unix::ReadHalf<'_>,
            unix::pipe::Receiver, tokio::fs::File);
    }
    #[cfg(test)]
    tests::UNKNOWN.set(true);
    f(&mut Opaque(reader))
}

/// Calls `f` with the engine's view of `writer`.
pub(crate) fn with_sink<W: AsyncWrite + Unpin + ?Sized, T>(
    writer: &mut W,
    f: impl FnOnce(&mut dyn AsyncCopySink) -> T,
) -> T {
    #[cfg(unix)]
    {
        use tokio::net::{tcp, unix};
        writer_shapes!(writer: W => f;
            tokio::net::TcpStream, tcp::OwnedWriteHalf, tcp::WriteHalf<'_>,
            tokio::net::UnixStream, unix::OwnedWriteHalf, unix::WriteHalf<'_>,
            unix::pipe::Sender, tokio::fs::File);
    }
    #[cfg(test)]
    tests::UNKNOWN.set(true);
    f(&mut Opaque(writer))
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    thread_local! {
        /// Set when a view falls back to `Opaque`: the type was not in the list.
        pub(super) static UNKNOWN: Cell<bool> = const { Cell::new(false) };
    }

    fn recognised_reader<R: AsyncRead + Unpin>(mut r: R) -> bool {
        UNKNOWN.set(false);
        with_source(&mut r, |_| ());
        !UNKNOWN.get()
    }

    fn recognised_writer<W: AsyncWrite + Unpin>(mut w: W) -> bool {
        UNKNOWN.set(false);
        with_sink(&mut w, |_| ());
        !UNKNOWN.get()
    }

    #[test]
    fn tokio_types_and_their_wrappers_are_recognised() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut a = tokio::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
            assert!(recognised_reader(&mut a));
            assert!(recognised_writer(&mut a));
            assert!(recognised_reader(tokio::io::AsyncReadExt::take(&mut a, 3)));
            assert!(recognised_reader(tokio::io::BufReader::new(&mut a)));
            assert!(recognised_writer(tokio::io::BufWriter::new(&mut a)));
            let (r, w) = a.split();
            assert!(recognised_reader(r));
            assert!(recognised_writer(w));
            let (tx, rx) = tokio::net::unix::pipe::pipe().unwrap();
            assert!(recognised_reader(rx));
            assert!(recognised_writer(tx));
            assert!(!recognised_reader(&b"in memory"[..]));
            assert!(!recognised_writer(Vec::new()));
        });
    }
}
