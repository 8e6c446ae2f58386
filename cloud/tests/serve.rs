//! The `marketday-cloud` binary as an operator runs it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A second server on one data directory would keep its own idea of what is stored beside
/// the first's (photos half-written by the other): it refuses to start, says why, and
/// touches nothing; once the first has stopped the directory can be served again.
#[test]
fn a_second_server_on_one_data_directory_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let serve = |listen: &str| {
        Command::new(env!("CARGO_BIN_EXE_marketday-cloud"))
            .args(["--data", dir.path().to_str().unwrap(), "serve", "--listen", listen])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Starts a server on a free port and waits until it listens.
    let listening = || {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut server = serve(&format!("127.0.0.1:{port}"));
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the server never listened");
            if let Some(status) = server.try_wait().unwrap() {
                let mut said = String::new();
                std::io::Read::read_to_string(server.stderr.as_mut().unwrap(), &mut said).unwrap();
                panic!("the server stopped ({status}): {said}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    };
    let mut first = listening();
    let second = serve("127.0.0.1:0").wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "the second server ran: {said}");
    assert!(said.contains("another marketday-cloud is already serving") && said.contains("--data"), "{said}");
    assert!(first.try_wait().unwrap().is_none(), "the first server goes on");

    first.kill().unwrap();
    first.wait().unwrap();
    // Free again once the first has stopped, however it stopped.
    let mut again = listening();
    again.kill().unwrap();
    again.wait().unwrap();
}
