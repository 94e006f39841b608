//! Reading lines with a bound, and the little lexical rules of HTTP/1.1 heads shared by the
//! client and the server.

use std::io::{self, BufRead, Read};

/// How a bounded line read ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Line {
    /// A whole line is in the buffer, without its `\n` or `\r\n`.
    Complete,
    /// `budget` bytes were read without finding the end of the line.
    TooLong,
    /// End of stream first (the partial line is in the buffer).
    Eof,
}

/// Reads one line of at most `*budget` bytes (terminator included) and takes its length from
/// the budget. The reader never gives more than the budget, so nothing past it is consumed.
pub(super) fn read_line_capped<R: BufRead + ?Sized>(
    r: &mut R,
    buf: &mut Vec<u8>,
    budget: &mut usize,
) -> io::Result<Line> {
    buf.clear();
    let n = (&mut *r).take(*budget as u64).read_until(b'\n', buf)?;
    *budget -= n;
    if buf.last() != Some(&b'\n') {
        return Ok(if *budget == 0 { Line::TooLong } else { Line::Eof });
    }
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Line::Complete)
}

/// RFC 9110 `tchar`: what a method or a header name is made of.
pub(super) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

pub(super) fn trim_ows(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}
