//! The API's routes and its OpenAPI 3.1 document, generated from the handlers' annotations
//! (so the document cannot drift from the code; a snapshot test catches unintended changes).

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::{
    audit, citizen, contact, documents, payments, reference, reports, rule_sets, staff, stuck,
};
use crate::auth;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "kuelik",
        description = "Online renewal of Kazakhstan's identity documents: citizens, УМС officers, the production centre, registration points and administrators. Errors are RFC 9457 problem+json with a stable `code` and a `detail` in the language of `Accept-Language` (kk, ru, en).",
        license(name = "MIT OR Apache-2.0")
    ),
    servers((url = "/api/v1")),
    components(schemas(Problem)),
    modifiers(&Security),
    tags(
        (name = "sign-in"), (name = "citizen"), (name = "officer"), (name = "production"),
        (name = "registration point"), (name = "admin"), (name = "payments"), (name = "reference"),
        (name = "public", description = "Anonymous: the document-validity check")
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(auth::SESSION_COOKIE))),
        );
    }
}

/// An error answer: RFC 9457 problem+json. `code` is stable; `detail` is in the language of
/// `Accept-Language`; some codes add members (`reason`: the technical reason; `field`: the
/// field at fault; `eligibility`: the decision).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // a schema only: answers are built by `ApiError`
pub struct Problem {
    #[schema(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    #[schema(pattern = "^[a-z][a-z0-9_]*$")]
    code: String,
    detail: String,
    reason: Option<String>,
    field: Option<String>,
}

/// Tags of operations anyone may call (no session).
const PUBLIC_TAGS: [&str; 4] = ["sign-in", "reference", "public", "payments"];

/// The document as a contract a generated client can trust: every operation answers its
/// errors as problem+json (the `default` response), and every operation that needs a
/// session says so (`bearer` for apps, the session `cookie` for browsers) and lists 401.
pub fn contract(mut openapi: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder, SecurityRequirement};
    let problem = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                crate::error::PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build()
    };
    for (path, item) in openapi.paths.paths.iter_mut() {
        let names_a_record = path.contains('{');
        let changes_an_application = path.starts_with("/applications/")
            || path.starts_with("/officer/applications/")
            || path.starts_with("/production/applications/")
            || path.starts_with("/point/");
        for (op, writes) in [
            (&mut item.get, false),
            (&mut item.post, true),
            (&mut item.put, true),
            (&mut item.delete, true),
            (&mut item.patch, true),
        ]
        .into_iter()
        .filter_map(|(op, writes)| op.as_mut().map(|op| (op, writes)))
        {
            let public = op
                .tags
                .iter()
                .flatten()
                .any(|t| PUBLIC_TAGS.contains(&t.as_str()));
            if !public {
                op.security.get_or_insert_with(|| {
                    vec![
                        SecurityRequirement::new("bearer", Vec::<String>::new()),
                        SecurityRequirement::new("cookie", Vec::<String>::new()),
                    ]
                });
                op.responses
                    .responses
                    .entry("401".into())
                    .or_insert_with(|| problem("not signed in, or the session expired").into());
                op.responses
                    .responses
                    .entry("403".into())
                    .or_insert_with(|| problem("the role or scope does not allow this").into());
            }
            // The statuses every operation of its kind can answer, beside those it lists.
            let responses = &mut op.responses.responses;
            let mut may_answer = |status: &str, description: &str| {
                responses
                    .entry(status.into())
                    .or_insert_with(|| problem(description).into());
            };
            if names_a_record {
                may_answer("404", "no such record, or not yours (`not_found`)");
            }
            if writes && changes_an_application {
                may_answer(
                    "409",
                    "not possible in the application's state, or it changed just now",
                );
            }
            if op.request_body.is_some() {
                may_answer(
                    "400",
                    "the body cannot be read (`malformed_json`, `bad_upload`)",
                );
                may_answer("413", "the body is too large (`body_too_large`)");
                may_answer("415", "the body is not of the content type described");
                may_answer("422", "the body does not match the schema (`invalid_body`), or a field is refused (its code)");
            }
            may_answer(
                "503",
                "the service is temporarily unavailable (`store_unavailable`)",
            );
            // Every error status the handlers list is answered as problem+json.
            for (status, response) in op.responses.responses.iter_mut() {
                if let (true, utoipa::openapi::RefOr::T(response)) =
                    (status.starts_with('4') || status.starts_with('5'), response)
                {
                    if response.content.is_empty() {
                        response.content.insert(
                            crate::error::PROBLEM_JSON.into(),
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("Problem")))
                                .build(),
                        );
                    }
                }
            }
            op.responses
                .responses
                .entry("default".into())
                .or_insert_with(|| {
                    problem("any other error: problem+json with a stable code").into()
                });
        }
    }
    // A generated client can switch on `code`: its values are the enum's, all of them.
    if let Some(utoipa::openapi::RefOr::T(utoipa::openapi::Schema::Object(problem))) = openapi
        .components
        .as_mut()
        .and_then(|c| c.schemas.get_mut("Problem"))
    {
        if let Some(utoipa::openapi::RefOr::T(utoipa::openapi::Schema::Object(code))) =
            problem.properties.get_mut("code")
        {
            code.enum_values = Some(
                crate::error::ErrorCode::ALL
                    .iter()
                    .map(|c| serde_json::Value::from(c.as_str()))
                    .collect(),
            );
        }
    }
    openapi
}

/// Every `/api/v1` route, with its OpenAPI description.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::request_otp))
        .routes(routes!(auth::citizen_sign_in, auth::sign_out))
        .routes(routes!(auth::staff_sign_in))
        .routes(routes!(citizen::me))
        .routes(routes!(citizen::my_eligibility))
        .routes(routes!(citizen::get_reminders, citizen::set_reminders))
        .routes(routes!(contact::get_contact, contact::set_contact))
        .routes(routes!(
            citizen::create_application,
            citizen::list_applications
        ))
        .routes(routes!(citizen::get_application))
        .routes(routes!(citizen::choose_point))
        .routes(routes!(citizen::upload_photo, citizen::get_photo))
        .routes(routes!(citizen::upload_signature, citizen::get_signature))
        .routes(routes!(citizen::start_payment))
        .routes(routes!(citizen::submission_code))
        .routes(routes!(citizen::submit))
        .routes(routes!(citizen::submission_document))
        .routes(routes!(citizen::submit_signed))
        .routes(routes!(citizen::withdraw))
        .routes(routes!(citizen::notifications))
        .routes(routes!(citizen::read_notification))
        .routes(routes!(payments::callback))
        .routes(routes!(staff::officer_queue))
        .routes(routes!(staff::officer_application))
        .routes(routes!(staff::register_photo))
        .routes(routes!(staff::take))
        .routes(routes!(staff::release))
        .routes(routes!(staff::approval_document))
        .routes(routes!(staff::approve))
        .routes(routes!(staff::annul))
        .routes(routes!(staff::production_queue))
        .routes(routes!(staff::accept))
        .routes(routes!(staff::signature_checks))
        .routes(routes!(staff::dispatch))
        .routes(routes!(staff::point_queue))
        .routes(routes!(staff::receive))
        .routes(routes!(staff::ticket_lookup))
        .routes(routes!(staff::hand_over))
        .routes(routes!(staff::list_staff, staff::add_staff))
        .routes(routes!(audit::audit_log))
        .routes(routes!(stuck::stuck_work))
        .routes(routes!(stuck::retry_outbox))
        .routes(routes!(stuck::retry_refund))
        .routes(routes!(reports::report))
        .routes(routes!(reference::registration_points))
        .routes(routes!(reference::rules))
        .routes(routes!(rule_sets::rule_sets))
        .routes(routes!(rule_sets::activate))
        .routes(routes!(reference::image_profile))
        .routes(routes!(reference::check_eligibility))
        .routes(routes!(documents::validity))
}
