//! The children of a run (the measured process and its peers, this binary re-executed as
//! `xtask bench-async-child ROLE ...`) and the line protocol on their stdin and stdout:
//!
//! ```text
//! child -> driver   LISTEN <addr>     its listening socket (servers and the proxy)
//! child -> driver   READY             connections open, everything set up
//! driver -> child   GO                start (the proxy starts its clock here)
//! child -> driver   SAMPLED           idle rows: the proxy has sampled its idle connections
//! driver -> child   END               idle rows: the client closes its connections
//! child -> driver   FAILED <message>  the engine failed, but its figures follow
//! child -> driver   DONE k=v k=v...   finished; figures as key=value pairs
//! child -> driver   ERR <message>     anything went wrong (the child then exits non-zero)
//! ```
//!
//! Every wait is bounded: children exit by themselves after the job's deadline, and the driver
//! kills and reaps a child it drops.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::Duration;

/// A running child, seen from the driver.
pub struct Child {
    name: String,
    process: Option<std::process::Child>,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl Child {
    /// Spawns `xtask bench-async-child <args>`, under `wrapper` (e.g. `strace -c -o F`) if
    /// given.
    pub fn spawn(name: &str, args: &[String], wrapper: &[String]) -> Result<Child, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let mut cmd = match wrapper.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        let mut process = cmd
            .arg("bench-async-child")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("spawning the {name}: {e}"))?;
        let stdout = process.stdout.take().expect("piped");
        let stdin = process.stdin.take();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Child {
            name: name.to_string(),
            process: Some(process),
            stdin,
            lines,
        })
    }

    /// Waits up to `timeout` for a line starting with `word`; returns the rest of it.
    pub fn expect(&mut self, word: &str, timeout: Duration) -> Result<String, String> {
        let line = match self.lines.recv_timeout(timeout) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                return Err(format!("the {} sent no {word} within {timeout:?}", self.name));
            }
            Err(RecvTimeoutError::Disconnected) => return Err(format!("the {} exited before {word}", self.name)),
        };
        if let Some(msg) = line.strip_prefix("ERR ") {
            return Err(format!("{}: {msg}", self.name));
        }
        match line.strip_prefix(word) {
            Some(rest) => Ok(rest.trim().to_string()),
            None => Err(format!("the {}: expected {word}, got {line:?}", self.name)),
        }
    }

    /// Sends one line.
    pub fn send(&mut self, line: &str) -> Result<(), String> {
        let stdin = self.stdin.as_mut().ok_or("stdin closed")?;
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("the {}: sending {line}: {e}", self.name))
    }

    /// Waits for `DONE k=v...` (after a `FAILED` line, if the engine failed but the figures
    /// are worth having) and a successful exit; returns the figures and the failure.
    pub fn finish(mut self, timeout: Duration) -> Result<(BTreeMap<String, String>, Option<String>), String> {
        let mut line = self.expect("", timeout)?;
        let failed = match line.strip_prefix("FAILED ") {
            Some(msg) => {
                let msg = msg.to_string();
                line = self.expect("", timeout)?;
                Some(msg)
            }
            None => None,
        };
        let Some(done) = line.strip_prefix("DONE") else {
            return Err(format!("the {}: expected DONE, got {line:?}", self.name));
        };
        let figures = parse_figures(done);
        let mut process = self.process.take().expect("not reaped yet");
        let status = process.wait().map_err(|e| format!("the {}: wait: {e}", self.name))?;
        if !status.success() {
            return Err(format!("the {} exited with {status}", self.name));
        }
        Ok((figures, failed))
    }

    /// After a failure elsewhere: the child's own `ERR` message, if it sends one within 2 s.
    pub fn failure(&mut self) -> Option<String> {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(2)) {
                Ok(line) => {
                    if let Some(msg) = line.strip_prefix("ERR ") {
                        return Some(format!("{}: {msg}", self.name));
                    }
                }
                Err(_) => return None,
            }
        }
    }
}

impl Drop for Child {
    /// Never leave a child behind: kill and reap it if `finish` did not.
    fn drop(&mut self) {
        if let Some(mut p) = self.process.take() {
            let _ = p.kill();
            let _ = p.wait();
        }
    }
}

/// `a=1 b=x` -> {a: 1, b: x}.
pub fn parse_figures(s: &str) -> BTreeMap<String, String> {
    s.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Child side
// ---------------------------------------------------------------------------------------

/// Prints one protocol line to the driver.
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Waits for the line `word` from the driver.
pub fn wait_for(word: &str) -> Result<(), String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("control: {e}"))?;
    if line.trim_end() != word {
        return Err(format!("expected {word}, got {line:?}"));
    }
    Ok(())
}

/// Exits the process once `deadline` has passed, whatever it is blocked on.
pub fn start_watchdog(deadline: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(deadline);
        say(&format!("ERR deadline of {deadline:?} passed"));
        std::process::exit(3);
    });
}

#[cfg(test)]
mod tests {
    use super::parse_figures;

    #[test]
    fn figures_are_key_value_pairs() {
        let f = parse_figures("cpu_ns=12 sizes=2x1M+1x8K junk");
        assert_eq!(f.len(), 2);
        assert_eq!(f["cpu_ns"], "12");
        assert_eq!(f["sizes"], "2x1M+1x8K");
    }
}
