//! The sticky merge-request note against a GitLab fake (wiremock on
//! 127.0.0.1) that serves REST v4's documented shapes: notes paged with
//! `X-Next-Page` and `Link`, `PUT` to edit, `POST` to create, the token in
//! `PRIVATE-TOKEN`, and GitLab's error bodies. Also where `detect` finds a
//! merge request.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

#[path = "fakes/forge.rs"]
mod forge;
#[path = "fakes/gitlab.rs"]
mod gitlab_fake;

use forge::{Echo, body, cid, echo, options, recording, requests};
use gitlab_fake::{Fake, IID, TOKEN, fixture};
use image_budget::publish::{
    CommentMode, Error, Forge, GitLabTarget, Options, Posted, Token, detect, marker, upsert_with,
};
use serde_json::{Value, json};
use wiremock::matchers::{any, method};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn target(server: &MockServer, project_id: &str) -> Forge {
    Forge::GitLab(GitLabTarget {
        api_url: format!("{}/api/v4", server.uri()),
        project_id: project_id.into(),
        mr_iid: IID,
        token: Token::new(TOKEN),
    })
}

/// GitLab's error bodies, their message repeating the PRIVATE-TOKEN header.
impl Respond for Echo {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.answer(request, fixture, "private-token", "token")
    }
}

fn assert_no_token(error: &Error) {
    forge::assert_no_token(error, TOKEN, "Xq7vR2");
}

fn many(count: usize, marked_at: usize) -> Vec<(String, bool)> {
    (0..count)
        .map(|i| {
            if i == marked_at {
                (body("old report"), false)
            } else {
                (format!("note {i}"), i % 7 == 0)
            }
        })
        .collect()
}

#[tokio::test]
async fn updates_the_marked_note_found_on_page_three() {
    let (server, fake) = Fake::start("42", true).await;
    fake.seed(&many(250, 230));
    let marked_id = fake.bodies()[230].0;

    let posted = upsert_with(
        &target(&server, "42"),
        &cid("default"),
        &body("new report"),
        &options(),
    )
    .await
    .unwrap();

    assert_eq!(posted, Posted::Updated { url: None });
    let after = fake.bodies();
    assert_eq!(after.len(), 250);
    assert_eq!(after[230], (marked_id, body("new report")));
    let gets = requests(&server, "GET").await;
    assert_eq!(gets.len(), 3, "three pages listed");
    let first: HashMap<String, String> = gets[0].url.query_pairs().into_owned().collect();
    assert_eq!(first["per_page"], "100");
    assert_eq!(first["sort"], "asc");
    let third: HashMap<String, String> = gets[2].url.query_pairs().into_owned().collect();
    assert_eq!(third["page"], "3");
    for request in server.received_requests().await.unwrap() {
        assert_eq!(request.headers["private-token"], TOKEN);
        assert!(request.headers.get("authorization").is_none());
    }
    let puts = requests(&server, "PUT").await;
    assert_eq!(puts.len(), 1);
    assert_eq!(
        puts[0].url.path(),
        format!("/api/v4/projects/42/merge_requests/{IID}/notes/{marked_id}")
    );
    assert_eq!(puts[0].headers["content-type"], "application/json");
    assert!(requests(&server, "POST").await.is_empty(), "never created");
}

#[tokio::test]
async fn follows_link_headers_when_x_next_page_is_absent() {
    let (server, fake) = Fake::start("42", false).await;
    fake.seed(&many(250, 240));

    let posted = upsert_with(
        &target(&server, "42"),
        &cid("default"),
        &body("new"),
        &options(),
    )
    .await
    .unwrap();

    assert_eq!(posted, Posted::Updated { url: None });
    assert_eq!(fake.bodies()[240].1, body("new"));
    assert_eq!(requests(&server, "GET").await.len(), 3);
}

#[tokio::test]
async fn creates_a_note_when_none_has_the_marker() {
    let (server, fake) = Fake::start("42", true).await;
    fake.seed(&[
        ("LGTM".into(), false),
        (format!("{}\nanother config", marker(&cid("other"))), false),
        // A system note is GitLab's own, even if it quoted the marker.
        (body("quoted in a system note"), true),
    ]);

    let posted = upsert_with(
        &target(&server, "42"),
        &cid("default"),
        &body("report"),
        &options(),
    )
    .await
    .unwrap();

    assert_eq!(posted, Posted::Created { url: None });
    let after = fake.bodies();
    assert_eq!(after.len(), 4);
    assert_eq!(after[3].1, body("report"));
    assert_eq!(
        after[2].1,
        body("quoted in a system note"),
        "system note untouched"
    );
    let posts = requests(&server, "POST").await;
    assert_eq!(posts.len(), 1);
    let sent: Value = serde_json::from_slice(&posts[0].body).unwrap();
    assert_eq!(sent, json!({ "body": body("report") }));
}

#[tokio::test]
async fn two_upserts_leave_exactly_one_note_with_the_second_body() {
    let (server, fake) = Fake::start("42", true).await;
    let forge = target(&server, "42");

    let first = upsert_with(&forge, &cid("default"), &body("first"), &options())
        .await
        .unwrap();
    let second = upsert_with(&forge, &cid("default"), &body("second"), &options())
        .await
        .unwrap();

    assert_eq!(first, Posted::Created { url: None });
    assert_eq!(second, Posted::Updated { url: None });
    let after = fake.bodies();
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0].1, body("second"));
}

#[tokio::test]
async fn a_project_path_is_one_encoded_segment() {
    let (server, fake) = Fake::start("acme%2Fplatform%2Fapi", true).await;
    let forge = target(&server, "acme/platform/api");

    upsert_with(&forge, &cid("default"), &body("first"), &options())
        .await
        .unwrap();
    upsert_with(&forge, &cid("default"), &body("second"), &options())
        .await
        .unwrap();

    assert_eq!(fake.bodies().len(), 1);
    let all = server.received_requests().await.unwrap();
    for request in all.iter().filter(|r| r.url.path() != "/api/v4/user") {
        assert!(
            request
                .url
                .path()
                .starts_with("/api/v4/projects/acme%2Fplatform%2Fapi/merge_requests/5/notes"),
            "{}",
            request.url
        );
    }
}

// --- errors -------------------------------------------------------------

async fn failing(verb: &str, responder: Echo) -> (MockServer, Arc<Fake>) {
    forge::failing(Fake::start("42", true).await, verb, responder).await
}

async fn upsert_err(server: &MockServer) -> Error {
    forge::upsert_err(&target(server, "42"), assert_no_token).await
}

#[tokio::test]
async fn unauthorized_401_says_the_token_is_wrong() {
    let (server, _) = failing("GET", echo(401, "error_401.json")).await;
    let error = upsert_err(&server).await;
    assert!(matches!(error, Error::Unauthorized { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("401 Unauthorized"), "{text}");
    assert!(text.contains("GITLAB_TOKEN"), "{text}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn forbidden_403_on_create_is_read_only() {
    let (server, _) = failing("POST", echo(403, "error_403.json")).await;
    let error = upsert_err(&server).await;
    assert!(error.is_read_only(), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("merge request"), "{text}");
    assert!(text.contains("Reporter"), "{text}");
    assert_eq!(requests(&server, "POST").await.len(), 1, "not retried");
}

#[tokio::test]
async fn not_found_404_on_update_is_read_only_but_on_listing_is_not() {
    let (server, fake) = failing("PUT", echo(404, "error_404.json")).await;
    fake.seed(&[(body("old"), false)]);
    let error = upsert_err(&server).await;
    assert!(error.is_read_only(), "{error:?}");

    let (server, _) = failing("GET", echo(404, "error_404_project.json")).await;
    let error = upsert_err(&server).await;
    assert!(
        matches!(error, Error::NotVisible { status: 404, .. }),
        "{error:?}"
    );
    assert!(!error.is_read_only());
    let text = error.to_string();
    assert!(text.contains("404 Project Not Found"), "{text}");
    assert!(text.contains("CI_PROJECT_ID"), "{text}");
}

#[tokio::test]
async fn a_note_gitlab_will_not_take_is_unprocessable() {
    let (server, _) = failing("POST", echo(400, "error_400_too_long.json")).await;
    let error = upsert_err(&server).await;
    assert!(
        matches!(error, Error::Unprocessable { status: 400, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("is too long"), "{error}");

    let (server, _) = failing("POST", echo(422, "error_400_too_long.json")).await;
    let error = upsert_err(&server).await;
    assert!(
        matches!(error, Error::Unprocessable { status: 422, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn rate_limited_429_waits_retry_after_then_succeeds() {
    let (server, fake) = Fake::start("42", true).await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .insert_header("ratelimit-remaining", "0")
                .set_body_string("Retry later\n"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;

    let (options, waits) = recording();
    let posted = upsert_with(
        &target(&server, "42"),
        &cid("default"),
        &body("report"),
        &options,
    )
    .await
    .unwrap();

    assert_eq!(posted, Posted::Created { url: None });
    assert_eq!(
        *waits.lock().unwrap(),
        [Duration::from_secs(1)],
        "Retry-After honoured"
    );
    assert_eq!(fake.bodies().len(), 1);
}

#[tokio::test]
async fn rate_limited_429_with_a_long_retry_after_fails_at_once() {
    let (server, _) = failing(
        "GET",
        Echo {
            status: 429,
            fixture: "error_500.json",
            headers: vec![("retry-after", "600".into())],
        },
    )
    .await;
    let error = upsert_err(&server).await;
    assert!(
        matches!(error, Error::RateLimited { attempts: 1, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn server_500_every_time_fails_after_bounded_retries() {
    let (server, _) = failing("GET", echo(500, "error_500.json")).await;
    let error = upsert_err(&server).await;
    assert!(
        matches!(
            error,
            Error::Server {
                status: 500,
                attempts: 4,
                ..
            }
        ),
        "{error:?}"
    );
    // The first request (whose token) is tried 4 times, then nothing more.
    let gets = server.received_requests().await.unwrap();
    assert_eq!(gets.len(), 4);
    assert!(gets.iter().all(|r| r.url.path() == "/api/v4/user"));
}

#[tokio::test]
async fn a_slow_answer_times_out() {
    let (server, _) = Fake::start("42", true).await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([]))
                .set_delay(Duration::from_secs(10)),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    let quick = Options {
        timeout: Duration::from_millis(300),
        ..options()
    };
    let error = upsert_with(&target(&server, "42"), &cid("default"), &body("r"), &quick)
        .await
        .unwrap_err();
    assert_no_token(&error);
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let forge = Forge::GitLab(GitLabTarget {
        api_url: format!("http://127.0.0.1:{port}/api/v4"),
        project_id: "42".into(),
        mr_iid: IID,
        token: Token::new(TOKEN),
    });
    let error = upsert_with(&forge, &cid("default"), &body("r"), &options())
        .await
        .unwrap_err();
    assert_no_token(&error);
    assert!(matches!(error, Error::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().contains("CI_API_V4_URL"), "{error}");
}

#[tokio::test]
async fn a_redirect_is_not_followed_so_the_token_stays_home() {
    let elsewhere = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&elsewhere)
        .await;
    let (server, _) = Fake::start("42", true).await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/stolen", elsewhere.uri()).as_str()),
        )
        .with_priority(1)
        .mount(&server)
        .await;

    let error = upsert_err(&server).await;

    assert!(
        matches!(error, Error::Unexpected { status: 302, .. }),
        "{error:?}"
    );
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

#[test]
fn the_token_never_shows_in_a_target() {
    let forge = Forge::GitLab(GitLabTarget {
        api_url: "https://gitlab.example.com/api/v4".into(),
        project_id: "42".into(),
        mr_iid: IID,
        token: Token::new(TOKEN),
    });
    let shown = format!("{forge:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
}

// --- detect -------------------------------------------------------------

fn pipeline(extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut vars: HashMap<String, String> = [
        ("CI", "true"),
        ("GITLAB_CI", "true"),
        ("CI_SERVER_URL", "https://gitlab.example.com"),
        ("CI_API_V4_URL", "https://gitlab.example.com/api/v4"),
        ("CI_PROJECT_ID", "42"),
        ("CI_PROJECT_PATH", "acme/api"),
        ("CI_PIPELINE_SOURCE", "push"),
        ("GITLAB_TOKEN", TOKEN),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        if v.is_empty() {
            vars.remove(*k);
        } else {
            vars.insert(k.to_string(), v.to_string());
        }
    }
    vars
}

fn merge_request_pipeline(extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut all = vec![
        ("CI_PIPELINE_SOURCE", "merge_request_event"),
        ("CI_MERGE_REQUEST_IID", "5"),
        ("CI_MERGE_REQUEST_PROJECT_ID", "42"),
    ];
    all.extend_from_slice(extra);
    pipeline(&all)
}

fn run(vars: &HashMap<String, String>, mode: CommentMode) -> Result<Option<Forge>, Error> {
    let lookup = |name: &str| vars.get(name).cloned();
    detect(mode, &lookup, Some("ghp_not_for_gitlab".into()))
}

fn gitlab(api_url: &str, project_id: &str) -> Option<Forge> {
    Some(Forge::GitLab(GitLabTarget {
        api_url: api_url.into(),
        project_id: project_id.into(),
        mr_iid: IID,
        token: Token::new(TOKEN),
    }))
}

#[test]
fn detect_a_merge_request_pipeline() {
    let vars = merge_request_pipeline(&[]);
    let expected = gitlab("https://gitlab.example.com/api/v4", "42");
    assert_eq!(run(&vars, CommentMode::Auto).unwrap(), expected);
    assert_eq!(run(&vars, CommentMode::GitLab).unwrap(), expected);
    assert_eq!(run(&vars, CommentMode::Off).unwrap(), None);
}

#[test]
fn detect_uses_the_merge_requests_own_project() {
    // A merge request from a fork: the pipeline runs in the fork (7), the
    // merge request lives in the target project (42).
    let vars = merge_request_pipeline(&[("CI_PROJECT_ID", "7")]);
    assert_eq!(
        run(&vars, CommentMode::Auto).unwrap(),
        gitlab("https://gitlab.example.com/api/v4", "42")
    );
    let vars = merge_request_pipeline(&[("CI_MERGE_REQUEST_PROJECT_ID", "")]);
    assert_eq!(
        run(&vars, CommentMode::Auto).unwrap(),
        gitlab("https://gitlab.example.com/api/v4", "42")
    );
}

#[test]
fn detect_falls_back_to_the_server_url() {
    let vars = merge_request_pipeline(&[("CI_API_V4_URL", "")]);
    assert_eq!(
        run(&vars, CommentMode::Auto).unwrap(),
        gitlab("https://gitlab.example.com/api/v4", "42")
    );
    let vars = merge_request_pipeline(&[("CI_API_V4_URL", ""), ("CI_SERVER_URL", "")]);
    let error = run(&vars, CommentMode::Auto).unwrap_err();
    assert!(error.to_string().contains("CI_API_V4_URL"), "{error}");
}

#[test]
fn detect_a_branch_pipeline_has_no_merge_request() {
    let vars = pipeline(&[]);
    assert_eq!(run(&vars, CommentMode::Auto).unwrap(), None);
    let error = run(&vars, CommentMode::GitLab).unwrap_err();
    assert!(matches!(error, Error::Config { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("CI_MERGE_REQUEST_IID"), "{text}");
    assert!(text.contains("merge_request_event"), "{text}");
}

#[test]
fn detect_a_merge_request_pipeline_without_a_token_names_the_variable() {
    let vars = merge_request_pipeline(&[("GITLAB_TOKEN", "")]);
    let error = run(&vars, CommentMode::Auto).unwrap_err();
    assert!(matches!(error, Error::Config { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("GITLAB_TOKEN"), "{text}");
    assert!(text.contains("!5"), "{text}");
    // A branch pipeline without a token is simply not a place to post.
    let vars = pipeline(&[("GITLAB_TOKEN", "")]);
    assert_eq!(run(&vars, CommentMode::Auto).unwrap(), None);
}

#[test]
fn detect_locally_forcing_gitlab_is_an_error() {
    let vars = HashMap::new();
    assert_eq!(run(&vars, CommentMode::Auto).unwrap(), None);
    let error = run(&vars, CommentMode::GitLab).unwrap_err();
    assert!(matches!(error, Error::Config { .. }), "{error:?}");
    assert!(!format!("{error}{error:?}").contains("ghp_not_for_gitlab"));
}

#[test]
fn detect_a_bad_merge_request_number_is_an_error() {
    let vars = merge_request_pipeline(&[("CI_MERGE_REQUEST_IID", "five")]);
    let error = run(&vars, CommentMode::Auto).unwrap_err();
    assert!(error.to_string().contains("five"), "{error}");
}

#[tokio::test]
async fn only_notes_by_the_tokens_user_are_ours() {
    let (server, fake) = Fake::start("42", true).await;
    let forge = target(&server, "42");
    // A stranger's note with our marker, then two of ours (a race left two).
    fake.seed_by(77, "mallory", &[body("✅ forged")]);
    fake.seed(&[(body("ours, older"), false), (body("ours"), false)]);
    let before = fake.authored();

    let posted = upsert_with(&forge, &cid("default"), &body("fresh"), &options())
        .await
        .unwrap();

    assert_eq!(posted, Posted::Updated { url: None });
    let after = fake.authored();
    assert_eq!(
        after,
        [
            before[0].clone(),
            (before[2].0, gitlab_fake::ME_ID, body("fresh"))
        ],
        "the stranger's note untouched, our older duplicate deleted"
    );
    let deletes = requests(&server, "DELETE").await;
    assert_eq!(deletes.len(), 1);
    assert!(
        deletes[0]
            .url
            .path()
            .ends_with(&format!("/notes/{}", before[1].0))
    );

    // Only a stranger's note with the marker: ours is new.
    let (server, fake) = Fake::start("42", true).await;
    fake.seed_by(77, "mallory", &[body("forged")]);
    let posted = upsert_with(
        &target(&server, "42"),
        &cid("default"),
        &body("r"),
        &options(),
    )
    .await
    .unwrap();
    assert_eq!(posted, Posted::Created { url: None });
    assert_eq!(fake.authored()[0].2, body("forged"));
    assert!(requests(&server, "PUT").await.is_empty());
}
