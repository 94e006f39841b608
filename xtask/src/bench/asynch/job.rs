//! What one measured run moves, written on the children's command lines: the driver, the
//! measured process and its peers read the same `Job`.

use std::time::Duration;

/// Bytes of one request and of one response in the ping-pong rows.
pub const MESSAGE: u64 = 4096;

/// How the measured process is wired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// client peer -> proxy -> server peer, `conns` connections, both ways.
    Proxy,
    /// A file copied into `conns` connections (one copy each) to a server peer.
    FileToSocket,
    /// One connection from a client peer copied into a file.
    SocketToFile,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Proxy => "proxy",
            Shape::FileToSocket => "file-socket",
            Shape::SocketToFile => "socket-file",
        }
    }
}

/// One run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    pub shape: Shape,
    /// Proxied connections; for `FileToSocket`, copies of the file (a connection each).
    pub conns: u64,
    /// Bytes per connection from the client side to the server side; the file's length in
    /// the file rows.
    pub a_to_b: u64,
    /// Bytes per connection from the server side back to the client side.
    pub b_to_a: u64,
    /// Request/response exchanges of [`MESSAGE`] bytes per connection instead of streams.
    pub messages: u64,
    /// The connections carry nothing until the proxy has been sampled (then they close).
    pub idle: bool,
    /// A multi_thread runtime (2 workers) in the measured process instead of current_thread.
    pub multi_thread: bool,
    /// The measured process switches to uid/gid 65534 first (when started as root).
    pub unprivileged: bool,
    /// Seed of the run; every stream's seed derives from it.
    pub seed: u64,
}

impl Job {
    /// A proxy job with nothing set but the shape and the seed.
    pub fn new(shape: Shape, seed: u64) -> Job {
        Job {
            shape,
            conns: 1,
            a_to_b: 0,
            b_to_a: 0,
            messages: 0,
            idle: false,
            multi_thread: false,
            unprivileged: false,
            seed,
        }
    }

    /// Seed of the stream connection `i` carries from the client side to the server side (the
    /// file's stream in the file rows: one stream for every copy).
    pub fn seed_ab(&self, i: u64) -> u64 {
        match self.shape {
            Shape::Proxy => (self.seed << 32) | (2 * i),
            Shape::FileToSocket | Shape::SocketToFile => self.seed,
        }
    }

    /// Seed of the stream connection `i` carries back.
    pub fn seed_ba(&self, i: u64) -> u64 {
        (self.seed << 32) | (2 * i + 1)
    }

    /// Bytes each connection carries from the client side, and back.
    pub fn per_conn(&self) -> (u64, u64) {
        if self.messages > 0 {
            (self.messages * MESSAGE, self.messages * MESSAGE)
        } else {
            (self.a_to_b, self.b_to_a)
        }
    }

    /// Bytes the measured process moves in total (both directions).
    pub fn bytes(&self) -> u64 {
        let (ab, ba) = self.per_conn();
        (ab + ba) * self.conns
    }

    /// How long any child may live: generous, but bounded (60 s + 8 MiB/s).
    pub fn deadline(&self) -> Duration {
        Duration::from_secs(60 + self.bytes() / (8 << 20) + self.conns / 100)
    }

    /// The job as one command-line argument: `shape=proxy,conns=64,...`.
    pub fn encode(&self) -> String {
        format!(
            "shape={},conns={},a_to_b={},b_to_a={},messages={},idle={},multi_thread={},unprivileged={},seed={}",
            self.shape.name(),
            self.conns,
            self.a_to_b,
            self.b_to_a,
            self.messages,
            self.idle,
            self.multi_thread,
            self.unprivileged,
            self.seed
        )
    }

    /// The inverse of [`encode`](Job::encode).
    pub fn decode(s: &str) -> Result<Job, String> {
        let mut job = Job::new(Shape::Proxy, 0);
        for part in s.split(',') {
            let (k, v) = part.split_once('=').ok_or_else(|| format!("bad job field {part:?}"))?;
            let num = || v.parse::<u64>().map_err(|_| format!("bad job value {part:?}"));
            let flag = || v.parse::<bool>().map_err(|_| format!("bad job value {part:?}"));
            match k {
                "shape" => {
                    job.shape = [Shape::Proxy, Shape::FileToSocket, Shape::SocketToFile]
                        .into_iter()
                        .find(|s| s.name() == v)
                        .ok_or_else(|| format!("bad job shape {v:?}"))?
                }
                "conns" => job.conns = num()?,
                "a_to_b" => job.a_to_b = num()?,
                "b_to_a" => job.b_to_a = num()?,
                "messages" => job.messages = num()?,
                "idle" => job.idle = flag()?,
                "multi_thread" => job.multi_thread = flag()?,
                "unprivileged" => job.unprivileged = flag()?,
                "seed" => job.seed = num()?,
                _ => return Err(format!("unknown job field {k:?}")),
            }
        }
        Ok(job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_survive_the_command_line() {
        let job = Job {
            conns: 64,
            a_to_b: 16 << 20,
            idle: true,
            unprivileged: true,
            ..Job::new(Shape::FileToSocket, 99)
        };
        assert_eq!(Job::decode(&job.encode()), Ok(job));
        assert!(Job::decode("shape=nope").is_err());
        assert!(Job::decode("conns=x").is_err());
        assert!(Job::decode("colour=red").is_err());
    }

    #[test]
    fn streams_have_their_own_seeds() {
        let job = Job::new(Shape::Proxy, 7);
        let seeds = [job.seed_ab(0), job.seed_ba(0), job.seed_ab(1), job.seed_ba(1)];
        for (i, a) in seeds.iter().enumerate() {
            assert!(seeds[i + 1..].iter().all(|b| a != b));
        }
        let ping = Job {
            messages: 10,
            conns: 2,
            ..job
        };
        assert_eq!(ping.bytes(), 2 * 2 * 10 * MESSAGE);
    }
}
