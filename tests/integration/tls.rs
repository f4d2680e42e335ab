//! TLS on all three ports, and client certificates when a CA file is given.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustix::process::Signal;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use crate::harness::{read_response, run_keria, Keria, Response, Start, PATIENCE};

/// A fresh PKI in its own folder, and a keria serving TLS with its server key and certificate.
pub struct TlsAgency {
    pub dir: tempfile::TempDir,
    pub pki: Pki,
    pub keria: Keria,
}

impl TlsAgency {
    /// Starts keria over TLS; with `client_ca`, clients must present a certificate the PKI's
    /// CA signed. `extra` arguments go after those.
    pub fn start(client_ca: bool, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pki = make_pki(dir.path());
        let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
        let mut args = vec![
            "--keypath".to_owned(),
            path("server.key"),
            "--certpath".to_owned(),
            path("server.pem"),
        ];
        if client_ca {
            args.extend(["--cafilepath".to_owned(), path("ca.pem")]);
        }
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        let keria = Start::new().args(args).start();
        Self { dir, pki, keria }
    }
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, written as PEM files.
pub struct Pki {
    ca: rcgen::Certificate,
    client_cert: rcgen::Certificate,
    client_key: KeyPair,
}

pub fn make_pki(dir: &Path) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "keria test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client_cert = CertificateParams::new(vec!["client".to_owned()])
        .unwrap()
        .signed_by(&client_key, &issuer)
        .unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), server.pem()).unwrap();
    std::fs::write(dir.join("server.key"), server_key.serialize_pem()).unwrap();
    Pki {
        ca,
        client_cert,
        client_key,
    }
}

pub fn client_config(pki: &Pki, with_client_cert: bool) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(pki.ca.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = if with_client_cert {
        let key = PrivateKeyDer::try_from(pki.client_key.serialize_der()).unwrap();
        builder
            .with_client_auth_cert(
                vec![CertificateDer::from(pki.client_cert.der().to_vec())],
                key,
            )
            .unwrap()
    } else {
        builder.with_no_client_auth()
    };
    Arc::new(config)
}

/// `GET path` over TLS; Err when the handshake or the exchange fails.
fn tls_get(port: u16, path: &str, config: Arc<ClientConfig>) -> std::io::Result<Response> {
    let server_name = ServerName::try_from("127.0.0.1").unwrap();
    let connection = ClientConnection::new(config, server_name).unwrap();
    let socket = TcpStream::connect(("127.0.0.1", port))?;
    socket.set_read_timeout(Some(PATIENCE))?;
    let mut stream = StreamOwned::new(connection, socket);
    stream.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )?;
    stream.flush()?;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_response(&mut stream)))
        .map_err(|_| std::io::Error::other("no response over TLS"))
}

#[test]
fn every_port_serves_tls_and_plain_http_is_refused() {
    let TlsAgency {
        dir: _dir,
        pki,
        mut keria,
    } = TlsAgency::start(false, &[]);
    let ports = keria.ports();
    let config = client_config(&pki, false);
    assert_eq!(
        tls_get(ports.boot, "/health", Arc::clone(&config))
            .unwrap()
            .status,
        200
    );
    assert_eq!(
        tls_get(ports.admin, "/agent/EUnknown", Arc::clone(&config))
            .unwrap()
            .status,
        404
    );
    assert_eq!(tls_get(ports.http, "/nowhere", config).unwrap().status, 404);
    let mut plain = TcpStream::connect(("127.0.0.1", ports.boot)).unwrap();
    plain.set_read_timeout(Some(PATIENCE)).unwrap();
    plain
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = std::io::Read::read_to_end(&mut plain, &mut answer);
    assert!(
        !answer.starts_with(b"HTTP/1.1 200"),
        "plain HTTP was served on a TLS port"
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn a_ca_file_requires_client_certificates() {
    let TlsAgency {
        dir: _dir,
        pki,
        mut keria,
    } = TlsAgency::start(true, &[]);
    let boot = keria.ports().boot;
    assert_eq!(
        tls_get(boot, "/health", client_config(&pki, true))
            .unwrap()
            .status,
        200
    );
    assert!(
        tls_get(boot, "/health", client_config(&pki, false)).is_err(),
        "a client without a certificate was served"
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn a_missing_key_file_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    make_pki(dir.path());
    let missing = dir.path().join("nope.key");
    let (code, _, stderr) = crate::harness::run_keria(
        &[
            "start",
            "--data-dir",
            dir.path().join("d").to_str().unwrap(),
            "-a",
            "0",
            "-H",
            "0",
            "-B",
            "0",
            "--keypath",
            missing.to_str().unwrap(),
            "--certpath",
            dir.path().join("server.pem").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("opening key file") && stderr.contains("nope.key"),
        "{stderr}"
    );
}

/// Writes the client certificate and key next to the other PEM files.
fn write_client_files(dir: &Path, pki: &Pki) {
    std::fs::write(dir.join("client.pem"), pki.client_cert.pem()).unwrap();
    std::fs::write(dir.join("client.key"), pki.client_key.serialize_pem()).unwrap();
}

#[test]
fn status_and_boot_speak_tls_with_the_start_certificate_or_a_ca() {
    let TlsAgency {
        dir,
        pki: _,
        mut keria,
    } = TlsAgency::start(false, &[]);
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let ports = keria.ports();
    let boot = ports.boot.to_string();
    let data = keria.data_dir.to_str().unwrap().to_owned();
    let status = |extra: &[&str]| {
        let mut args = vec!["status", "-B", &boot, "--data-dir", &data];
        args.extend_from_slice(extra);
        run_keria(&args, &[])
    };
    let (code, stdout, stderr) = status(&["--certpath", &path("server.pem")]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("at https://127.0.0.1:{boot}/health")),
        "{stdout}"
    );
    let url = format!("https://localhost:{boot}");
    let (code, stdout, stderr) = status(&["--url", &url, "--cacert", &path("ca.pem")]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, _) = status(&["--certpath", &path("ca.pem")]);
    assert_ne!(
        code, 0,
        "another certificate than the pinned one was accepted: {stdout}"
    );
    let (code, stdout, _) = status(&["--url", &url]);
    assert_ne!(
        code, 0,
        "a certificate no one trusts was accepted: {stdout}"
    );
    let (code, stdout, _) = status(&[]);
    assert_ne!(code, 0, "plain HTTP to a TLS port was healthy: {stdout}");

    let admin = ports.admin.to_string();
    let boot_args = [
        "boot",
        "-B",
        &boot,
        "-a",
        &admin,
        "--json",
        "--if-missing",
        "--certpath",
        &path("server.pem"),
    ];
    let env = [("SIGNIFY_PASSCODE", crate::agency::VECTOR_PASSCODE)];
    let (code, created, stderr) = run_keria(&boot_args, &env);
    assert_eq!(code, 0, "{stderr}");
    let created: serde_json::Value = serde_json::from_str(&created).unwrap();
    assert_eq!(created["outcome"], "created", "{created}");
    let (code, exists, stderr) = run_keria(&boot_args, &env);
    assert_eq!(code, 0, "{stderr}");
    let exists: serde_json::Value = serde_json::from_str(&exists).unwrap();
    assert_eq!(exists["agent"], created["agent"], "{exists} {stderr}");
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn status_presents_a_client_certificate_to_an_agency_that_requires_one() {
    let TlsAgency {
        dir,
        pki,
        mut keria,
    } = TlsAgency::start(true, &[]);
    write_client_files(dir.path(), &pki);
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let boot = keria.ports().boot.to_string();
    let (code, stdout, stderr) = run_keria(
        &[
            "status",
            "-B",
            &boot,
            "--cacert",
            &path("ca.pem"),
            "--client-cert",
            &path("client.pem"),
            "--client-key",
            &path("client.key"),
        ],
        &[],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, _) = run_keria(&["status", "-B", &boot, "--cacert", &path("ca.pem")], &[]);
    assert_ne!(code, 0, "served without a client certificate: {stdout}");
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}
