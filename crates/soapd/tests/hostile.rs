//! Hostile and broken input: each gets its answer quickly, memory stays
//! bounded, and the next client is served.

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const FAST: &str = "read_timeout = 2\nrequest_timeout = 3\nidle_timeout = 3\n\
                    max_body = 1048576\n";

fn served(d: &Daemon) {
    let resp = queue_status(&d.addr);
    assert!(resp.starts_with("HTTP/1.1 200"), "not served: {resp}");
}

fn envelope(inner: &str) -> String {
    format!(
        "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">\
         <s:Body>{inner}</s:Body></s:Envelope>"
    )
}

#[test]
fn broken_xml_gets_client_faults() {
    let fx = spool_with(10);
    let d = Daemon::start_with(fx.root(), &[], FAST);
    let cases = [
        "<not xml".to_string(),
        // SOAP::Lite autotype(0) does not escape values.
        envelope("<CompleteRequest><id>1</id><outcome>a <&> b</outcome></CompleteRequest>"),
        envelope("<x>\u{1}</x>"),
        envelope("<NoSuchOp/>"),
        envelope("<CompleteRequest><id>abc</id></CompleteRequest>"),
    ];
    for body in &cases {
        let resp = post(&d.addr, body, "");
        assert!(status_line(&resp).contains(" 500 "), "{resp}");
        assert_eq!(texts(&resp, "faultcode"), ["SOAP-ENV:Client"], "{resp}");
    }
    let resp = post(&d.addr, &envelope("<NoSuchOp/>"), "");
    assert_eq!(texts(&resp, "code"), ["unknown-operation"]);
    // SOAP 1.2 is answered with a 1.1 VersionMismatch.
    let req = "POST /soap HTTP/1.1\r\nHost: x\r\nContent-Type: \
               application/soap+xml\r\nContent-Length: 2\r\n\
               Connection: close\r\n\r\n<a";
    let resp = raw_exchange(&d.addr, req.as_bytes(), Duration::from_secs(5));
    assert!(resp.contains("SOAP-ENV:VersionMismatch"), "{resp}");
    served(&d);
}

#[test]
fn bom_and_gzip_are_accepted() {
    let fx = spool_with(10);
    let d = Daemon::start_with(fx.root(), &[], FAST);
    let body = format!("\u{FEFF}{}", envelope("<QueueStatus/>"));
    let resp = post(&d.addr, &body, "");
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");

    let mut gz =
        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(envelope("<QueueStatus/>").as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let mut req = format!(
        "POST /soap HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n\
         Content-Encoding: gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        gz.len()
    )
    .into_bytes();
    req.extend_from_slice(&gz);
    let resp = raw_exchange(&d.addr, &req, Duration::from_secs(5));
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");

    // A gzip bomb: small on the wire, too large decoded.
    let mut gz =
        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![b' '; 8 << 20]).unwrap();
    let gz = gz.finish().unwrap();
    let mut req = format!(
        "POST /soap HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        gz.len()
    )
    .into_bytes();
    req.extend_from_slice(&gz);
    let resp = raw_exchange(&d.addr, &req, Duration::from_secs(5));
    assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");

    let req = "POST /soap HTTP/1.1\r\nHost: x\r\nContent-Encoding: br\r\n\
               Content-Length: 1\r\nConnection: close\r\n\r\nx";
    let resp = raw_exchange(&d.addr, req.as_bytes(), Duration::from_secs(5));
    assert!(resp.starts_with("HTTP/1.1 415"), "{resp}");
    served(&d);
}

#[test]
fn billion_laughs_is_refused_quickly() {
    let fx = spool_with(10);
    let d = Daemon::start_with(fx.root(), &[], FAST);
    let mut doc = String::from("<?xml version=\"1.0\"?><!DOCTYPE s:Envelope [<!ENTITY a \"aaaaaaaaaa\">");
    let mut prev = "a".to_string();
    for i in 0..12 {
        let name = format!("e{i}");
        doc.push_str(&format!(
            "<!ENTITY {name} \"{}\">",
            format!("&{prev};").repeat(10)
        ));
        prev = name;
    }
    doc.push_str(&format!(
        "]><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">\
         <s:Body><HoldRequest><reason>&{prev};</reason></HoldRequest></s:Body></s:Envelope>"
    ));
    let before = d.rss_kb();
    let t = Instant::now();
    let resp = post(&d.addr, &doc, "");
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(status_line(&resp).contains(" 500 "), "{resp}");
    assert_eq!(texts(&resp, "faultcode"), ["SOAP-ENV:Client"]);
    assert!(d.rss_kb() < before + 20_000);
    served(&d);
}

#[test]
fn huge_content_length_is_refused_before_reading() {
    let fx = spool_with(10);
    let mut d = Daemon::start_with(fx.root(), &[], FAST);
    let before = d.rss_kb();
    for len in ["1073741824", "4611686018427387904"] {
        let t = Instant::now();
        let req = format!(
            "POST /soap HTTP/1.1\r\nHost: x\r\nContent-Length: {len}\r\n\r\n<tiny/>"
        );
        let resp =
            raw_exchange(&d.addr, req.as_bytes(), Duration::from_secs(5));
        assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
        assert!(t.elapsed() < Duration::from_secs(2));
    }
    // Chunked: refused once the decoded size passes the limit.
    let mut s = TcpStream::connect(&d.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"POST /soap HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    let chunk = vec![b'a'; 64 * 1024];
    let mut resp = Vec::new();
    for _ in 0..40 {
        let sent = s
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .and_then(|_| s.write_all(&chunk))
            .and_then(|_| s.write_all(b"\r\n"));
        if sent.is_err() {
            break;
        }
    }
    let _ = s.read_to_end(&mut resp);
    assert!(String::from_utf8_lossy(&resp).starts_with("HTTP/1.1 413"));
    assert!(d.alive());
    assert!(
        d.rss_kb() < before + 50_000,
        "rss {} -> {}",
        before,
        d.rss_kb()
    );
    served(&d);
}

#[test]
fn endless_header_line_is_refused() {
    let fx = spool_with(10);
    let d = Daemon::start_with(fx.root(), &[], FAST);
    let mut s = TcpStream::connect(&d.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(b"POST /soap HTTP/1.1\r\nX-Long: ");
    for _ in 0..100 {
        if s.write_all(&[b'a'; 4096]).is_err() {
            break;
        }
    }
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    assert!(String::from_utf8_lossy(&resp).starts_with("HTTP/1.1 431"));
    served(&d);
}

#[test]
fn slow_client_is_cut_off_and_others_are_served() {
    let fx = spool_with(10);
    let d = Daemon::start_with(fx.root(), &[], FAST);
    let addr = d.addr.clone();
    let slow = std::thread::spawn(move || {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let req = b"POST /soap HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n<abc";
        let start = Instant::now();
        let mut resp = Vec::new();
        // A byte a second, for at most 20 seconds.
        for b in req.iter() {
            if s.write_all(&[*b]).is_err() {
                break;
            }
            let mut buf = [0u8; 4096];
            if let Ok(n) = s.read(&mut buf) {
                resp.extend_from_slice(&buf[..n]);
                break;
            }
            std::thread::sleep(Duration::from_millis(800));
            if start.elapsed() > Duration::from_secs(20) {
                break;
            }
        }
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = s.read_to_end(&mut resp);
        (start.elapsed(), String::from_utf8_lossy(&resp).into_owned())
    });
    // Meanwhile others are served at once.
    for _ in 0..5 {
        let t = Instant::now();
        served(&d);
        assert!(t.elapsed() < Duration::from_secs(1));
        std::thread::sleep(Duration::from_millis(300));
    }
    let (took, resp) = slow.join().unwrap();
    assert!(resp.starts_with("HTTP/1.1 408"), "{resp:?}");
    assert!(took < Duration::from_secs(8), "{took:?}");
    // One that sends nothing at all is closed too.
    let t = Instant::now();
    let resp = raw_exchange(&d.addr, b"", Duration::from_secs(10));
    assert!(t.elapsed() < Duration::from_secs(5), "{resp}");
    served(&d);
}

#[test]
fn wrong_password_gets_401_and_nothing_else() {
    let fx = spool_with(10);
    let creds = fx.dir.path().join("credentials");
    std::fs::write(&creds, "registry:s3cret\n").unwrap();
    let d = Daemon::start_with(
        fx.root(),
        &["--auth-file", creds.to_str().unwrap()],
        FAST,
    );
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let resp = post(
        &d.addr,
        &envelope("<QueueStatus/>"),
        &format!("Authorization: Basic {}\r\n", b64("registry:wrong")),
    );
    assert!(resp.starts_with("HTTP/1.1 401"), "{resp}");
    assert!(resp.contains("WWW-Authenticate: Basic realm=\"suzanne\""));
    assert!(resp.ends_with("\r\n\r\n"), "a body was sent: {resp}");
    let resp = post(&d.addr, &envelope("<QueueStatus/>"), "");
    assert!(resp.starts_with("HTTP/1.1 401"), "{resp}");
    let resp = post(
        &d.addr,
        &envelope("<QueueStatus/>"),
        &format!("Authorization: Basic {}\r\n", b64("registry:s3cret")),
    );
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
}

#[test]
fn connection_limit_refuses_then_recovers() {
    let fx = spool_with(10);
    let d = Daemon::start_with(
        fx.root(),
        &[],
        &format!("{FAST}max_connections = 3\n"),
    );
    let idle: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(&d.addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let resp = queue_status(&d.addr);
    assert!(resp.starts_with("HTTP/1.1 500"), "{resp}");
    assert!(resp.contains("too many connections"));
    drop(idle);
    std::thread::sleep(Duration::from_millis(500));
    served(&d);
}
