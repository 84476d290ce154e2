//! The НУЦ РК certificate profile: whom a certificate names and what it may sign.
//!
//! Certificates of Kazakhstan's National Certification Authority (НУЦ РК) name their holder by
//! IIN in the subject's `serialNumber` (`IIN` followed by the 12 digits) and, for an
//! organisation's employee, the organisation by BIN in the subject's `organizationalUnitName`
//! (`BIN` followed by the 12 digits). What the key may be used for is said in
//! extendedKeyUsage: [`EKU_SIGNING`] (id-kp-emailProtection, which НУЦ РК uses for signing keys;
//! authentication keys carry id-kp-clientAuth instead) with [`EKU_INDIVIDUAL`] for a person's
//! own certificate or [`EKU_ORGANISATION`] (and a role under it, e.g. `….2.5` an employee) for
//! an organisation's.
//!
//! A staff account bound to a person (their IIN) accepts any certificate that a trust anchor
//! issued, that is valid and not revoked (the [`crate::pki`] checks), and that fits the
//! account's [`SignerProfile`]: the same IIN, the configured BIN, the required key usages and,
//! if configured, one of the signing policies. The profile is configuration (OPERATIONS.md).

use der::asn1::ObjectIdentifier;
use der::{Tag, Tagged};
use serde::{Deserialize, Serialize};
use x509_cert::ext::pkix::{CertificatePolicies, ExtendedKeyUsage};
use x509_cert::name::Name;

use crate::error::TrustError;
use crate::pki::ParsedCertificate;

/// id-kp-emailProtection: НУЦ РК's signing keys.
pub const EKU_SIGNING: &str = "1.3.6.1.5.5.7.3.4";
/// id-kp-clientAuth: НУЦ РК's authentication keys (not for signing).
pub const EKU_AUTHENTICATION: &str = "1.3.6.1.5.5.7.3.2";
/// НУЦ РК: the holder is an individual (a person's own certificate).
pub const EKU_INDIVIDUAL: &str = "1.2.398.3.3.4.1.1";
/// НУЦ РК: the holder acts for an organisation (roles are arcs under it).
pub const EKU_ORGANISATION: &str = "1.2.398.3.3.4.1.2";
/// НУЦ РК: an organisation's employee.
pub const EKU_EMPLOYEE: &str = "1.2.398.3.3.4.1.2.5";

const SERIAL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");
const ORGANIZATIONAL_UNIT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");

/// Who a certificate names, and what it says its key is for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The 12 digits after `IIN` in the subject's serialNumber.
    pub iin: Option<String>,
    /// The 12 digits after `BIN` in a subject organizationalUnitName.
    pub bin: Option<String>,
    /// extendedKeyUsage, dotted OIDs.
    pub extended_key_usages: Vec<String>,
    /// certificatePolicies, dotted OIDs.
    pub policies: Vec<String>,
}

impl Holder {
    pub(crate) fn of(parsed: &ParsedCertificate) -> Result<Holder, TrustError> {
        let tbs = &parsed.cert.tbs_certificate;
        let extended_key_usages = match tbs.get::<ExtendedKeyUsage>() {
            Ok(found) => found
                .map(|(_, eku)| eku.0.iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
            Err(e) => {
                return Err(TrustError::MalformedCertificate(format!(
                    "extendedKeyUsage: {e}"
                )))
            }
        };
        let policies = match tbs.get::<CertificatePolicies>() {
            Ok(found) => found
                .map(|(_, p)| {
                    p.0.iter()
                        .map(|info| info.policy_identifier.to_string())
                        .collect()
                })
                .unwrap_or_default(),
            Err(e) => {
                return Err(TrustError::MalformedCertificate(format!(
                    "certificatePolicies: {e}"
                )))
            }
        };
        Ok(Holder {
            iin: tagged_digits(&tbs.subject, SERIAL_NUMBER, "IIN"),
            bin: tagged_digits(&tbs.subject, ORGANIZATIONAL_UNIT, "BIN"),
            extended_key_usages,
            policies,
        })
    }
}

/// The 12 digits after `prefix` in the first attribute `oid` of `name` that has them.
fn tagged_digits(name: &Name, oid: ObjectIdentifier, prefix: &str) -> Option<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|atv| atv.oid == oid)
        .filter_map(|atv| match atv.value.tag() {
            Tag::Utf8String | Tag::PrintableString | Tag::Ia5String => {
                std::str::from_utf8(atv.value.value()).ok()
            }
            _ => None,
        })
        .find_map(|text| {
            let digits = text.strip_prefix(prefix)?;
            (digits.len() == 12 && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| digits.to_string())
        })
}

/// What the certificate of a person who signs must say, beyond being trusted and valid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerProfile {
    /// The organisation's BIN (12 digits) the certificate must name, if set: an officer signs
    /// for their УМС.
    #[serde(default)]
    pub bin: Option<String>,
    /// Every one of these extendedKeyUsage OIDs must be present.
    #[serde(default)]
    pub extended_key_usages: Vec<String>,
    /// At least one of these certificatePolicies OIDs must be present; empty: not checked.
    #[serde(default)]
    pub policies: Vec<String>,
}

impl SignerProfile {
    /// An officer: a signing key of an organisation's certificate (of the УМС whose BIN is
    /// `bin`, when given).
    pub fn officer(bin: Option<String>) -> SignerProfile {
        SignerProfile {
            bin,
            extended_key_usages: vec![EKU_SIGNING.into(), EKU_ORGANISATION.into()],
            policies: Vec::new(),
        }
    }

    /// A citizen: the signing key of their own certificate as an individual.
    pub fn citizen() -> SignerProfile {
        SignerProfile {
            bin: None,
            extended_key_usages: vec![EKU_SIGNING.into(), EKU_INDIVIDUAL.into()],
            policies: Vec::new(),
        }
    }

    /// Whether the profile itself makes sense: a BIN of 12 digits, OIDs in dotted form.
    pub fn validate(&self) -> Result<(), TrustError> {
        let bad = |what: String| Err(TrustError::InvalidTrustStore(what));
        if let Some(bin) = &self.bin {
            if bin.len() != 12 || !bin.bytes().all(|b| b.is_ascii_digit()) {
                return bad(format!("the profile's BIN {bin:?} is not 12 digits"));
            }
        }
        for oid in self.extended_key_usages.iter().chain(&self.policies) {
            if ObjectIdentifier::new(oid).is_err() {
                return bad(format!("{oid:?} is not an object identifier"));
            }
        }
        Ok(())
    }

    /// Checks that `holder` is the person with `iin` and fits the profile. The order gives
    /// the most telling refusal first: another person, then another organisation, then what
    /// the key is for.
    pub fn check(&self, holder: &Holder, iin: &str) -> Result<(), TrustError> {
        match &holder.iin {
            None => return Err(TrustError::CertificateWithoutIin),
            Some(named) if named != iin => {
                return Err(TrustError::CertificateOfAnotherPerson {
                    named: named.clone(),
                })
            }
            Some(_) => {}
        }
        if let Some(bin) = &self.bin {
            if holder.bin.as_deref() != Some(bin.as_str()) {
                return Err(TrustError::CertificateOfAnotherOrganisation {
                    named: holder.bin.clone(),
                });
            }
        }
        if let Some(missing) = self
            .extended_key_usages
            .iter()
            .find(|eku| !holder.extended_key_usages.contains(eku))
        {
            return Err(TrustError::WrongKeyUsage(format!(
                "extendedKeyUsage lacks {missing}{}",
                if missing == EKU_SIGNING
                    && holder
                        .extended_key_usages
                        .iter()
                        .any(|e| e == EKU_AUTHENTICATION)
                {
                    " (this is an authentication key: sign with the signing key)"
                } else {
                    ""
                }
            )));
        }
        if !self.policies.is_empty() && !self.policies.iter().any(|p| holder.policies.contains(p)) {
            return Err(TrustError::CertificatePolicyNotAccepted(
                holder.policies.join(", "),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(iin: &str, bin: Option<&str>, eku: &[&str]) -> Holder {
        Holder {
            iin: Some(iin.into()),
            bin: bin.map(Into::into),
            extended_key_usages: eku.iter().map(|s| s.to_string()).collect(),
            policies: Vec::new(),
        }
    }

    const IIN: &str = "870412300129";
    const BIN: &str = "120340005678";

    #[test]
    fn an_officer_of_the_umc_with_a_signing_key_fits() {
        let profile = SignerProfile::officer(Some(BIN.into()));
        let h = holder(
            IIN,
            Some(BIN),
            &[EKU_SIGNING, EKU_ORGANISATION, EKU_EMPLOYEE],
        );
        assert_eq!(profile.check(&h, IIN), Ok(()));
    }

    #[test]
    fn each_mismatch_has_its_own_code() {
        let profile = SignerProfile::officer(Some(BIN.into()));
        let good = holder(IIN, Some(BIN), &[EKU_SIGNING, EKU_ORGANISATION]);
        let code = |h: &Holder| profile.check(h, IIN).unwrap_err().code();
        assert_eq!(
            code(&Holder {
                iin: None,
                ..good.clone()
            }),
            "certificate_without_iin"
        );
        assert_eq!(
            code(&holder(
                "870412300126",
                Some(BIN),
                &[EKU_SIGNING, EKU_ORGANISATION]
            )),
            "certificate_of_another_person"
        );
        assert_eq!(
            code(&holder(
                IIN,
                Some("999999999999"),
                &[EKU_SIGNING, EKU_ORGANISATION]
            )),
            "certificate_of_another_organisation"
        );
        assert_eq!(
            code(&holder(IIN, None, &[EKU_SIGNING, EKU_ORGANISATION])),
            "certificate_of_another_organisation"
        );
        // The authentication key of the same person: not for signing.
        let auth = holder(IIN, Some(BIN), &[EKU_AUTHENTICATION, EKU_ORGANISATION]);
        assert_eq!(code(&auth), "wrong_key_usage");
        assert!(profile
            .check(&auth, IIN)
            .unwrap_err()
            .to_string()
            .contains("authentication key"));
        // A person's own certificate is not the УМС's.
        assert_eq!(
            code(&holder(IIN, Some(BIN), &[EKU_SIGNING, EKU_INDIVIDUAL])),
            "wrong_key_usage"
        );
        let with_policy = SignerProfile {
            policies: vec!["1.2.398.3.3.2.1".into()],
            ..profile.clone()
        };
        assert_eq!(
            with_policy.check(&good, IIN).unwrap_err().code(),
            "certificate_policy_not_accepted"
        );
        let mut named = good.clone();
        named.policies.push("1.2.398.3.3.2.1".into());
        assert_eq!(with_policy.check(&named, IIN), Ok(()));
    }

    #[test]
    fn without_a_bin_any_organisation_is_accepted_and_a_citizen_needs_their_own() {
        let officer = SignerProfile::officer(None);
        let h = holder(IIN, Some("555555555555"), &[EKU_SIGNING, EKU_ORGANISATION]);
        assert_eq!(officer.check(&h, IIN), Ok(()));
        let citizen = SignerProfile::citizen();
        assert_eq!(
            citizen.check(&holder(IIN, None, &[EKU_SIGNING, EKU_INDIVIDUAL]), IIN),
            Ok(())
        );
        assert_eq!(
            citizen.check(&h, IIN).unwrap_err().code(),
            "wrong_key_usage"
        );
    }

    #[test]
    fn a_profile_with_a_bad_bin_or_oid_is_refused() {
        assert!(SignerProfile::officer(Some("12345".into()))
            .validate()
            .is_err());
        let bad_oid = SignerProfile {
            extended_key_usages: vec!["not.an.oid".into()],
            ..SignerProfile::default()
        };
        assert!(bad_oid.validate().is_err());
        assert!(SignerProfile::officer(Some(BIN.into())).validate().is_ok());
    }
}
