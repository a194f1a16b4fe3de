//! TLS (feature `tls`): rustls, trusting the system's roots or the CAs of
//! `sslrootcert=PATH`, and always checking the server's certificate chain
//! and host name (verify-full behaviour) whenever the connection is
//! encrypted.
//!
//! Why always: tokio-postgres does no host name check of its own; its
//! connector does, and rustls's does it unconditionally. libpq's
//! `sslmode=require` encrypts without checking who answers; here
//! `require` checks too, which refuses a man in the middle that libpq
//! would let through. A server with a private CA is trusted through
//! `sslrootcert`.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::Target;
use crate::error::{Error, ErrorKind};

/// The connector for `target`: its `sslrootcert` CAs, or the system's.
pub(crate) fn connector(target: &Target) -> Result<MakeRustlsConnect, Error> {
    let mut roots = RootCertStore::empty();
    match &target.root_cert {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path).map_err(|e| {
                Error::with_source(
                    ErrorKind::InvalidUrl {
                        reason: format!("sslrootcert {}: cannot read it", path.display()),
                    },
                    e,
                )
            })?;
            for cert in certs {
                let cert = cert.map_err(|e| {
                    Error::with_source(
                        ErrorKind::InvalidUrl {
                            reason: format!(
                                "sslrootcert {}: not a PEM certificate",
                                path.display()
                            ),
                        },
                        e,
                    )
                })?;
                roots.add(cert).map_err(|e| {
                    Error::with_source(
                        ErrorKind::InvalidUrl {
                            reason: format!(
                                "sslrootcert {}: a certificate rustls refuses",
                                path.display()
                            ),
                        },
                        e,
                    )
                })?;
            }
        }
        None => {
            // Certificates of the system's store that do not parse are
            // skipped (as every client does); none at all is an error below.
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
        }
    }
    if roots.is_empty() {
        return Err(Error::new(ErrorKind::InvalidUrl {
            reason: "TLS needs a CA to trust: none in the system's store and no sslrootcert"
                .to_owned(),
        }));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| {
            Error::with_source(
                ErrorKind::InvalidOption {
                    reason: "TLS protocol versions".to_owned(),
                },
                e,
            )
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}
