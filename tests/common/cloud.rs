//! The real sync server (`marketday-cloud`) on an ephemeral loopback port, for tests, on
//! either of its stores.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use marketday_cloud::AppState;

/// The atelier the tests' devices belong to.
pub const ATELIER: &str = "Atelier Thorne";

/// Where the server under test keeps its store.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// A PostgreSQL database the tests may create schemas in.
    Postgres(String),
}

/// Names the PostgreSQL database the server's tests use (`.ci/run` sets it up).
pub const POSTGRES_ENV: &str = "MARKETDAY_TEST_POSTGRES";

impl Backend {
    /// The PostgreSQL backend if one is configured. Without one, a test on it says so and
    /// passes over it, except under CI, where that is a failure.
    pub fn postgres() -> Option<Backend> {
        match std::env::var(POSTGRES_ENV) {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres(url)),
            _ if std::env::var_os("CI").is_some() => {
                panic!("CI must test the PostgreSQL store: set {POSTGRES_ENV} (.ci/run does)")
            }
            _ => {
                eprintln!("PostgreSQL store not tested: set {POSTGRES_ENV}=postgres://… (.ci/run does)");
                None
            }
        }
    }
}

/// Runs each named test, `fn name(backend: Backend)`, on both stores: `sqlite::name` and
/// `postgres::name`.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(super::cloud::Backend::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $name() {
                if let Some(backend) = super::cloud::Backend::postgres() { super::$name(backend) }
            } )*
        }
    };
}

/// A fresh schema in the test database, dropped with the server.
struct Schema {
    url: String,
    name: String,
    in_schema: String,
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.url, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name));
        }
    }
}

/// The real server on an ephemeral loopback port, on its own runtime.
pub struct Server {
    pub state: Arc<AppState>,
    pub addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
    pub dir: tempfile::TempDir,
    schema: Option<Schema>,
}

impl Server {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// On SQLite, the default store.
    pub fn start() -> Server {
        Server::start_on(&Backend::Sqlite)
    }

    pub fn start_on(backend: &Backend) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let (state, schema) = match backend {
            Backend::Sqlite => (AppState::open(dir.path(), None).unwrap(), None),
            Backend::Postgres(url) => {
                let name = format!("test_{}", uuid::Uuid::now_v7().simple());
                let mut client = postgres::Client::connect(url, postgres::NoTls)
                    .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL ({POSTGRES_ENV}): {e}"));
                client.batch_execute(&format!("CREATE SCHEMA {name}")).unwrap();
                let sep = if url.contains('?') { '&' } else { '?' };
                let in_schema = format!("{url}{sep}options=-csearch_path%3D{name}");
                let schema = Schema { url: url.clone(), name, in_schema: in_schema.clone() };
                (AppState::open(dir.path(), Some(&in_schema)).unwrap(), Some(schema))
            }
        };
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(marketday_cloud::serve(listener, state.clone()));
        Server { state, addr, _runtime: runtime, dir, schema }
    }

    /// Runs SQL on the server's store behind its back, as an older or newer server would
    /// have written it.
    pub fn execute_sql(&self, sql: &str) {
        match &self.schema {
            None => {
                rusqlite::Connection::open(self.dir.path().join("cloud.sqlite")).unwrap().execute_batch(sql).unwrap();
            }
            Some(schema) => {
                postgres::Client::connect(&schema.in_schema, postgres::NoTls).unwrap().batch_execute(sql).unwrap();
            }
        }
    }

    /// A device of [`ATELIER`] at `stall`; its token.
    pub fn device(&self, id: &str, stall: &str) -> String {
        self.state.db().add_device(id, ATELIER, stall).unwrap()
    }

    /// (seq, event id, outcome JSON) as the server holds them.
    pub fn events(&self, device: &str) -> Vec<(i64, String, String)> {
        self.state.db().events_of(device).unwrap().into_iter().map(|(seq, id, _, outcome)| (seq, id, outcome)).collect()
    }
}
