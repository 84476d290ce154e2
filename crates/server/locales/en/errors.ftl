# The detail of API errors whose technical reason is not for the person reading the page:
# `error-<code>`. The technical reason, when there is one, is in the problem's `reason`.

## The request
error-malformed_json = The request body is not valid JSON.
error-invalid_body = The request body does not match the schema: check the fields and their types.
error-unsupported_media_type = The request body is not in the expected format (JSON, or multipart/form-data for images).
error-body_too_large = The request body is too large.
error-bad_body = The request body cannot be read.
error-bad_query = The query parameters are not valid.
error-bad_idempotency_key = The Idempotency-Key header must be 1 to 200 visible characters.
error-bad_upload = The upload could not be read: send the image again.
error-bad_date = Enter the date as YYYY-MM-DD.
error-bad_region = Choose a region by its code.
error-unknown_reason = Choose a reason: expiring, name-change, loss, damage or other.
error-unknown_state = This status cannot be listed here.
error-state_not_in_queue = This status cannot be listed here.
error-unknown_annulment_reason = Choose a reason: the photo does not comply, the signature does not comply, or additional verification is required.
error-invalid_staff = The staff account's details are not valid.
error-invalid_staff-username = The username may have 1–64 Latin letters, digits, '.', '_' or '-'.
error-invalid_staff-password_too_short = The password must have at least 12 characters.
error-invalid_staff-unknown_role = Choose a role: officer, production operator, registration point operator or administrator.
error-invalid_staff-unknown_region = Choose a region from the list.
error-invalid_staff-unknown_point = Choose a registration point from the list.
error-invalid_staff-iin = An IIN has 12 digits and a valid check digit; leave it empty if the person signs only with a bound certificate.
error-invalid_staff-officer_without_region = An officer works for one region: choose it.
error-invalid_staff-point_operator_without_point = A registration point operator works at one point: choose it.
error-invalid_staff-region_for_another_role = Only an officer has a region: leave the region empty for this role.
error-invalid_staff-point_for_another_role = Only a registration point operator has a point: leave the point empty for this role.
error-invalid_staff-not_a_staff_role = This role is not a staff role.

## The service
error-internal_error = Something went wrong on our side. Nothing was changed; please try again.
error-workers_not_running = The service's background work is not running.
error-rules_unavailable = No rules are in force today: the online service is not active.
error-ticket_unavailable = A ticket number could not be drawn. Please try again.
error-entropy_unavailable = Something went wrong on our side. Nothing was changed; please try again.
error-image_checks_unavailable = The photo and signature check is not available right now. Please try again.
error-gateway_unavailable = The payment service is not available right now. Please try again later.

## Signatures (the trust chain)
error-malformed_signature = The signature cannot be read.
error-malformed_certificate = The certificate cannot be read.
error-digest_mismatch = The signed data differs from the application's current data.
error-bad_signature = The signature does not verify.
error-untrusted_certificate = The certificate is not issued by a trusted certification authority.
error-certificate_expired = The certificate has expired.
error-certificate_not_yet_valid = The certificate is not valid yet.
error-certificate_revoked = The certificate has been revoked.
error-wrong_key_usage = This certificate may not sign documents.
error-certificate_without_iin = This certificate does not name a person by IIN: sign with your certificate from the National Certification Authority.
error-certificate_of_another_person = This certificate belongs to another person: sign with a certificate issued to your IIN.
error-certificate_of_another_organisation = This certificate is not your Migration Service's: sign with the certificate issued for your organisation.
error-certificate_policy_not_accepted = This certificate's policy is not accepted for signing here.
error-unsupported_algorithm = The signature's algorithm is not supported.
error-signing_time_in_future = The signing time is in the future.
error-malformed_key = The signing key cannot be used.
error-key_certificate_mismatch = The signing key does not belong to the certificate.
error-wrong_pin = Wrong PIN.
error-weak_pin = The PIN is too short.
error-malformed_sealed_key = The stored signing key cannot be read: ask an administrator to bind the certificate again.
error-invalid_trust_store = The trusted certificates are not configured correctly: ask an administrator.
error-invalid_revocation_list = The revocation list cannot be used: ask an administrator.
error-invalid_document = The document to sign is not valid.
error-approval_missing = No approval signature is recorded for this application.
error-data_missing = The application's data needed for the signed document is missing.
error-document_mismatch = The signed document is not the one the application's current data gives: fetch it again and sign.
error-no_trust_anchors = No trusted certificates are configured: nothing can be approved. Ask an administrator.
error-signer_not_officer_of_region = The signer is not an officer of the application's region.
error-signer_not_this_officer = The signature is not made with your bound certificate.

## Refusals the API states in words of its own
error-approval_document_stale = The document to sign is out of date: fetch it again and sign it.
error-submission_document_stale = The document to sign is out of date: fetch it again and sign it.
error-no_remote_signing_key = No remote signing key is registered for you.
error-pin_signing_off = Signing with a PIN is switched off: sign with your ЭЦП through NCALayer.
error-revocation_status_unknown = The certificate's revocation status cannot be checked now (the OCSP service does not answer). Try again in a few minutes.
error-invalid_time_stamp = The time-stamp in the signature is not valid: sign again.
error-staff_scope_invalid = Your account lacks the scope its role needs (a region or a registration point). Ask an administrator.
error-cross_site_request = The request came from another site and was refused.
error-too_many_codes = Too many codes requested. Try again in 15 minutes.
error-wrong_code = The code is not right. { $left ->
    [one] One more try is left.
   *[other] { $left } more tries are left.
}
error-wrong_credentials = Wrong username or password.
error-holder_not_in_register = The population register has no record of the holder: the document cannot be handed over.
error-invalid_date = Write the date as YYYY-MM-DD.
error-invalid_period = The period starts after it ends.
error-period_too_long = The period cannot be longer than 366 days.
error-already_delivered = The message has been delivered; there is nothing to retry.
error-refund_not_pending = No refund is pending for this payment.
error-bad_phone = Enter the phone number as +7XXXXXXXXXX (for example +7 701 123 45 67).
error-bad_language = Choose a language: Kazakh, Russian or English.
error-idempotency_key_reused = This Idempotency-Key was used for a different request.
error-not_in_register = The population register has no record of you. Please visit a Public Service Centre.
error-unknown_registration_point = There is no such registration point.
error-upload_too_large = The file is too large.
error-unsupported_image = Only JPEG or PNG images are accepted.
error-too_many_checks = Too many checks. Please try again a little later.
error-activation_in_past = Rules cannot be brought in from a past date: decisions already made were made under the rules of their day. Choose today or a later date.
error-activation_too_far_ahead = Rules cannot be brought in from a date more than two years ahead.
error-signature_required = Approval needs a signature: send the document and its CMS signature, or your PIN.
error-ticket_not_at_this_point = No document for this ticket waits at this registration point.
error-unknown_old_card = Record what became of the old card: surrendered or not_presented.

## Who is asking, and the store
error-not_found = The requested record was not found.
error-unauthorized = Please sign in.
error-forbidden = You are not allowed to do this.
error-conflict = The application changed just now. Reload and try again.
error-live_application_exists = You already have an application in progress: you can apply again once it is finished.
error-username_taken = This username is taken.
error-store_unavailable = The service is temporarily unavailable. Please try again later.
error-duplicate = This record already exists.
error-duplicate_idempotency_key = This request is already being processed.
error-duplicate_ticket = A ticket number could not be drawn. Please try again.

## An upload the checks cannot read
error-empty_file = The file is empty. Choose the image again and upload it.
error-file_too_large = The file is too large. Save the image smaller (for example a 600×800 pixel JPEG) and upload it again.
error-unsupported_format = Only JPEG or PNG images are accepted. Save the image as JPEG and upload it again.
error-image_too_small = The image is too small. Upload the original image without shrinking it.
error-image_too_large = The image dimensions are too large. Resize it (for example to 600×800 pixels) and upload it again.
error-truncated_image = The file is incomplete. Save the image again and upload it again.
error-corrupt_image = The file is damaged and cannot be read as an image. Save the image again and upload it again.
error-memory_limit_exceeded = The image cannot be processed because it is too large. Upload a smaller image.

## Fields
error-comment_required = Write a comment for the citizen (up to 1000 characters).
error-activation_after_period = This rule set ends on { $until }: it cannot be brought in from a later date.
error-unknown_document_kind = Choose the kind of document: identity card (identity-card) or passport (passport).
error-bad_document_number = The number is not in the document's format: identity card — 9 digits; passport — N and 8 digits.
error-method_not_allowed = This address does not accept this method.

## Administration and the gateway
error-date_out_of_range = The date must be between { $earliest } and { $latest }.
error-callback_signature_invalid = The payment gateway's callback signature does not verify.
error-bad_callback = The payment gateway's callback cannot be read.
error-unknown_payment = There is no such payment.
error-amount_mismatch = The callback's amount differs from the payment's.
error-bad_mrp_table = The monthly calculation index (MCI) table is not valid: the state duty cannot be computed. An administrator must correct it.
error-no_mrp_for_year = The monthly calculation index (MCI) for this year is not known: the state duty cannot be computed. An administrator must add it.
error-no_duty_for_kind = The rules in force set no state duty for this document. An administrator must correct them.
error-code_expired = This code has expired or was already used. Ask for a new code.
error-code_locked = This code was entered wrongly too many times. Ask for a new code.
