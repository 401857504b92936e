//! HTTPS: a CA and a server certificate generated at start-up (rcgen), or files given with
//! `--tls-cert` / `--tls-key`; rustls with the ring provider; and the kubeconfig that trusts it.

use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The server's TLS set-up and the PEM that clients should trust.
pub struct Tls {
    pub config: Arc<rustls::ServerConfig>,
    /// What goes into the kubeconfig's `certificate-authority-data`.
    pub ca_pem: String,
}

/// Generates a throw-away CA and a certificate for 127.0.0.1, ::1 and localhost signed by it.
pub fn generate() -> Result<Tls, String> {
    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
        IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let err = |e: rcgen::Error| format!("certificate generation failed: {e}");
    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca_params = CertificateParams::default();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "kube-exec-devserver CA");
    ca_params.distinguished_name = dn;
    let ca_cert = ca_params.self_signed(&ca_key).map_err(err)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let key = KeyPair::generate().map_err(err)?;
    let mut params = CertificateParams::new(vec![
        "127.0.0.1".to_string(),
        "::1".to_string(),
        "localhost".to_string(),
    ])
    .map_err(err)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "kube-exec-devserver");
    params.distinguished_name = dn;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&key, &issuer).map_err(err)?;
    let chain = vec![cert.der().clone(), ca_cert.der().clone()];
    let key_der =
        PrivateKeyDer::try_from(key.serialize_der()).map_err(|e| format!("private key: {e}"))?;
    Ok(Tls {
        config: server_config(chain, key_der)?,
        ca_pem: ca_cert.pem(),
    })
}

/// Loads a PEM certificate chain and key. Clients are told to trust the chain's PEM as given.
pub fn load(cert: &Path, key: &Path) -> Result<Tls, String> {
    let cert_pem = std::fs::read_to_string(cert)
        .map_err(|e| format!("cannot read {}: {e}", cert.display()))?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{}: no certificate found", cert.display()));
    }
    let key_der =
        PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    Ok(Tls {
        config: server_config(chain, key_der)?,
        ca_pem: cert_pem,
    })
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("tls: {e}"))?;
    // HTTP/1.1 only: WebSocket upgrades need it, and Go then uses it for everything.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Writes a kubeconfig that points at `server` with `token`, trusting `ca_pem` (https). The file
/// is created with mode 0600: it holds the token.
pub fn write_kubeconfig(
    path: &Path,
    server: &str,
    token: &str,
    ca_pem: Option<&str>,
) -> Result<(), String> {
    use base64::Engine as _;
    let ca_line = match ca_pem {
        Some(pem) => format!(
            "    certificate-authority-data: {}\n",
            base64::engine::general_purpose::STANDARD.encode(pem.as_bytes())
        ),
        None => String::new(),
    };
    let token_json = serde_json::to_string(token).unwrap_or_default();
    let yaml = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kube-exec-devserver\n  cluster:\n    server: {server}\n{ca_line}users:\n- name: kube-exec-devserver\n  user:\n    token: {token_json}\ncontexts:\n- name: kube-exec-devserver\n  context:\n    cluster: kube-exec-devserver\n    user: kube-exec-devserver\n    namespace: default\ncurrent-context: kube-exec-devserver\npreferences: {{}}\n"
    );
    write_private(path, yaml.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Writes `data` to a new mode-0600 file beside `path` and renames it over `path`: the file
/// never exists with another mode or half-written, an existing file's mode is not kept, and a
/// symlink at `path` is replaced, not followed.
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("not a file name"))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{:016x}.tmp", rand::random::<u64>()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        // create_new: O_EXCL, so nothing already there (a symlink included) is opened.
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        // The umask can only have narrowed 0600; make it exactly that.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
