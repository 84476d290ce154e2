# kuelik messages in English. Message ids are the same in all three languages.

## The article's message (R6), in translation.
psc-only = Not available online, please visit a Public Service Centre (PSC)

## Eligibility for online renewal
eligibility-eligible = You can apply online
eligibility-eligible-detail = Your document is valid through { $last_valid_day }. You can apply online through { $last_eligible_date }.
eligibility-too-early = It is too early to apply online
eligibility-too-early-detail = Your document is valid through { $last_valid_day }. You can apply online no earlier than { $days_before } days before it expires: from { $first_eligible_date }.
eligibility-reason-not-served-detail = Only a document whose validity is ending or has just ended can be replaced online. For a change of name, a lost or damaged document or any other reason, please visit a Public Service Centre.
eligibility-document-not-served-detail = Under the current rules this kind of document cannot be applied for online.
eligibility-expired-too-long-detail = Your document was valid through { $last_valid_day }. It can be replaced online no later than { $days_after } calendar days after it expires.
eligibility-window-after-service-end-detail = You could apply online from { $first_eligible_date }, but the online service runs only through { $service_end }.
eligibility-service-not-active = The online service is not active now
eligibility-service-not-active-ended-detail = The online service ran from { $service_start } through { $service_end }. Please visit a Public Service Centre.
eligibility-service-not-active-before-detail = The online service starts on { $service_start }.

## IIN errors
iin-error-wrong_length = An IIN has 12 digits; { $count } characters were entered.
iin-error-not_a_digit = Character { $position } is not a digit.
iin-error-bad_century_digit = The 7th digit of an IIN must be 1 to 6, not { $digit }.
iin-error-bad_birth_date = The first six digits ({ $digits }) are not a birth date.
iin-error-check_digit_mismatch = The check digit does not match: one of the digits is probably mistyped.
iin-error-check_digit_undefined = No such IIN exists: these digits have no valid check digit.

## Ticket number errors
ticket-error-wrong_length = A ticket number has 10 symbols; { $count } were entered.
ticket-error-bad_symbol = Symbol { $position } ("{ $symbol }") is not used in ticket numbers.
ticket-error-check_failed = The ticket number has a typo: check each symbol and their order.

## Document kinds and reasons
document-identity-card = identity card
document-passport = passport
reason-expiring = validity ending
reason-name-change = change of name
reason-loss = loss
reason-damage = damage
reason-other = other reason

## Application states
state-draft = draft
state-submitted = submitted
state-queued = in the queue
state-under_review = under review
state-approved = approved
state-in_production = being made
state-dispatched = on its way to the registration point
state-ready_for_pickup = ready for collection
state-issued = issued
state-annulled = annulled
state-withdrawn = withdrawn

## Annulment reasons (R12)
annulment-photo_non_compliant = The photo does not meet the requirements
annulment-signature_non_compliant = The signature does not meet the requirements
annulment-additional_verification_required = Additional verification by the Migration Service is required

## Application life-cycle errors
lifecycle-error-illegal_transition = This is not possible while the application is "{ $state }".
lifecycle-error-wrong_role = Your role does not allow this action.
lifecycle-error-not_the_applicant = Only the document holder can act on this application.
lifecycle-error-other_region = The application belongs to another region.
lifecycle-error-not_the_reviewer = Only the officer who took the application can do this.
lifecycle-error-wrong_registration_point = The document is collected at another registration point.
lifecycle-error-point_outside_region = Choose a registration point in your region.
lifecycle-error-application_incomplete = Not everything is ready yet: { $parts }.
task-todo-registration_point = choose the registration point where you will collect the document
task-todo-photo = upload a photo that meets the requirements
task-todo-signature = upload a signature that meets the requirements
task-todo-payment = pay the state duty
lifecycle-error-already_paid = The state duty for this application is already paid.
lifecycle-error-ticket_mismatch = The ticket number does not match the application.
lifecycle-error-bad_document_number = The new document's number is not in its format (identity card: 9 digits; passport: N and 8 digits).
lifecycle-error-no_refund_pending = No refund is pending for this application.
lifecycle-error-register_document_mismatch = The population register does not show the card this application replaces. Check the register record before handing the document over.
lifecycle-error-review_not_abandoned = The review has not been left long enough to be released.
lifecycle-error-not_eligible = You cannot renew your document online today.
lifecycle-error-calendar_not_covered = The due date cannot be computed: the working-day calendar has no data for that year yet. An administrator must add it.

## The person's documents after issuance
document-status-valid = valid
document-status-replaced = invalid: replaced by a new document
document-status-reported_lost = invalid: reported lost
document-status-expired = invalid: expired
document-validity-unknown = No document of this kind with this number is known. Check the kind and the number.
old-card-surrendered = the old card was handed in and destroyed
old-card-not_presented = the old card was not presented
notice-handed-over = Your new { $kind } № { $number } has been handed over. The { $kind } № { $old } is no longer valid from { $at } ({ $old_card }).
