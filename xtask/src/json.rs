//! A minimal JSON writer for the `--json` outputs of `bench` and `probe`: it handles the
//! commas between members, string escaping and number formatting; the caller writes the
//! members in order.

use std::fmt::Write as _;

#[derive(Default)]
pub struct Json {
    out: String,
    /// One entry per open container: whether it is still empty.
    empty: Vec<bool>,
    /// A key was just written; the next value needs no separator.
    after_key: bool,
}

impl Json {
    /// The text written so far.
    pub fn finish(self) -> String {
        self.out
    }

    /// Writes the separator before a value or key unless it directly follows a key or is
    /// the first in its container.
    fn sep(&mut self) {
        if std::mem::take(&mut self.after_key) {
            return;
        }
        if let Some(empty) = self.empty.last_mut() {
            if !std::mem::replace(empty, false) {
                self.out.push(',');
            }
        }
    }

    /// Starts an object or array as the next value (after `key`, or as an item).
    pub fn open(&mut self, c: char) {
        self.sep();
        self.out.push(c);
        self.empty.push(true);
    }

    /// Ends the innermost object or array.
    pub fn close(&mut self, c: char) {
        self.empty.pop();
        self.out.push(c);
    }

    /// Writes `"name":`; the value follows.
    pub fn key(&mut self, name: &str) {
        self.sep();
        escape_into(&mut self.out, name);
        self.out.push(':');
        self.after_key = true;
    }

    /// `"name":raw`, with `raw` written as it is (a literal or a preformatted number).
    pub fn field_raw(&mut self, name: &str, raw: &str) {
        self.key(name);
        self.sep();
        self.out.push_str(raw);
    }

    pub fn field_str(&mut self, name: &str, v: &str) {
        self.key(name);
        self.sep();
        escape_into(&mut self.out, v);
    }

    /// `"name":"v"`, or `"name":null` for `None`.
    pub fn field_opt_str(&mut self, name: &str, v: Option<&str>) {
        match v {
            Some(v) => self.field_str(name, v),
            None => self.field_raw(name, "null"),
        }
    }

    pub fn field_num(&mut self, name: &str, v: f64) {
        self.field_raw(name, &number(v));
    }

    pub fn field_opt(&mut self, name: &str, v: Option<f64>) {
        self.field_raw(name, &v.map_or_else(|| "null".to_string(), number));
    }

    /// An integer, exactly (`field_num` goes through `f64`).
    pub fn field_int(&mut self, name: &str, v: impl Into<i128>) {
        self.field_raw(name, &v.into().to_string());
    }

    /// An integer or `null`.
    pub fn field_opt_int<T: Into<i128>>(&mut self, name: &str, v: Option<T>) {
        match v {
            Some(v) => self.field_int(name, v),
            None => self.field_raw(name, "null"),
        }
    }

    pub fn field_bool(&mut self, name: &str, v: bool) {
        self.field_raw(name, if v { "true" } else { "false" });
    }

    pub fn item_str(&mut self, v: &str) {
        self.sep();
        escape_into(&mut self.out, v);
    }

    pub fn item_num(&mut self, v: f64) {
        self.sep();
        self.out.push_str(&number(v));
    }
}

/// A JSON number: integers without a fraction, others with 4 decimals; `null` if not finite.
fn number(v: f64) -> String {
    if !v.is_finite() {
        "null".to_string()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.4}")
    }
}

/// Appends `s` as a quoted, escaped JSON string.
pub fn escape_into(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_writer() {
        let mut j = Json::default();
        j.open('{');
        j.field_str("a", "x\"y");
        j.key("b");
        j.open('[');
        j.open('{');
        j.field_num("n", 1.5);
        j.close('}');
        j.open('{');
        j.field_opt("m", None);
        j.close('}');
        j.close(']');
        j.field_num("c", 3.0);
        j.field_opt_int("d", Some(u64::MAX));
        j.field_opt_str("e", None);
        j.field_bool("f", true);
        j.close('}');
        assert_eq!(
            j.finish(),
            r#"{"a":"x\"y","b":[{"n":1.5000},{"m":null}],"c":3,"d":18446744073709551615,"e":null,"f":true}"#
        );
    }
}
