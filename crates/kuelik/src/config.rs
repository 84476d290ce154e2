//! The service's configuration: built-in defaults, then one TOML file (`--config FILE`),
//! then `KUELIK_*` environment variables (`KUELIK_LISTEN`, `KUELIK_DATABASE_URL`, …), then
//! command-line flags. Unknown keys are refused with the key's name, so a typo never passes
//! silently. Every key is documented in `docs/OPERATIONS.md` and `docs/kuelik.example.toml`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::UsageError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceConfig {
    /// Address and port of the HTTP server.
    pub listen: SocketAddr,
    /// Folder of the embedded SQLite database and the generated keys.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL instead of the embedded SQLite database.
    pub database_url: Option<String>,
    /// Demo data and one-time codes at /dev/inbox. Never in production.
    pub demo: bool,
    /// `Secure` flag on session cookies.
    pub secure_cookies: bool,
    /// Largest photo or signature upload, in bytes.
    pub max_upload_bytes: usize,
    /// Largest JSON body, in bytes.
    pub max_json_bytes: usize,
    /// Days after an application finished before its photo and signature are deleted (0: never).
    pub retention_days: u32,
    /// Rule-set versions switched on (built-in names or the versions of `rule_files`).
    pub rules_enabled: Vec<String>,
    /// Extra rule-set TOML files (e.g. an extension of the pilot).
    pub rule_files: Vec<PathBuf>,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// A `tracing` filter, e.g. `info` or `kuelik_server=debug,info`.
    pub log_level: String,
    /// Hex key hashing one-time codes (≥ 16 bytes). Prefer `otp_key_file` or the env.
    pub otp_key: Option<String>,
    pub otp_key_file: Option<PathBuf>,
    /// Hex key shared with the payment gateway to sign callbacks (≥ 16 bytes).
    pub gateway_key: Option<String>,
    pub gateway_key_file: Option<PathBuf>,
    /// Hex key shared with the population register to sign the document changes sent to it
    /// (≥ 16 bytes).
    pub register_key: Option<String>,
    pub register_key_file: Option<PathBuf>,
    /// Where document changes go to the national population register (the whole URL of its
    /// endpoint). None: the built-in simulated register on a loopback port.
    pub register_url: Option<String>,
    /// PEM (PKCS#8, P-256) key signing the audit log's checkpoints. Default:
    /// `DATA_DIR/audit-key.pem`, created on first start. Every instance on one database
    /// needs the same key.
    pub audit_key_file: Option<PathBuf>,
    /// Where the newest signed audit checkpoint is kept outside the database (for
    /// `kuelik audit verify` to notice a restore of an earlier copy). Default:
    /// `DATA_DIR/audit-witness.json`; put it on other storage than the database's.
    pub audit_witness_file: Option<PathBuf>,
    /// Where each new signed audit checkpoint is also POSTed (JSON, through the outbox): a
    /// witness outside this installation. None: nowhere.
    pub audit_witness_url: Option<String>,
    /// PEM CA certificates the officers' signing certificates must chain to. Without it
    /// (and outside demo mode) no application can be approved.
    pub trust_anchors_file: Option<PathBuf>,
    /// An officer account bound to a person (IIN) accepts any trusted certificate issued to
    /// that IIN which names this BIN (12 digits) in its subject OU (`BIN…`): the УМС's. None:
    /// any organisation's.
    pub officer_certificate_bin: Option<String>,
    /// The extendedKeyUsage OIDs such a certificate must all have. Default: НУЦ РК's signing
    /// key of an organisation (`1.3.6.1.5.5.7.3.4`, `1.2.398.3.3.4.1.2`).
    pub officer_certificate_key_usages: Vec<String>,
    /// certificatePolicies OIDs of which such a certificate must have one. Empty: any.
    pub officer_certificate_policies: Vec<String>,
    /// Whether officers may also sign with a key the service keeps sealed under their PIN
    /// (`kuelik staff bind-key --seal`). Switch it off once every officer signs with their own
    /// ЭЦП through NCALayer.
    pub officer_pin_signing: bool,
    /// Where the officers' browsers find NCALayer (its WebSocket).
    pub ncalayer_url: String,
    /// The OCSP responder asked whether a signer's certificate is revoked (НУЦ РК:
    /// `http://ocsp.pki.gov.kz`). None: the one each certificate names in its
    /// authorityInfoAccess, if any (demo: a simulated responder of the demo CA).
    pub ocsp_url: Option<String>,
    /// Revoked officer certificates: a CRL (PEM or DER) or a revoked-serials list
    /// (`SERIAL-HEX [ISSUER-DN]` per line).
    pub revocation_file: Option<PathBuf>,
    /// Where photo and signature bytes are kept: none = in the database; `s3://BUCKET[/PREFIX]`
    /// (credentials from `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`) or `file:///FOLDER`.
    pub blob_store_url: Option<String>,
    /// The endpoint of an S3-compatible server (e.g. `http://127.0.0.1:8014`).
    pub blob_store_endpoint: Option<String>,
    pub blob_store_region: Option<String>,
    /// Hex key (32 bytes) encrypting photos and signatures at rest. Prefer `blob_key_file` or
    /// `KUELIK_BLOB_KEY`.
    pub blob_key: Option<String>,
    pub blob_key_file: Option<PathBuf>,
}

impl Default for ServiceConfig {
    fn default() -> ServiceConfig {
        ServiceConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("kuelik-data"),
            database_url: None,
            demo: false,
            secure_cookies: true,
            max_upload_bytes: 5 * 1024 * 1024,
            max_json_bytes: 64 * 1024,
            retention_days: 365,
            rules_enabled: vec!["pilot-2025".into()],
            rule_files: Vec::new(),
            log_format: LogFormat::Text,
            log_level: "info".into(),
            otp_key: None,
            otp_key_file: None,
            gateway_key: None,
            gateway_key_file: None,
            register_key: None,
            register_key_file: None,
            register_url: None,
            audit_key_file: None,
            audit_witness_file: None,
            audit_witness_url: None,
            trust_anchors_file: None,
            officer_certificate_bin: None,
            officer_certificate_key_usages: kuelik_trust::SignerProfile::officer(None)
                .extended_key_usages,
            officer_certificate_policies: Vec::new(),
            officer_pin_signing: true,
            ncalayer_url: kuelik_server::NCALAYER_URL.to_string(),
            ocsp_url: None,
            revocation_file: None,
            blob_store_url: None,
            blob_store_endpoint: None,
            blob_store_region: None,
            blob_key: None,
            blob_key_file: None,
        }
    }
}

/// Environment variables with the `KUELIK_` prefix that are not configuration keys.
/// (`KUELIK_TEST_*` variables belong to the tests, whatever follows.)
const NOT_CONFIG: [&str; 9] = [
    // Read by the PostgreSQL store itself (connections per instance; docs/OPERATIONS.md).
    "pg_pool",
    "fuzz_target_dir",
    "staff_password",
    "signing_pin",
    "update_snapshots",
    "crash_rounds",
    "crash_seed",
    "s3_port",
    "s3_root",
];

impl ServiceConfig {
    /// Defaults ← `file` ← `KUELIK_*` environment.
    pub fn load(file: Option<&Path>) -> Result<ServiceConfig, UsageError> {
        let mut figment = Figment::from(Serialized::defaults(ServiceConfig::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(UsageError(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(
            Env::prefixed("KUELIK_")
                .ignore(&NOT_CONFIG)
                .filter(|key| !key.as_str().to_ascii_lowercase().starts_with("test_")),
        );
        let config: ServiceConfig = figment
            .extract()
            .map_err(|e| UsageError(format!("configuration: {}", one_line(&e.to_string()))))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), UsageError> {
        if self.max_upload_bytes < 1024 || self.max_json_bytes < 1024 {
            return Err(UsageError(
                "configuration: max_upload_bytes and max_json_bytes must be at least 1024".into(),
            ));
        }
        if let Some(url) = &self.database_url {
            if !url.starts_with("postgres://")
                && !url.starts_with("postgresql://")
                && !url.starts_with("sqlite://")
            {
                return Err(UsageError(format!(
                    "configuration: database_url {url:?} must start with postgres:// or sqlite://"
                )));
            }
        }
        tracing_subscriber::EnvFilter::try_new(&self.log_level).map_err(|e| {
            UsageError(format!(
                "configuration: log_level {:?}: {e}",
                self.log_level
            ))
        })?;
        self.officer_signer()?;
        self.ncalayer_url()?;
        self.ocsp_url()?;
        Ok(())
    }

    /// The rule book: built-in sets plus `rule_files`, with `rules_enabled` switched on
    /// (and only those).
    pub fn rule_book(&self) -> Result<kuelik_core::rules::RuleBook, UsageError> {
        use kuelik_core::rules::{RuleBook, RuleSet, BUILTIN};
        let mut sets = Vec::new();
        for (_, text) in BUILTIN {
            sets.push(
                RuleSet::from_toml(text).map_err(|e| UsageError(format!("built-in rules: {e}")))?,
            );
        }
        for path in &self.rule_files {
            let text = std::fs::read_to_string(path)
                .map_err(|e| UsageError(format!("rule file {}: {e}", path.display())))?;
            let set = RuleSet::from_toml(&text).map_err(|e| {
                UsageError(format!(
                    "rule file {}: {}",
                    path.display(),
                    one_line(&e.to_string())
                ))
            })?;
            if sets.iter().any(|s: &RuleSet| s.version == set.version) {
                return Err(UsageError(format!(
                    "rule file {}: version {} already exists",
                    path.display(),
                    set.version
                )));
            }
            sets.push(set);
        }
        let mut book = RuleBook::new(sets);
        let defaults: Vec<String> = book
            .iter()
            .filter(|s| book.is_enabled(&s.version))
            .map(|s| s.version.clone())
            .collect();
        for version in defaults {
            if !self.rules_enabled.contains(&version) {
                book.disable(&version);
            }
        }
        for version in &self.rules_enabled {
            book.enable(version)
                .map_err(|e| UsageError(format!("configuration: rules_enabled: {e}")))?;
        }
        Ok(book)
    }

    /// A key from `<name>` (hex), else `<name>_file` (hex in a file), else `None`.
    pub fn key(&self, name: &str) -> Result<Option<Vec<u8>>, UsageError> {
        let (inline, file) = match name {
            "otp_key" => (&self.otp_key, &self.otp_key_file),
            "blob_key" => (&self.blob_key, &self.blob_key_file),
            "register_key" => (&self.register_key, &self.register_key_file),
            _ => (&self.gateway_key, &self.gateway_key_file),
        };
        let text = match (inline, file) {
            (Some(hex), _) => hex.clone(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|e| UsageError(format!("{name}_file {}: {e}", path.display())))?,
            (None, None) => return Ok(None),
        };
        let bytes = kuelik_core::hex::decode(&text)
            .filter(|k| k.len() >= 16)
            .ok_or_else(|| UsageError(format!("{name} must be at least 16 bytes in hex")))?;
        Ok(Some(bytes))
    }

    /// Where image bytes are kept, and their encryption key.
    pub fn blob_vault(&self) -> Result<kuelik_store::BlobVault, UsageError> {
        let key = match self.key("blob_key")? {
            None => None,
            Some(bytes) => {
                let key: [u8; 32] = bytes.try_into().map_err(|_| {
                    UsageError("blob_key must be exactly 32 bytes (64 hex digits)".into())
                })?;
                Some(kuelik_store::BlobKey::new(key))
            }
        };
        kuelik_store::BlobVault::from_config(
            self.blob_store_url.as_deref(),
            self.blob_store_endpoint.as_deref(),
            self.blob_store_region.as_deref(),
            key,
        )
        .map_err(|e| UsageError(format!("blob_store_url: {e}")))
    }

    /// Where the audit witness file is.
    pub fn audit_witness_path(&self) -> PathBuf {
        self.audit_witness_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit-witness.json"))
    }

    /// Where the audit-log signing key is.
    pub fn audit_key_path(&self) -> PathBuf {
        self.audit_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit-key.pem"))
    }

    /// The officer signer profile the configuration gives (checked: a BIN of 12 digits,
    /// OIDs in dotted form).
    pub fn officer_signer(&self) -> Result<kuelik_trust::SignerProfile, UsageError> {
        let profile = kuelik_trust::SignerProfile {
            bin: self.officer_certificate_bin.clone(),
            extended_key_usages: self.officer_certificate_key_usages.clone(),
            policies: self.officer_certificate_policies.clone(),
        };
        profile
            .validate()
            .map_err(|e| UsageError(format!("officer_certificate_*: {e}")))?;
        Ok(profile)
    }

    /// The NCALayer address, checked: a `wss://` (or, for a test NCALayer, `ws://`) URL.
    pub fn ncalayer_url(&self) -> Result<String, UsageError> {
        let url = self.ncalayer_url.trim();
        let rest = url
            .strip_prefix("wss://")
            .or_else(|| url.strip_prefix("ws://"))
            .unwrap_or("");
        // It is written into the pages' CSP: nothing that could end or add a directive.
        if rest.is_empty()
            || rest.contains(|c: char| c.is_whitespace() || matches!(c, '"' | '<' | ';' | ','))
        {
            return Err(UsageError(format!(
                "ncalayer_url: {url:?} is not a WebSocket address (wss://HOST:PORT)"
            )));
        }
        Ok(url.to_string())
    }

    /// The OCSP responder's address, checked: an `http://` or `https://` URL.
    pub fn ocsp_url(&self) -> Result<Option<String>, UsageError> {
        let Some(url) = &self.ocsp_url else {
            return Ok(None);
        };
        let url = url.trim();
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .unwrap_or("");
        if rest.is_empty() || rest.contains(char::is_whitespace) {
            return Err(UsageError(format!(
                "ocsp_url: {url:?} is not an http:// or https:// address"
            )));
        }
        Ok(Some(url.to_string()))
    }

    /// The trust anchors and revocations, when configured.
    pub fn trust_store(&self) -> Result<Option<kuelik_trust::TrustStore>, UsageError> {
        let Some(anchors) = &self.trust_anchors_file else {
            return Ok(None);
        };
        let pem = std::fs::read_to_string(anchors)
            .map_err(|e| UsageError(format!("trust_anchors_file {}: {e}", anchors.display())))?;
        let mut revoked = kuelik_trust::RevocationList::new();
        if let Some(path) = &self.revocation_file {
            let bytes = std::fs::read(path)
                .map_err(|e| UsageError(format!("revocation_file {}: {e}", path.display())))?;
            let is_crl = bytes.first() == Some(&0x30)
                || String::from_utf8_lossy(&bytes).contains("BEGIN X509 CRL");
            if is_crl {
                revoked.add_crl(&bytes)
            } else {
                kuelik_trust::RevocationList::from_text(&String::from_utf8_lossy(&bytes))
                    .map(|list| revoked.merge(list))
            }
            .map_err(|e| UsageError(format!("revocation_file {}: {e}", path.display())))?;
        }
        kuelik_trust::TrustStore::new(&pem, revoked)
            .map(Some)
            .map_err(|e| UsageError(format!("trust_anchors_file {}: {e}", anchors.display())))
    }

    /// The effective configuration as TOML, with secrets hidden.
    pub fn redacted_toml(&self) -> String {
        let mut shown = self.clone();
        for secret in [
            &mut shown.otp_key,
            &mut shown.gateway_key,
            &mut shown.register_key,
            &mut shown.blob_key,
        ] {
            if secret.is_some() {
                *secret = Some("(hidden)".into());
            }
        }
        toml::to_string(&shown).unwrap_or_default()
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
