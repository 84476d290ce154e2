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
error-unknown_state = This state cannot be listed here.
error-state_not_in_queue = This state cannot be listed here.
error-unknown_annulment_reason = Choose a reason: the photo does not comply, the signature does not comply, or additional verification is required.
error-invalid_staff = The staff account's details are not valid.

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
