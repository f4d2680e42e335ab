//! The HTTP client of `status` and `boot`: plain HTTP, or TLS that trusts a CA file or exactly
//! the agency's own certificate, with an optional client certificate for mTLS.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::cli::ClientTlsArgs;
use crate::server::tls::{read_certs, read_key};

/// The boot port's base URL, without a trailing `/`: `--url`, else loopback, over https when a
/// certificate to trust is given.
pub fn agency_base_url(url: Option<&url::Url>, port: u16, tls: &ClientTlsArgs) -> String {
    match url {
        Some(url) => url.as_str().trim_end_matches('/').to_owned(),
        None if tls.uses_tls() => format!("https://127.0.0.1:{port}"),
        None => format!("http://127.0.0.1:{port}"),
    }
}

/// An HTTP agent with `timeout` and the TLS settings of `tls`.
pub fn agent(tls: &ClientTlsArgs, timeout: Duration) -> Result<ureq::Agent> {
    let http = ureq::AgentBuilder::new().timeout(timeout);
    if !tls.uses_tls() && tls.client_cert.is_none() {
        return Ok(http.build());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .context("choosing TLS protocol versions")?;
    let builder = if let Some(ca) = &tls.cacert {
        let mut roots = RootCertStore::empty();
        for cert in read_certs(ca)? {
            roots
                .add(cert)
                .with_context(|| format!("adding a CA certificate from {}", ca.display()))?;
        }
        builder.with_root_certificates(roots)
    } else if let Some(cert) = &tls.certpath {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pinned::read(
                cert,
                provider.signature_verification_algorithms,
            )?))
    } else {
        // A client certificate alone: the server must still be trusted, by --cacert or --certpath.
        builder.with_root_certificates(RootCertStore::empty())
    };
    let config = match (&tls.client_cert, &tls.client_key) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(read_certs(cert)?, read_key(key)?)
            .with_context(|| {
                format!(
                    "client key {} does not match its certificate",
                    key.display()
                )
            })?,
        _ => builder.with_no_client_auth(),
    };
    Ok(http.tls_config(Arc::new(config)).build())
}

/// Accepts exactly one server certificate, the agency's own (`--certpath`, as given to
/// `start`), whatever its issuer or names; the handshake signatures are still verified.
struct Pinned {
    cert: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl Pinned {
    fn read(path: &Path, algorithms: WebPkiSupportedAlgorithms) -> Result<Self> {
        let cert = read_certs(path)?.swap_remove(0);
        Ok(Self { cert, algorithms })
    }
}

impl fmt::Debug for Pinned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pinned").finish_non_exhaustive()
    }
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "the agency's certificate is not the one given with --certpath".to_owned(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
