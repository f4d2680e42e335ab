//! The vLEI schema server (`vLEI-server` of the PyPI package `vlei` 1.0.5) serving the schemas
//! of `tests/peers/vlei/schema/acdc/`, as the credential tests resolve them. `vlei` depends on
//! GLEIF's own keri and hio forks, which install as the same Python packages as keri's, so it
//! has a venv of its own.

use crate::peers::{self, PeerProcess};

/// The Qualified vLEI Issuer credential schema.
pub const QVI_SCHEMA: &str = "EBfdlu8R27Fbx-ehrqwImnK-8Cm79sqbAQ4MmvEAYqao";

/// A running vLEI schema server on a free loopback port.
pub struct VleiServer {
    pub port: u16,
    process: PeerProcess,
    _home: tempfile::TempDir,
}

impl VleiServer {
    /// Starts the server and waits until its `/health` answers.
    pub fn start() -> Self {
        let venv = peers::venv(
            "vlei-1.0.5",
            "vlei==1.0.5",
            "import vlei.server",
            "vlei needs libsodium (Debian: apt-get install libsodium23)",
        );
        let home = peers::private_home();
        // No test needs the sample credentials or well-known OOBIs: empty folders.
        let (credentials, oobis) = (home.path().join("acdc"), home.path().join("oobis"));
        std::fs::create_dir_all(&credentials).unwrap();
        std::fs::create_dir_all(&oobis).unwrap();
        let port = peers::free_port();
        let mut command = peers::sandboxed(&venv, "vLEI-server", home.path());
        command
            .arg("--http")
            .arg(port.to_string())
            .arg("--schema-dir")
            .arg(peers::peers_source_dir().join("vlei/schema/acdc"))
            .arg("--cred-dir")
            .arg(&credentials)
            .arg("--oobi-dir")
            .arg(&oobis)
            .current_dir(home.path());
        let mut process = PeerProcess::spawn(command, "vLEI-server", home.path().join("vlei.log"));
        process.wait_ready(port, "/health");
        Self {
            port,
            process,
            _home: home,
        }
    }

    /// `http://127.0.0.1:{port}/oobi/{said}`.
    pub fn oobi_url(&self, said: &str) -> String {
        format!("http://127.0.0.1:{}/oobi/{said}", self.port)
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        self.process.log()
    }
}

#[test]
fn the_vlei_server_serves_the_qvi_schema_oobi() {
    let server = VleiServer::start();
    let answer = peers::http_get(server.port, &format!("/oobi/{QVI_SCHEMA}"))
        .unwrap_or_else(|| panic!("no answer from {}", server.oobi_url(QVI_SCHEMA)));
    assert_eq!(answer.status, 200, "{}\n{}", answer.body, server.log());
    let schema: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(schema["$id"], QVI_SCHEMA);
}
