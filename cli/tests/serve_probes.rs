//! Hostile HTTP against a real `akeneo-relay serve`: what a developer tool that
//! listens on a port must withstand (issue 14, point 4), and a queue that hangs
//! (point 5). Each probe failed against the relay before it was hardened.

mod support;

use std::io::Write;
use std::net::{Shutdown, TcpListener};
use std::time::{Duration, Instant};

use support::{Serve, status_of};

const SIX_MB: usize = 6 * 1024 * 1024;

fn post_head(path: &str, length: usize) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
}

#[test]
fn a_body_over_six_megabytes_is_413_and_logged_and_not_held_in_memory() {
    // GIVEN serve
    let serve = Serve::start(&[], None, &[]);
    // WHEN four unsigned 50 MB bodies are posted at once
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let sends: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    let mut stream = serve.connect();
                    let _ = stream.write_all(post_head("/events-api", 50 << 20).as_bytes());
                    let chunk = vec![b'x'; 1 << 20];
                    for _ in 0..50 {
                        if stream.write_all(&chunk).is_err() {
                            break;
                        }
                    }
                    let _ = stream.shutdown(Shutdown::Write);
                    status_of(&mut stream)
                })
            })
            .collect();
        sends.into_iter().map(|s| s.join().expect("sender")).collect()
    });
    // THEN each is refused with 413 (or cut off after it), a log line says why, and memory stays small
    assert!(statuses.iter().all(|s| *s == 413 || *s == 0), "{statuses:?}");
    assert!(statuses.contains(&413), "{statuses:?}");
    serve.wait_for_output(
        r#""status":413,"reason":"body over 6 MB""#,
        Duration::from_secs(5),
    );
    assert!(
        serve.resident_bytes() < 96 << 20,
        "{} bytes resident",
        serve.resident_bytes()
    );
}

#[test]
fn a_body_of_exactly_six_megabytes_reaches_the_receiver() {
    // GIVEN serve
    let serve = Serve::start(&[], None, &[]);
    // WHEN an unsigned body of exactly 6 MB is posted
    let mut request = post_head("/events-api", SIX_MB).into_bytes();
    request.extend(std::iter::repeat_n(b' ', SIX_MB));
    let status = serve.raw(&request);
    // THEN the receiver answers it (401: it is unsigned), not the size limit
    assert_eq!(status, 401, "{}", serve.output());
}

#[test]
fn requests_sent_half_way_are_dropped_after_the_header_timeout_and_logged() {
    // GIVEN serve
    let serve = Serve::start(&[], None, &[]);
    let before = serve.open_files();
    // WHEN 300 connections send half a request head and then nothing
    let mut streams: Vec<_> = (0..300)
        .map(|_| {
            let mut stream = serve.connect();
            let _ = stream.write_all(b"POST /events-api HTTP/1.1\r\nHost: relay\r\n");
            stream
        })
        .collect();
    let held = Instant::now() + Duration::from_secs(3);
    while serve.open_files() < before + 250 && Instant::now() < held {
        std::thread::sleep(Duration::from_millis(50));
    }
    let holding = serve.open_files();
    // THEN serve holds them only until the 10 s header timeout, and says so
    let deadline = Instant::now() + Duration::from_secs(20);
    while serve.open_files() > before + 10 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        holding >= before + 250,
        "{holding} open files while held, {before} before"
    );
    assert!(
        serve.open_files() <= before + 10,
        "{} still open",
        serve.open_files()
    );
    let closed = streams
        .iter_mut()
        .map(status_of)
        .filter(|status| *status != 200)
        .count();
    assert_eq!(closed, 300);
    serve.wait_for_output("headers not received in time", Duration::from_secs(5));
}

#[test]
fn a_chunked_body_that_stops_coming_is_408_after_the_body_timeout() {
    // GIVEN serve
    let serve = Serve::start(&[], None, &[]);
    // WHEN a chunked body starts and then never ends
    let mut stream = serve.connect();
    let head = "POST /event-platform HTTP/1.1\r\nHost: relay\r\nTransfer-Encoding: chunked\r\n\r\n";
    stream.write_all(head.as_bytes()).expect("head");
    stream.write_all(b"400\r\n").expect("chunk size");
    stream.write_all(&[b'a'; 0x400]).expect("chunk");
    let started = Instant::now();
    // THEN it is answered 408 after the body timeout, with a log line
    assert_eq!(status_of(&mut stream), 408);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    serve.wait_for_output(
        r#""status":408,"reason":"body not received in time""#,
        Duration::from_secs(5),
    );
}

#[test]
fn a_chunked_body_that_never_ends_is_cut_at_six_megabytes() {
    // GIVEN serve
    let serve = Serve::start(&[], None, &[]);
    // WHEN a chunked body keeps coming, 1 MB a chunk
    let mut stream = serve.connect();
    let head = "POST /event-platform HTTP/1.1\r\nHost: relay\r\nTransfer-Encoding: chunked\r\n\r\n";
    stream.write_all(head.as_bytes()).expect("head");
    let chunk = [b"100000\r\n".as_slice(), &vec![b'a'; 0x100000], b"\r\n"].concat();
    for _ in 0..64 {
        if stream.write_all(&chunk).is_err() {
            break;
        }
    }
    // THEN it is refused with 413 once over the limit, memory held no longer
    assert_eq!(status_of(&mut stream), 413);
    assert!(
        serve.resident_bytes() < 64 << 20,
        "{} bytes resident",
        serve.resident_bytes()
    );
}

#[test]
fn requests_http_parsing_refuses_leave_a_log_line_each() {
    // GIVEN serve
    let serve = Serve::start(&[], None, &[]);
    // WHEN a request with 1 MB of headers, one with a 70 KB path, and one with broken chunking are sent
    let big_headers = format!(
        "GET /events-api HTTP/1.1\r\nHost: relay\r\nX-Big: {}\r\n\r\n",
        "a".repeat(1 << 20)
    );
    let long_path = format!("GET /{} HTTP/1.1\r\nHost: relay\r\n\r\n", "p".repeat(70_000));
    let bad_chunks =
        "POST /events-api HTTP/1.1\r\nHost: relay\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nxx\r\n0\r\n\r\n";
    let statuses = [
        serve.raw(big_headers.as_bytes()),
        serve.raw(long_path.as_bytes()),
        serve.raw(bad_chunks.as_bytes()),
    ];
    // THEN each is refused, and three refusals are logged
    assert_eq!(statuses, [431, 414, 400]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while serve.log_lines_with("request refused before the receiver").len() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        serve.log_lines_with("request refused before the receiver").len(),
        3,
        "{}",
        serve.output()
    );
}

#[test]
fn redrive_answers_only_a_post_carrying_the_token_serve_wrote() {
    // GIVEN serve with its embedded queue
    let serve = Serve::start(&[], None, &[]);
    let token_line = serve.wait_for_output("redrive token", Duration::from_secs(1));
    let path = token_line
        .lines()
        .find_map(|line| line.split("akeneo-relay redrive): ").nth(1))
        .expect("token path")
        .trim()
        .to_owned();
    let token = std::fs::read_to_string(&path).expect("token file");
    let redrive = |method: &str, authorization: &str| {
        serve.raw(
            format!(
                "{method} /_relay/redrive HTTP/1.1\r\nHost: relay\r\n{authorization}Content-Length: 0\r\n\r\n"
            )
            .as_bytes(),
        )
    };
    // WHEN the redrive path is asked with GET, a POST without the token, with a wrong one, and with it
    let statuses = [
        redrive("GET", ""),
        redrive("POST", ""),
        redrive("POST", "Authorization: Bearer wrong\r\n"),
        redrive("POST", &format!("Authorization: Bearer {token}\r\n")),
    ];
    // THEN only the last one is done, and the token file is for the user alone
    assert_eq!(statuses, [405, 401, 401, 200]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
}

#[test]
fn the_redrive_command_reads_the_token_and_is_done() {
    // GIVEN serve with its embedded queue
    let serve = Serve::start(&[], None, &[]);
    // WHEN `akeneo-relay redrive` is run against its port
    let output = std::process::Command::new(support::binary())
        .args(["redrive", "--port", &serve.port.to_string()])
        .env_remove("QUEUE_URL")
        .output()
        .expect("redrive runs");
    // THEN it succeeds and says how many it moved
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "moved=0");
}

#[test]
fn running_out_of_file_descriptors_does_not_spin_the_accept_loop() {
    // GIVEN serve allowed 64 open files
    let serve = Serve::start(&[], Some(64), &[]);
    // WHEN 100 idle connections are opened
    let idle: Vec<_> = (0..100).map(|_| serve.connect()).collect();
    std::thread::sleep(Duration::from_millis(500));
    let before = serve.cpu_time();
    std::thread::sleep(Duration::from_secs(2));
    let used = serve.cpu_time() - before;
    // THEN it uses little CPU while out of descriptors, logs why, and answers again once they are freed
    assert!(used < Duration::from_millis(300), "{used:?} of CPU in 2 s");
    serve.wait_for_output("could not accept a connection", Duration::from_secs(5));
    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut status = 0;
    while status != 200 && Instant::now() < deadline {
        status = serve.raw(b"GET /events-api HTTP/1.1\r\nHost: relay\r\n\r\n");
    }
    assert_eq!(status, 200);
}

#[test]
fn a_queue_that_never_answers_is_logged_and_sigterm_still_stops_serve() {
    // GIVEN an "SQS" that accepts connections and never answers, and serve polling it
    let hung = TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", hung.local_addr().expect("address"));
    let holder =
        std::thread::spawn(move || hung.incoming().take(64).map_while(Result::ok).collect::<Vec<_>>());
    let queue_url = format!("{endpoint}/000000000000/events");
    let dlq_url = format!("{endpoint}/000000000000/dead-letters");
    let mut serve = Serve::start(
        &["--queue-url", &queue_url, "--dead-letter-queue-url", &dlq_url],
        None,
        &[
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
        ],
    );
    // WHEN it has polled for a while
    let output = serve.wait_for_output("polling the queue failed", Duration::from_secs(30));
    // THEN the stalled poll was logged, and SIGTERM stops serve within its grace period
    let line = output
        .lines()
        .find(|l| l.contains("polling the queue failed"))
        .expect("a line");
    assert!(line.contains("timeout") || line.contains("stalled"), "{line}");
    let stopped = serve.terminate(Duration::from_secs(15));
    assert!(
        stopped.is_some(),
        "serve still running 15 s after SIGTERM:\n{}",
        serve.output()
    );
    drop(holder);
}
