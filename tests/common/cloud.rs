//! The real sync server (`marketday-cloud`) on an ephemeral loopback port, for tests.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use marketday_cloud::AppState;

/// The real server on an ephemeral loopback port, on its own runtime.
pub struct Server {
    pub state: Arc<AppState>,
    pub addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
    pub dir: tempfile::TempDir,
}

impl Server {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let state = AppState::open(dir.path()).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(marketday_cloud::serve(listener, state.clone()));
        Server { state, addr, _runtime: runtime, dir }
    }

    pub fn device(&self, id: &str, stall: &str) -> String {
        self.state.db().add_device(id, "Atelier Thorne", stall).unwrap()
    }

    /// (seq, event id, outcome JSON) as the server holds them.
    pub fn events(&self, device: &str) -> Vec<(i64, String, String)> {
        self.state.db().events_of(device).unwrap().into_iter().map(|(seq, id, _, outcome)| (seq, id, outcome)).collect()
    }
}
