//! A real `akeneo-relay serve` process for the probes: started on a free port,
//! its output collected, its CPU time read from `/proc`, stopped with SIGTERM.

#![allow(dead_code)]

pub mod akeneo_sender;
pub mod event_platform_api;
pub mod fault_proxy;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Serve {
    child: Child,
    pub port: u16,
    output: Arc<Mutex<String>>,
}

impl Serve {
    /// `serve` with these extra arguments, under `ulimit -n` when given.
    pub fn start(args: &[&str], open_files: Option<u32>, env: &[(&str, &str)]) -> Serve {
        Serve::start_on(free_port(), args, open_files, env)
    }

    /// The same on a port of the caller's choosing: the documentation's
    /// commands talk to `serve`'s default port.
    pub fn start_on(port: u16, args: &[&str], open_files: Option<u32>, env: &[(&str, &str)]) -> Serve {
        let binary = binary();
        let mut command = Command::new("sh");
        let limit = open_files
            .map(|n| format!("ulimit -n {n} && "))
            .unwrap_or_default();
        command
            .arg("-c")
            .arg(format!(r#"{limit}exec "$0" serve --port {port} "$@""#))
            .arg(binary)
            .args(args)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("serve starts");
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let output = Arc::clone(&output);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut all = output.lock().expect("lock");
                    all.push_str(&line);
                    all.push('\n');
                }
            });
        }
        let serve = Serve { child, port, output };
        serve.wait_for_output("try: akeneo-relay send", Duration::from_secs(30));
        serve
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn output(&self) -> String {
        self.output.lock().expect("lock").clone()
    }

    /// Waits until the output holds `text`, or fails with the output.
    pub fn wait_for_output(&self, text: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let output = self.output();
            if output.contains(text) {
                return output;
            }
            assert!(
                Instant::now() < deadline,
                "no {text:?} within {within:?}; output:\n{output}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The log lines (JSON) holding `text`.
    pub fn log_lines_with(&self, text: &str) -> Vec<serde_json::Value> {
        self.output()
            .lines()
            .filter(|line| line.contains(text))
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// User plus system CPU time the process has used so far.
    pub fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).expect("stat");
        let after_name = &stat[stat.rfind(')').expect("name") + 2..];
        let fields: Vec<u64> = after_name
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        // utime and stime are fields 14 and 15 of the file, 12 and 13 after the name, in ticks of 10 ms.
        Duration::from_millis((fields[11] + fields[12]) * 10)
    }

    pub fn open_files(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|dir| dir.count())
            .unwrap_or(0)
    }

    pub fn resident_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }

    /// The most memory the process has held so far (`VmHWM`).
    pub fn peak_resident_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }

    /// Sends SIGTERM and answers how long the process took to exit (or `None`).
    pub fn terminate(&mut self, within: Duration) -> Option<Duration> {
        let started = Instant::now();
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        while started.elapsed() < within {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Some(started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        stream
    }

    /// Sends `request` as is and answers the status code of the reply (0 if none).
    pub fn raw(&self, request: &[u8]) -> u16 {
        let mut stream = self.connect();
        // No half-close: hyper takes it for the client going away, as Akeneo never does.
        let _ = stream.write_all(request);
        status_of(&mut stream)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A killed serve cannot remove its redrive token file itself; without
        // this, every test run left one per port in the temporary folder.
        let _ = std::fs::remove_file(shared::edges::local_http::redrive_token_path(self.port));
    }
}

/// The status code of the reply on `stream` (0 if the connection closed first).
pub fn status_of(stream: &mut TcpStream) -> u16 {
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    String::from_utf8_lossy(&reply)
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// This build's `akeneo-relay`, or the one `PROBE_BINARY` names (to run the
/// probes against an older build and see them fail).
pub fn binary() -> String {
    std::env::var("PROBE_BINARY").unwrap_or_else(|_| env!("CARGO_BIN_EXE_akeneo-relay").to_owned())
}
