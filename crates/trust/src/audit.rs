//! The tamper-evident audit log: a hash chain over sequenced entries, with a signed
//! checkpoint per batch, the checkpoints themselves linked in a chain.
//!
//! ```text
//! h_0 = SHA-256("kuelik-audit-chain-v1")
//! e_n = SHA-256(entry_n)                     entry_n: the entry's canonical bytes
//! h_n = SHA-256(h_{n-1} || e_n)
//!
//! checkpoint_k = (seq n, head h_n, at, prev c_{k-1}, signature)
//!   signature  = ECDSA-P256-SHA256(server key, "kuelik-audit-checkpoint-v1\0" || n || h_n || at || c_{k-1})
//!   c_k        = SHA-256(that message || signature)          c_0 = SHA-256("kuelik-audit-checkpoints-v1")
//! ```
//!
//! Why a chain and not a Merkle tree: verification always reads the whole log in order (an
//! auditor re-hashes everything), and a chain is the cheapest structure for that — one extra
//! 64-byte hash per entry. Why the entry is hashed first: `e_n` can be stored and exported
//! without the personal data in the entry.
//!
//! Why checkpoints link to the previous one: a valid signature on the last checkpoint then
//! vouches for every earlier checkpoint (their heads, times and signatures) through the
//! links, so verifying an intact log costs one ECDSA verification instead of one per batch —
//! which would otherwise dominate with small batches. Every checkpoint still carries its own
//! signature: when something does not match, the verifier checks them one by one to name
//! the first bad batch, and an auditor given a prefix of the log can verify its last one.
//!
//! The sequencer ([`Chain::append_batch`]) assigns numbers 1, 2, 3, … with no gaps and signs
//! the head once per batch, so request transactions never wait on the chain.
//!
//! What verification can tell ([`verify`]): a missing, duplicated or out-of-order sequence
//! number names that entry exactly. An edited entry is named exactly when the store kept
//! each row's chain hash ([`AuditRecord::chain_hash`]) and the editor did not rewrite them;
//! an editor who also recomputed the unsigned chain hashes is still caught by the next
//! signed checkpoint, and then the first entry not vouched for by an earlier checkpoint is
//! named (the edit is in that batch; nothing can say which entry without another copy).
//! A store may keep only the first bytes of each chain hash: a 4-byte tag names an edited
//! entry all the same, except once in 2³² edits (which the checkpoint then still catches).
//! Truncating the tail together with its checkpoints is only visible against a checkpoint
//! kept elsewhere: compare [`VerifiedLog::last_checkpoint`] with the published one.

use std::fmt;

use jiff::Timestamp;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use spki::{DecodePublicKey, EncodePublicKey};
use zeroize::Zeroizing;

use crate::error::TrustError;

/// A SHA-256 value.
pub type Hash = [u8; 32];

const CHAIN_DOMAIN: &[u8] = b"kuelik-audit-chain-v1";
const CHECKPOINT_DOMAIN: &[u8] = b"kuelik-audit-checkpoint-v1\0";
const CHECKPOINTS_DOMAIN: &[u8] = b"kuelik-audit-checkpoints-v1";

/// `c_0`, the `prev` of the first checkpoint.
pub fn checkpoint_genesis() -> Hash {
    Sha256::digest(CHECKPOINTS_DOMAIN).into()
}

/// `h_0`.
pub fn genesis() -> Hash {
    Sha256::digest(CHAIN_DOMAIN).into()
}

/// `e_n = SHA-256(entry)`.
pub fn entry_hash(entry: &[u8]) -> Hash {
    Sha256::digest(entry).into()
}

/// `h_n = SHA-256(h_{n-1} || e_n)`.
pub fn chain_hash(previous: &Hash, entry_hash: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(previous);
    hasher.update(entry_hash);
    hasher.finalize().into()
}

/// A signed statement "after entry `seq` the chain head is `head_hash`, and the checkpoint
/// before this one is `prev_hash`". Serialized with the hashes and the signature as
/// lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub seq: u64,
    #[serde(with = "hex_array")]
    pub head_hash: Hash,
    pub at: Timestamp,
    /// The previous checkpoint's [`Checkpoint::digest`] (or [`checkpoint_genesis`]).
    #[serde(with = "hex_array")]
    pub prev_hash: Hash,
    /// ECDSA P-256 signature, r || s.
    #[serde(with = "hex_array")]
    pub signature: [u8; 64],
}

impl Checkpoint {
    fn message(seq: u64, head: &Hash, at: Timestamp, prev: &Hash) -> Vec<u8> {
        let mut m = Vec::with_capacity(CHECKPOINT_DOMAIN.len() + 8 + 32 + 12 + 32);
        m.extend_from_slice(CHECKPOINT_DOMAIN);
        m.extend_from_slice(&seq.to_be_bytes());
        m.extend_from_slice(head);
        m.extend_from_slice(&at.as_second().to_be_bytes());
        m.extend_from_slice(&at.subsec_nanosecond().to_be_bytes());
        m.extend_from_slice(prev);
        m
    }

    /// `c_k`: what the next checkpoint links to, `SHA-256(message || signature)`.
    pub fn digest(&self) -> Hash {
        // Same bytes as `message`, fed to the hasher without building the vector.
        let mut hasher = Sha256::new();
        hasher.update(CHECKPOINT_DOMAIN);
        hasher.update(self.seq.to_be_bytes());
        hasher.update(self.head_hash);
        hasher.update(self.at.as_second().to_be_bytes());
        hasher.update(self.at.subsec_nanosecond().to_be_bytes());
        hasher.update(self.prev_hash);
        hasher.update(self.signature);
        hasher.finalize().into()
    }

    /// Whether `key` signed this checkpoint as it reads.
    pub fn verify_signature(&self, key: &ServerPublicKey) -> bool {
        let Ok(sig) = Signature::from_slice(&self.signature) else {
            return false;
        };
        key.0
            .verify(
                &Self::message(self.seq, &self.head_hash, self.at, &self.prev_hash),
                &sig,
            )
            .is_ok()
    }
}

/// Fixed-size byte arrays as lowercase hex strings in JSON.
mod hex_array {
    use serde::{de, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer, const N: usize>(
        bytes: &[u8; N],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        deserializer: D,
    ) -> Result<[u8; N], D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        let mut out = [0u8; N];
        hex::decode_to_slice(text.as_bytes(), &mut out)
            .map_err(|e| de::Error::custom(format!("expected {N} bytes of hex: {e}")))?;
        Ok(out)
    }
}

/// The server's checkpoint-signing key (ECDSA P-256). Debug never shows it.
#[derive(Clone)]
pub struct ServerKey(SigningKey);

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ServerKey({}, <redacted>)",
            self.public_key().fingerprint()
        )
    }
}

impl ServerKey {
    pub fn generate() -> Self {
        ServerKey(SigningKey::random(&mut rand_core::OsRng))
    }

    /// Reads a PKCS#8 PEM P-256 key.
    pub fn from_pem(pem: &str) -> Result<Self, TrustError> {
        SigningKey::from_pkcs8_pem(pem.trim())
            .map(ServerKey)
            .map_err(|_| TrustError::MalformedKey("not a PKCS#8 P-256 key".into()))
    }

    /// PKCS#8 PEM, wiped from memory when dropped.
    pub fn to_pem(&self) -> Result<Zeroizing<String>, TrustError> {
        self.0
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| TrustError::Internal(format!("encoding the server key: {e}")))
    }

    pub fn public_key(&self) -> ServerPublicKey {
        ServerPublicKey(*self.0.verifying_key())
    }

    /// Signs a checkpoint for the chain head `head` after entry `seq`, linked to the
    /// previous checkpoint's digest `prev`.
    pub fn sign_checkpoint(
        &self,
        seq: u64,
        head: &Hash,
        at: Timestamp,
        prev: &Hash,
    ) -> Result<Checkpoint, TrustError> {
        let sig: Signature = self
            .0
            .try_sign(&Checkpoint::message(seq, head, at, prev))
            .map_err(|e| TrustError::Internal(format!("checkpoint signature: {e}")))?;
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&sig.to_bytes());
        Ok(Checkpoint {
            seq,
            head_hash: *head,
            at,
            prev_hash: *prev,
            signature,
        })
    }
}

/// The public half, for verifiers and auditors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerPublicKey(VerifyingKey);

impl ServerPublicKey {
    /// Reads a `PUBLIC KEY` (SubjectPublicKeyInfo) PEM.
    pub fn from_pem(pem: &str) -> Result<Self, TrustError> {
        VerifyingKey::from_public_key_pem(pem.trim())
            .map(ServerPublicKey)
            .map_err(|_| TrustError::MalformedKey("not a P-256 public key PEM".into()))
    }

    pub fn to_pem(&self) -> Result<String, TrustError> {
        self.0
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| TrustError::Internal(format!("encoding the public key: {e}")))
    }

    /// Lowercase hex SHA-256 of the SubjectPublicKeyInfo DER.
    pub fn fingerprint(&self) -> String {
        match self.0.to_public_key_der() {
            Ok(der) => hex::encode(Sha256::digest(der.as_bytes())),
            Err(_) => String::from("unencodable"),
        }
    }
}

/// One sequenced entry as the sequencer stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub seq: u64,
    pub entry_hash: Hash,
    pub chain_hash: Hash,
}

/// What one [`Chain::append_batch`] produced: one link per entry and the checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub links: Vec<Link>,
    pub checkpoint: Checkpoint,
}

/// The sequencer's state: the last sequence number, the chain head and the last
/// checkpoint's digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chain {
    seq: u64,
    head: Hash,
    last_checkpoint: Hash,
}

impl Default for Chain {
    fn default() -> Self {
        Self::new()
    }
}

impl Chain {
    /// An empty log (`seq` 0, head [`genesis`], no checkpoint yet).
    pub fn new() -> Self {
        Chain {
            seq: 0,
            head: genesis(),
            last_checkpoint: checkpoint_genesis(),
        }
    }

    /// Continues after the last stored checkpoint (every sequenced entry is covered by one:
    /// the sequencer writes a batch and its checkpoint together).
    pub fn resume(last: &Checkpoint) -> Self {
        Chain {
            seq: last.seq,
            head: last.head_hash,
            last_checkpoint: last.digest(),
        }
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    pub fn head(&self) -> Hash {
        self.head
    }

    /// Sequences `entries` (canonical bytes, in the order to record them) after the current
    /// head and signs one checkpoint at the new head. The chain is advanced only on success,
    /// so a failed batch can be retried. An empty batch re-signs the current head.
    pub fn append_batch<I, B>(
        &mut self,
        entries: I,
        at: Timestamp,
        key: &ServerKey,
    ) -> Result<Batch, TrustError>
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        let mut seq = self.seq;
        let mut head = self.head;
        let mut links = Vec::new();
        for entry in entries {
            seq = seq
                .checked_add(1)
                .ok_or_else(|| TrustError::Internal("audit sequence exhausted".into()))?;
            let e = entry_hash(entry.as_ref());
            head = chain_hash(&head, &e);
            links.push(Link {
                seq,
                entry_hash: e,
                chain_hash: head,
            });
        }
        let checkpoint = key.sign_checkpoint(seq, &head, at, &self.last_checkpoint)?;
        self.seq = seq;
        self.head = head;
        self.last_checkpoint = checkpoint.digest();
        Ok(Batch { links, checkpoint })
    }
}

/// One stored entry handed to the verifier.
#[derive(Debug, Clone, Copy)]
pub struct AuditRecord<'a> {
    pub seq: u64,
    /// The entry's canonical bytes.
    pub bytes: &'a [u8],
    /// The chain hash the sequencer stored with the row, or its first bytes, when the store
    /// keeps them: lets an edit be pinned to its entry (a few bytes do, and the signed
    /// checkpoints vouch for the whole).
    pub chain_hash: Option<&'a [u8]>,
}

/// Why verification stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditFailure {
    /// A sequence number is missing (a deleted entry, or a checkpoint past the last entry).
    MissingEntry,
    /// The same sequence number twice (an inserted entry).
    DuplicateEntry,
    /// A sequence number lower than one already seen (reordered entries).
    OutOfOrder,
    /// The entry's recomputed chain hash differs from the one stored with it (edited).
    EntryMismatch,
    /// A signed checkpoint's head differs from the recomputed chain (an entry of that batch
    /// was edited, inserted or removed).
    CheckpointMismatch,
    /// A checkpoint's signature does not verify with the server key (forged or altered).
    BadCheckpointSignature,
    /// Checkpoints not in increasing order.
    CheckpointOutOfOrder,
    /// A checkpoint does not link to the one stored before it (a checkpoint was removed,
    /// inserted or replaced).
    CheckpointChainBroken,
    /// Entries after the last checkpoint: nothing signed vouches for them.
    NotCheckpointed,
}

impl AuditFailure {
    pub fn code(self) -> &'static str {
        match self {
            AuditFailure::MissingEntry => "missing_entry",
            AuditFailure::DuplicateEntry => "duplicate_entry",
            AuditFailure::OutOfOrder => "out_of_order",
            AuditFailure::EntryMismatch => "entry_mismatch",
            AuditFailure::CheckpointMismatch => "checkpoint_mismatch",
            AuditFailure::BadCheckpointSignature => "bad_checkpoint_signature",
            AuditFailure::CheckpointOutOfOrder => "checkpoint_out_of_order",
            AuditFailure::CheckpointChainBroken => "checkpoint_chain_broken",
            AuditFailure::NotCheckpointed => "not_checkpointed",
        }
    }
}

impl fmt::Display for AuditFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The log is not intact from `first_bad_seq` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("audit log broken at entry {first_bad_seq}: {reason}{}", .checkpoint_seq.map(|s| format!(" (checkpoint {s})")).unwrap_or_default())]
pub struct AuditError {
    /// The first entry whose integrity cannot be established.
    pub first_bad_seq: u64,
    pub reason: AuditFailure,
    /// The checkpoint that failed, for checkpoint failures.
    pub checkpoint_seq: Option<u64>,
}

impl AuditError {
    pub fn code(&self) -> &'static str {
        self.reason.code()
    }
}

/// An intact log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLog {
    pub entries: u64,
    pub last_seq: u64,
    pub head: Hash,
    pub checkpoints: u64,
    /// The latest checkpoint: compare it with one published elsewhere to detect truncation.
    pub last_checkpoint: Option<Checkpoint>,
}

/// How many checkpoints may wait for a signature check: the newest one's signature vouches
/// for them all through the links; the bound keeps memory flat on a huge log.
const MAX_PENDING: usize = 4096;

/// Incremental verifier, for streaming a large log from a database: feed entries in
/// sequence order and each checkpoint right after the entry it covers (or use [`verify`]).
#[derive(Debug, Clone)]
pub struct Verifier<'k> {
    key: &'k ServerPublicKey,
    seq: u64,
    head: Hash,
    entries: u64,
    checkpointed_seq: u64,
    prev_checkpoint: Hash,
    checkpoints: u64,
    last_checkpoint: Option<Checkpoint>,
    /// Checkpoints consistent with the entries and the links whose signatures are not yet
    /// checked, with the first entry each vouches for.
    pending: Vec<(Checkpoint, u64)>,
}

impl<'k> Verifier<'k> {
    pub fn new(key: &'k ServerPublicKey) -> Self {
        Verifier {
            key,
            seq: 0,
            head: genesis(),
            entries: 0,
            checkpointed_seq: 0,
            prev_checkpoint: checkpoint_genesis(),
            checkpoints: 0,
            last_checkpoint: None,
            pending: Vec::new(),
        }
    }

    /// Starts after a checkpoint that was verified before (e.g. the last one of a previous
    /// audit), so only the entries after it are read.
    pub fn resume(key: &'k ServerPublicKey, from: &Checkpoint) -> Result<Self, AuditError> {
        let bad = AuditError {
            first_bad_seq: from.seq.max(1),
            reason: AuditFailure::BadCheckpointSignature,
            checkpoint_seq: Some(from.seq),
        };
        if !from.verify_signature(key) {
            return Err(bad);
        }
        Ok(Verifier {
            seq: from.seq,
            head: from.head_hash,
            checkpointed_seq: from.seq,
            prev_checkpoint: from.digest(),
            last_checkpoint: Some(from.clone()),
            ..Self::new(key)
        })
    }

    /// The last sequence number seen.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The chain hash after the last entry seen.
    pub fn head(&self) -> Hash {
        self.head
    }

    fn fail(first_bad_seq: u64, reason: AuditFailure, checkpoint: Option<u64>) -> AuditError {
        AuditError {
            first_bad_seq,
            reason,
            checkpoint_seq: checkpoint,
        }
    }

    pub fn push_entry(&mut self, record: &AuditRecord<'_>) -> Result<(), AuditError> {
        let expected = self.seq.saturating_add(1);
        if record.seq != expected {
            let reason = if record.seq == self.seq {
                AuditFailure::DuplicateEntry
            } else if record.seq < self.seq {
                AuditFailure::OutOfOrder
            } else {
                return Err(Self::fail(expected, AuditFailure::MissingEntry, None));
            };
            return Err(Self::fail(record.seq, reason, None));
        }
        let head = chain_hash(&self.head, &entry_hash(record.bytes));
        if record
            .chain_hash
            .is_some_and(|stored| stored.is_empty() || !head.starts_with(stored))
        {
            return Err(Self::fail(record.seq, AuditFailure::EntryMismatch, None));
        }
        self.seq = record.seq;
        self.head = head;
        self.entries += 1;
        Ok(())
    }

    pub fn push_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<(), AuditError> {
        // The first entry this checkpoint vouches for (for a re-signed head, the head's own).
        let first = if checkpoint.seq > self.checkpointed_seq {
            self.checkpointed_seq + 1
        } else {
            checkpoint.seq.max(1)
        };
        if checkpoint.seq < self.checkpointed_seq || checkpoint.seq < self.seq {
            return Err(self.blame(
                checkpoint,
                first,
                AuditFailure::CheckpointOutOfOrder,
                checkpoint.seq.max(1),
            ));
        }
        if checkpoint.seq > self.seq {
            return Err(self.blame(
                checkpoint,
                first,
                AuditFailure::MissingEntry,
                self.seq.saturating_add(1),
            ));
        }
        if checkpoint.head_hash != self.head {
            return Err(self.blame(checkpoint, first, AuditFailure::CheckpointMismatch, first));
        }
        if checkpoint.prev_hash != self.prev_checkpoint {
            return Err(self.blame(
                checkpoint,
                first,
                AuditFailure::CheckpointChainBroken,
                first,
            ));
        }
        let digest = checkpoint.digest();
        // Consistent: its signature is checked later, or vouched for by a later one's.
        self.checkpointed_seq = checkpoint.seq;
        self.prev_checkpoint = digest;
        self.checkpoints += 1;
        self.pending.push((checkpoint.clone(), first));
        if self.pending.len() >= MAX_PENDING {
            self.flush()?;
        }
        Ok(())
    }

    /// Something does not match at `checkpoint`: a checkpoint before it with a bad signature
    /// is the first culprit, then this one's own signature, else `reason` at `at`.
    fn blame(
        &self,
        checkpoint: &Checkpoint,
        first: u64,
        reason: AuditFailure,
        at: u64,
    ) -> AuditError {
        if let Some(err) = self.first_bad_pending() {
            return err;
        }
        if !checkpoint.verify_signature(self.key) {
            return Self::fail(
                first,
                AuditFailure::BadCheckpointSignature,
                Some(checkpoint.seq),
            );
        }
        Self::fail(at, reason, Some(checkpoint.seq))
    }

    fn first_bad_pending(&self) -> Option<AuditError> {
        self.pending
            .iter()
            .find(|(cp, _)| !cp.verify_signature(self.key))
            .map(|(cp, first)| {
                Self::fail(*first, AuditFailure::BadCheckpointSignature, Some(cp.seq))
            })
    }

    /// Checks the newest pending checkpoint's signature, which vouches for the others.
    fn flush(&mut self) -> Result<(), AuditError> {
        let Some((newest, first)) = self.pending.last() else {
            return Ok(());
        };
        if newest.verify_signature(self.key) {
            self.last_checkpoint = self.pending.pop().map(|(cp, _)| cp);
            self.pending.clear();
            return Ok(());
        }
        Err(self.first_bad_pending().unwrap_or_else(|| {
            Self::fail(
                *first,
                AuditFailure::BadCheckpointSignature,
                Some(newest.seq),
            )
        }))
    }

    /// Ends verification: the checkpoints' signatures hold, and every entry is covered by a
    /// checkpoint.
    pub fn finish(mut self) -> Result<VerifiedLog, AuditError> {
        self.flush()?;
        if self.seq > self.checkpointed_seq {
            return Err(Self::fail(
                self.checkpointed_seq + 1,
                AuditFailure::NotCheckpointed,
                None,
            ));
        }
        Ok(VerifiedLog {
            entries: self.entries,
            last_seq: self.seq,
            head: self.head,
            checkpoints: self.checkpoints,
            last_checkpoint: self.last_checkpoint,
        })
    }
}

/// Recomputes the chain over `entries` (in the order stored) and checks every checkpoint
/// (sorted by seq) against it with `key`. `Ok` means every entry is covered by a valid
/// checkpoint; the error names the first entry that is not intact.
pub fn verify<'a, I>(
    entries: I,
    checkpoints: &[Checkpoint],
    key: &ServerPublicKey,
) -> Result<VerifiedLog, AuditError>
where
    I: IntoIterator<Item = AuditRecord<'a>>,
{
    let mut verifier = Verifier::new(key);
    let mut pending = checkpoints.iter().peekable();
    for record in entries {
        while let Some(cp) = pending.next_if(|cp| cp.seq <= verifier.seq()) {
            verifier.push_checkpoint(cp)?;
        }
        verifier.push_entry(&record)?;
    }
    for cp in pending {
        verifier.push_checkpoint(cp)?;
    }
    verifier.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_750_000_000 + s).unwrap()
    }

    #[test]
    fn chain_formula_is_the_documented_one() {
        let key = ServerKey::generate();
        let mut chain = Chain::new();
        let batch = chain
            .append_batch([b"a".as_slice(), b"bc"], at(0), &key)
            .unwrap();
        let h0: Hash = Sha256::digest(b"kuelik-audit-chain-v1").into();
        let h1: Hash = Sha256::digest([h0.as_slice(), &Sha256::digest(b"a")].concat()).into();
        let h2: Hash = Sha256::digest([h1.as_slice(), &Sha256::digest(b"bc")].concat()).into();
        assert_eq!(batch.links[0].chain_hash, h1);
        assert_eq!(batch.links[1].chain_hash, h2);
        assert_eq!(batch.links[1].seq, 2);
        assert_eq!(batch.checkpoint.head_hash, h2);
        assert_eq!(batch.checkpoint.prev_hash, checkpoint_genesis());
        assert_eq!((chain.seq(), chain.head()), (2, h2));
        let next = chain.append_batch([b"d"], at(1), &key).unwrap();
        let c1: Hash = Sha256::digest(
            [
                Checkpoint::message(2, &h2, at(0), &checkpoint_genesis()),
                batch.checkpoint.signature.to_vec(),
            ]
            .concat(),
        )
        .into();
        assert_eq!(next.checkpoint.prev_hash, c1);
        assert_eq!(batch.checkpoint.digest(), c1);
        assert_eq!(chain.seq(), 3);
        assert!(batch.checkpoint.verify_signature(&key.public_key()));
        assert!(!batch
            .checkpoint
            .verify_signature(&ServerKey::generate().public_key()));
    }

    #[test]
    fn keys_round_trip_through_pem_and_hide_in_debug() {
        let key = ServerKey::generate();
        let pem = key.to_pem().unwrap();
        let again = ServerKey::from_pem(&pem).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        let public = ServerPublicKey::from_pem(&key.public_key().to_pem().unwrap()).unwrap();
        assert_eq!(public, key.public_key());
        let body: String = pem.lines().nth(1).unwrap().chars().take(16).collect();
        assert!(!format!("{key:?}").contains(&body));
        assert_eq!(
            ServerKey::from_pem("x").unwrap_err().code(),
            "malformed_key"
        );
    }

    #[test]
    fn checkpoints_serialize_as_hex_and_refuse_malformed_hex() {
        let key = ServerKey::generate();
        let cp = Chain::new()
            .append_batch([b"x"], at(0), &key)
            .unwrap()
            .checkpoint;
        let json = serde_json::to_value(&cp).unwrap();
        assert_eq!(json["head_hash"], hex::encode(cp.head_hash));
        assert_eq!(json["signature"].as_str().unwrap().len(), 128);
        let back: Checkpoint = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, cp);
        let mut short = json.clone();
        short["head_hash"] = "abcd".into();
        assert!(serde_json::from_value::<Checkpoint>(short).is_err());
        let mut not_hex = json;
        not_hex["signature"] = "zz".repeat(64).into();
        assert!(serde_json::from_value::<Checkpoint>(not_hex).is_err());
    }

    #[test]
    fn empty_log_and_empty_batches_verify() {
        let key = ServerKey::generate();
        let public = key.public_key();
        assert_eq!(verify(std::iter::empty(), &[], &public).unwrap().entries, 0);
        let mut chain = Chain::new();
        let first = chain
            .append_batch(Vec::<Vec<u8>>::new(), at(0), &key)
            .unwrap();
        assert_eq!(first.checkpoint.seq, 0);
        let log = verify(std::iter::empty(), &[first.checkpoint], &public).unwrap();
        assert_eq!(log.checkpoints, 1);
    }

    #[test]
    fn resumed_chain_continues_where_it_stopped() {
        let key = ServerKey::generate();
        let mut chain = Chain::new();
        let first = chain.append_batch([b"1", b"2"], at(0), &key).unwrap();
        let mut resumed = Chain::resume(&first.checkpoint);
        let a = chain.append_batch([b"3"], at(1), &key).unwrap();
        let b = resumed.append_batch([b"3"], at(1), &key).unwrap();
        assert_eq!(a.links, b.links);
        assert_eq!(a.checkpoint.prev_hash, b.checkpoint.prev_hash);
        // A verifier resumed at the first checkpoint reads only what follows.
        let public = key.public_key();
        let mut verifier = Verifier::resume(&public, &first.checkpoint).unwrap();
        verifier
            .push_entry(&AuditRecord {
                seq: 3,
                bytes: b"3",
                chain_hash: None,
            })
            .unwrap();
        verifier.push_checkpoint(&a.checkpoint).unwrap();
        assert_eq!(verifier.finish().unwrap().last_seq, 3);
    }
}
