//! Every code the API answers with, and the HTTP status it answers with — decided here and
//! nowhere else. A code is part of the contract: clients branch on it, `docs/API.md` lists
//! each one (a test keeps the two equal), and each has its text in kk, ru and en
//! (`locales/*/errors.ftl`, or the core's catalogue for the domain's own refusals).

use axum::http::StatusCode;

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal => $status:ident,)*) => {
        /// A stable, snake_case error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            /// The HTTP status every answer with this code has.
            pub fn status(self) -> StatusCode {
                match self {
                    $(ErrorCode::$variant => StatusCode::$status,)*
                }
            }
        }
    };
}

error_codes! {
    // The request itself.
    MalformedJson = "malformed_json" => BAD_REQUEST,
    InvalidBody = "invalid_body" => UNPROCESSABLE_ENTITY,
    BadBody = "bad_body" => BAD_REQUEST,
    BodyTooLarge = "body_too_large" => PAYLOAD_TOO_LARGE,
    UnsupportedMediaType = "unsupported_media_type" => UNSUPPORTED_MEDIA_TYPE,
    BadQuery = "bad_query" => BAD_REQUEST,
    MethodNotAllowed = "method_not_allowed" => METHOD_NOT_ALLOWED,
    BadIdempotencyKey = "bad_idempotency_key" => BAD_REQUEST,
    IdempotencyKeyReused = "idempotency_key_reused" => UNPROCESSABLE_ENTITY,

    // Who is asking.
    Unauthorized = "unauthorized" => UNAUTHORIZED,
    Forbidden = "forbidden" => FORBIDDEN,
    NotFound = "not_found" => NOT_FOUND,
    CrossSiteRequest = "cross_site_request" => FORBIDDEN,
    StaffScopeInvalid = "staff_scope_invalid" => FORBIDDEN,
    WrongCredentials = "wrong_credentials" => UNAUTHORIZED,
    /// A typo: `attempts_left` says how many more guesses the code takes.
    WrongCode = "wrong_code" => UNPROCESSABLE_ENTITY,
    /// The code expired or was used: ask for a new one.
    CodeExpired = "code_expired" => UNPROCESSABLE_ENTITY,
    /// Too many wrong guesses at this code: ask for a new one.
    CodeLocked = "code_locked" => UNPROCESSABLE_ENTITY,
    TooManyCodes = "too_many_codes" => TOO_MANY_REQUESTS,
    TooManyChecks = "too_many_checks" => TOO_MANY_REQUESTS,
    IinWrongLength = "iin_wrong_length" => UNPROCESSABLE_ENTITY,
    IinNotADigit = "iin_not_a_digit" => UNPROCESSABLE_ENTITY,
    IinBadCenturyDigit = "iin_bad_century_digit" => UNPROCESSABLE_ENTITY,
    IinBadBirthDate = "iin_bad_birth_date" => UNPROCESSABLE_ENTITY,
    IinCheckDigitMismatch = "iin_check_digit_mismatch" => UNPROCESSABLE_ENTITY,
    IinCheckDigitUndefined = "iin_check_digit_undefined" => UNPROCESSABLE_ENTITY,
    NotInRegister = "not_in_register" => NOT_FOUND,

    // What a citizen sends.
    TooEarly = "too_early" => UNPROCESSABLE_ENTITY,
    WindowAfterServiceEnd = "window_after_service_end" => UNPROCESSABLE_ENTITY,
    ExpiredTooLong = "expired_too_long" => UNPROCESSABLE_ENTITY,
    ReasonNotServed = "reason_not_served" => UNPROCESSABLE_ENTITY,
    DocumentNotServed = "document_not_served" => UNPROCESSABLE_ENTITY,
    ServiceNotActive = "service_not_active" => UNPROCESSABLE_ENTITY,
    UnknownReason = "unknown_reason" => UNPROCESSABLE_ENTITY,
    UnknownRegistrationPoint = "unknown_registration_point" => UNPROCESSABLE_ENTITY,
    BadRegion = "bad_region" => UNPROCESSABLE_ENTITY,
    BadPhone = "bad_phone" => UNPROCESSABLE_ENTITY,
    BadLanguage = "bad_language" => UNPROCESSABLE_ENTITY,
    BadUpload = "bad_upload" => BAD_REQUEST,
    UploadTooLarge = "upload_too_large" => PAYLOAD_TOO_LARGE,
    UnsupportedImage = "unsupported_image" => UNSUPPORTED_MEDIA_TYPE,
    EmptyFile = "empty_file" => UNPROCESSABLE_ENTITY,
    FileTooLarge = "file_too_large" => PAYLOAD_TOO_LARGE,
    UnsupportedFormat = "unsupported_format" => UNSUPPORTED_MEDIA_TYPE,
    ImageTooSmall = "image_too_small" => UNPROCESSABLE_ENTITY,
    ImageTooLarge = "image_too_large" => UNPROCESSABLE_ENTITY,
    TruncatedImage = "truncated_image" => UNPROCESSABLE_ENTITY,
    CorruptImage = "corrupt_image" => UNPROCESSABLE_ENTITY,
    MemoryLimitExceeded = "memory_limit_exceeded" => UNPROCESSABLE_ENTITY,
    NotEligible = "not_eligible" => UNPROCESSABLE_ENTITY,
    LiveApplicationExists = "live_application_exists" => CONFLICT,

    // The life cycle (the core's refusals).
    IllegalTransition = "illegal_transition" => CONFLICT,
    /// Parts of the draft are not done or need fixing; `readiness` lists every part.
    ApplicationIncomplete = "application_incomplete" => CONFLICT,
    WrongRole = "wrong_role" => FORBIDDEN,
    NotTheReviewer = "not_the_reviewer" => CONFLICT,
    PointOutsideRegion = "point_outside_region" => UNPROCESSABLE_ENTITY,
    AlreadyPaid = "already_paid" => CONFLICT,
    TicketMismatch = "ticket_mismatch" => UNPROCESSABLE_ENTITY,
    BadDocumentNumber = "bad_document_number" => UNPROCESSABLE_ENTITY,
    NoRefundPending = "no_refund_pending" => CONFLICT,
    ReviewNotAbandoned = "review_not_abandoned" => CONFLICT,
    RegisterDocumentMismatch = "register_document_mismatch" => CONFLICT,
    CalendarNotCovered = "calendar_not_covered" => SERVICE_UNAVAILABLE,
    Conflict = "conflict" => CONFLICT,

    // The staff's work.
    UnknownState = "unknown_state" => UNPROCESSABLE_ENTITY,
    StateNotInQueue = "state_not_in_queue" => UNPROCESSABLE_ENTITY,
    UnknownAnnulmentReason = "unknown_annulment_reason" => UNPROCESSABLE_ENTITY,
    CommentRequired = "comment_required" => UNPROCESSABLE_ENTITY,
    TicketWrongLength = "ticket_wrong_length" => UNPROCESSABLE_ENTITY,
    TicketBadSymbol = "ticket_bad_symbol" => UNPROCESSABLE_ENTITY,
    TicketCheckFailed = "ticket_check_failed" => UNPROCESSABLE_ENTITY,
    TicketNotAtThisPoint = "ticket_not_at_this_point" => NOT_FOUND,
    UnknownOldCard = "unknown_old_card" => UNPROCESSABLE_ENTITY,
    HolderNotInRegister = "holder_not_in_register" => CONFLICT,
    UnknownDocumentKind = "unknown_document_kind" => UNPROCESSABLE_ENTITY,

    // Signatures: the officer's approval and production's check of it.
    SignatureRequired = "signature_required" => UNPROCESSABLE_ENTITY,
    MalformedSignature = "malformed_signature" => UNPROCESSABLE_ENTITY,
    MalformedCertificate = "malformed_certificate" => UNPROCESSABLE_ENTITY,
    DigestMismatch = "digest_mismatch" => UNPROCESSABLE_ENTITY,
    BadSignature = "bad_signature" => UNPROCESSABLE_ENTITY,
    UntrustedCertificate = "untrusted_certificate" => UNPROCESSABLE_ENTITY,
    CertificateExpired = "certificate_expired" => UNPROCESSABLE_ENTITY,
    CertificateNotYetValid = "certificate_not_yet_valid" => UNPROCESSABLE_ENTITY,
    CertificateRevoked = "certificate_revoked" => UNPROCESSABLE_ENTITY,
    WrongKeyUsage = "wrong_key_usage" => UNPROCESSABLE_ENTITY,
    CertificateWithoutIin = "certificate_without_iin" => UNPROCESSABLE_ENTITY,
    CertificateOfAnotherPerson = "certificate_of_another_person" => UNPROCESSABLE_ENTITY,
    CertificateOfAnotherOrganisation = "certificate_of_another_organisation" => UNPROCESSABLE_ENTITY,
    CertificatePolicyNotAccepted = "certificate_policy_not_accepted" => UNPROCESSABLE_ENTITY,
    UnsupportedAlgorithm = "unsupported_algorithm" => UNPROCESSABLE_ENTITY,
    SigningTimeInFuture = "signing_time_in_future" => UNPROCESSABLE_ENTITY,
    MalformedKey = "malformed_key" => UNPROCESSABLE_ENTITY,
    KeyCertificateMismatch = "key_certificate_mismatch" => UNPROCESSABLE_ENTITY,
    WrongPin = "wrong_pin" => UNPROCESSABLE_ENTITY,
    WeakPin = "weak_pin" => UNPROCESSABLE_ENTITY,
    MalformedSealedKey = "malformed_sealed_key" => UNPROCESSABLE_ENTITY,
    InvalidTrustStore = "invalid_trust_store" => UNPROCESSABLE_ENTITY,
    InvalidRevocationList = "invalid_revocation_list" => UNPROCESSABLE_ENTITY,
    InvalidDocument = "invalid_document" => UNPROCESSABLE_ENTITY,
    ApprovalDocumentStale = "approval_document_stale" => UNPROCESSABLE_ENTITY,
    SubmissionDocumentStale = "submission_document_stale" => UNPROCESSABLE_ENTITY,
    ApprovalMissing = "approval_missing" => UNPROCESSABLE_ENTITY,
    DataMissing = "data_missing" => UNPROCESSABLE_ENTITY,
    DocumentMismatch = "document_mismatch" => UNPROCESSABLE_ENTITY,
    SignerNotOfficerOfRegion = "signer_not_officer_of_region" => UNPROCESSABLE_ENTITY,
    SignerNotThisOfficer = "signer_not_this_officer" => UNPROCESSABLE_ENTITY,
    NoRemoteSigningKey = "no_remote_signing_key" => CONFLICT,
    RevocationStatusUnknown = "revocation_status_unknown" => SERVICE_UNAVAILABLE,
    InvalidTimeStamp = "invalid_time_stamp" => UNPROCESSABLE_ENTITY,
    PinSigningOff = "pin_signing_off" => CONFLICT,

    // Payments and the gateway's callbacks.
    CallbackSignatureInvalid = "callback_signature_invalid" => UNAUTHORIZED,
    BadCallback = "bad_callback" => BAD_REQUEST,
    UnknownPayment = "unknown_payment" => BAD_REQUEST,
    AmountMismatch = "amount_mismatch" => BAD_REQUEST,

    // Administration.
    InvalidStaff = "invalid_staff" => UNPROCESSABLE_ENTITY,
    UsernameTaken = "username_taken" => CONFLICT,
    BadDate = "bad_date" => UNPROCESSABLE_ENTITY,
    ActivationInPast = "activation_in_past" => UNPROCESSABLE_ENTITY,
    ActivationTooFarAhead = "activation_too_far_ahead" => UNPROCESSABLE_ENTITY,
    ActivationAfterPeriod = "activation_after_period" => UNPROCESSABLE_ENTITY,
    InvalidDate = "invalid_date" => UNPROCESSABLE_ENTITY,
    DateOutOfRange = "date_out_of_range" => UNPROCESSABLE_ENTITY,
    InvalidPeriod = "invalid_period" => UNPROCESSABLE_ENTITY,
    PeriodTooLong = "period_too_long" => UNPROCESSABLE_ENTITY,
    AlreadyDelivered = "already_delivered" => CONFLICT,
    RefundNotPending = "refund_not_pending" => CONFLICT,
    /// A record that must be unique already exists (the store says which, in `reason`).
    Duplicate = "duplicate" => CONFLICT,
    DuplicateIdempotencyKey = "duplicate_idempotency_key" => CONFLICT,
    DuplicateTicket = "duplicate_ticket" => CONFLICT,

    // The service's own trouble.
    InternalError = "internal_error" => INTERNAL_SERVER_ERROR,
    StoreUnavailable = "store_unavailable" => SERVICE_UNAVAILABLE,
    WorkersNotRunning = "workers_not_running" => SERVICE_UNAVAILABLE,
    RulesUnavailable = "rules_unavailable" => SERVICE_UNAVAILABLE,
    TicketUnavailable = "ticket_unavailable" => SERVICE_UNAVAILABLE,
    EntropyUnavailable = "entropy_unavailable" => SERVICE_UNAVAILABLE,
    ImageChecksUnavailable = "image_checks_unavailable" => SERVICE_UNAVAILABLE,
    GatewayUnavailable = "gateway_unavailable" => SERVICE_UNAVAILABLE,
    NoTrustAnchors = "no_trust_anchors" => SERVICE_UNAVAILABLE,
    BadMrpTable = "bad_mrp_table" => SERVICE_UNAVAILABLE,
    NoMrpForYear = "no_mrp_for_year" => SERVICE_UNAVAILABLE,
    NoDutyForKind = "no_duty_for_kind" => SERVICE_UNAVAILABLE,
}

impl ErrorCode {
    /// The code named `code`, for codes another crate names as text (the trust chain's).
    pub fn named(code: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == code)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
