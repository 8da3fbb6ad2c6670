//! The sticky pull-request comment against a GitHub fake (wiremock on
//! 127.0.0.1) that serves the REST API's documented shapes: issue comments
//! paged with `Link` headers, `PATCH` to edit, `POST` to create, and the
//! error bodies GitHub sends. Also where `detect` finds a pull request.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

#[path = "fakes/forge.rs"]
mod forge;
#[path = "fakes/github.rs"]
mod github_fake;

use forge::{Echo, body, cid, echo, options, recording, requests};
use github_fake::{ACTIONS_BOT, Fake, REPO_ID, TOKEN, fixture};
use image_budget::publish::{
    CommentMode, Error, Forge, GitHubTarget, Options, Posted, Token, detect, marker, post,
    pr_number_from_event, upsert_with,
};
use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn target(api_url: String) -> Forge {
    Forge::GitHub(GitHubTarget {
        api_url,
        repository: "acme/api".into(),
        number: 7,
        token: Token::new(TOKEN),
    })
}

/// GitHub's error bodies, their message repeating the Authorization header.
impl Respond for Echo {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.answer(request, fixture, "authorization", "request authorization:")
    }
}

fn assert_no_token(error: &Error) {
    forge::assert_no_token(error, TOKEN, "ghs_16C7");
}

#[tokio::test]
async fn updates_the_marked_comment_found_on_page_three() {
    let (server, fake) = Fake::start("").await;
    let mut bodies: Vec<String> = (0..250).map(|i| format!("comment {i}")).collect();
    bodies[230] = body("old report");
    fake.seed(&bodies);
    let marked_id = fake.bodies()[230].0;

    let posted = upsert_with(
        &target(server.uri()),
        &cid("default"),
        &body("new report"),
        &options(),
    )
    .await
    .unwrap();

    assert_eq!(
        posted,
        Posted::Updated {
            url: Some(format!(
                "https://github.com/acme/api/pull/7#issuecomment-{marked_id}"
            ))
        }
    );
    let after = fake.bodies();
    assert_eq!(after.len(), 250);
    assert_eq!(after[230], (marked_id, body("new report")));
    let gets = requests(&server, "GET").await;
    assert_eq!(gets.len(), 3, "three pages listed");
    assert_eq!(gets[0].url.path(), "/repos/acme/api/issues/7/comments");
    assert_eq!(gets[0].url.query(), Some("per_page=100"));
    assert_eq!(
        gets[2].url.path(),
        format!("/repositories/{REPO_ID}/issues/7/comments")
    );
    assert_eq!(gets[2].url.query(), Some("per_page=100&page=3"));
    for get in &gets {
        assert_eq!(
            get.headers["authorization"],
            format!("Bearer {TOKEN}").as_str()
        );
    }
    assert_eq!(requests(&server, "PATCH").await.len(), 1);
    assert!(requests(&server, "POST").await.is_empty(), "never created");
}

#[tokio::test]
async fn creates_a_comment_when_none_has_the_marker() {
    let (server, fake) = Fake::start("").await;
    fake.seed(&[
        "LGTM".to_string(),
        format!("{}\nanother config's report", marker(&cid("other"))),
        "<!-- image-budget:default2 -->\nnot ours either".to_string(),
    ]);

    let posted = upsert_with(
        &target(server.uri()),
        &cid("default"),
        &body("report"),
        &options(),
    )
    .await
    .unwrap();

    let after = fake.bodies();
    assert_eq!(after.len(), 4);
    assert_eq!(after[3].1, body("report"));
    assert_eq!(
        posted,
        Posted::Created {
            url: Some(format!(
                "https://github.com/acme/api/pull/7#issuecomment-{}",
                after[3].0
            ))
        }
    );
    let posts = requests(&server, "POST").await;
    assert_eq!(posts.len(), 1);
    let sent: Value = serde_json::from_slice(&posts[0].body).unwrap();
    assert_eq!(sent, json!({ "body": body("report") }));
    assert!(requests(&server, "PATCH").await.is_empty());
}

#[tokio::test]
async fn two_upserts_leave_exactly_one_comment_with_the_second_body() {
    let (server, fake) = Fake::start("").await;
    fake.seed(&["LGTM".to_string()]);
    let forge = target(server.uri());

    let first = upsert_with(&forge, &cid("default"), &body("first"), &options())
        .await
        .unwrap();
    let second = upsert_with(&forge, &cid("default"), &body("second"), &options())
        .await
        .unwrap();

    assert!(matches!(first, Posted::Created { .. }), "{first:?}");
    assert!(matches!(second, Posted::Updated { .. }), "{second:?}");
    let marked: Vec<_> = fake
        .bodies()
        .into_iter()
        .filter(|(_, b)| b.contains(&marker(&cid("default"))))
        .collect();
    assert_eq!(marked.len(), 1, "{marked:?}");
    assert_eq!(marked[0].1, body("second"));
}

#[tokio::test]
async fn a_body_without_its_marker_gets_it_on_the_first_line() {
    let (server, fake) = Fake::start("").await;
    let forge = target(server.uri());
    upsert_with(&forge, &cid("api"), "## Image sizes", &options())
        .await
        .unwrap();
    upsert_with(&forge, &cid("api"), "## Image sizes, again", &options())
        .await
        .unwrap();
    let after = fake.bodies();
    assert_eq!(after.len(), 1);
    assert_eq!(
        after[0].1,
        "<!-- image-budget:api -->\n## Image sizes, again"
    );
}

#[tokio::test]
async fn the_newest_of_ours_is_updated_and_our_older_duplicates_deleted() {
    let (server, fake) = Fake::start("").await;
    fake.seed(&[
        body("older duplicate"),
        "LGTM".into(),
        body("newer duplicate"),
    ]);
    let before = fake.bodies();

    upsert_with(
        &target(server.uri()),
        &cid("default"),
        &body("fresh"),
        &options(),
    )
    .await
    .unwrap();

    let after = fake.bodies();
    assert_eq!(
        after,
        [before[1].clone(), (before[2].0, body("fresh"))],
        "the older duplicate, left by a concurrent run, is gone"
    );
    let deletes = requests(&server, "DELETE").await;
    assert_eq!(deletes.len(), 1);
    assert_eq!(
        deletes[0].url.path(),
        format!("/repos/acme/api/issues/comments/{}", before[0].0)
    );
}

#[tokio::test]
async fn a_strangers_comment_with_our_marker_is_never_touched() {
    let (server, fake) = Fake::start("").await;
    // Someone pastes our marker with a fake verdict, before and after ours.
    fake.seed_by("mallory", &[body("✅ all within budget (forged)")]);
    fake.seed(&[body("ours")]);
    fake.seed_by("mallory", &[body("✅ forged again")]);
    let before = fake.authored();

    let posted = upsert_with(
        &target(server.uri()),
        &cid("default"),
        &body("fresh"),
        &options(),
    )
    .await
    .unwrap();

    assert!(matches!(posted, Posted::Updated { .. }), "{posted:?}");
    let after = fake.authored();
    assert_eq!(after[0], before[0]);
    assert_eq!(after[2], before[2]);
    assert_eq!(
        after[1],
        (before[1].0, ACTIONS_BOT.to_string(), body("fresh"))
    );
    assert!(requests(&server, "DELETE").await.is_empty());

    // Only strangers' comments carry the marker: ours is a new one.
    let (server, fake) = Fake::start("").await;
    fake.seed_by("mallory", &[body("forged")]);
    let posted = upsert_with(
        &target(server.uri()),
        &cid("default"),
        &body("fresh"),
        &options(),
    )
    .await
    .unwrap();
    assert!(matches!(posted, Posted::Created { .. }), "{posted:?}");
    let after = fake.authored();
    assert_eq!(after.len(), 2);
    assert_eq!(after[0].2, body("forged"));
    assert_eq!(after[1].1, ACTIONS_BOT);
    assert!(requests(&server, "PATCH").await.is_empty());
}

#[tokio::test]
async fn a_personal_token_owns_the_comments_of_its_user() {
    let (server, fake) = Fake::start("").await;
    *fake.user.lock().unwrap() = Some("release-bot".into());
    // The Actions bot's comment is not ours with this token.
    fake.seed_by(ACTIONS_BOT, &[body("from GITHUB_TOKEN")]);
    fake.seed(&[body("ours")]);
    let before = fake.authored();

    upsert_with(
        &target(server.uri()),
        &cid("default"),
        &body("fresh"),
        &options(),
    )
    .await
    .unwrap();

    let after = fake.authored();
    assert_eq!(after[0], before[0]);
    assert_eq!(
        after[1],
        (before[1].0, "release-bot".to_string(), body("fresh"))
    );
}

#[tokio::test]
async fn the_same_body_again_sends_no_edit_and_a_quiet_run_creates_nothing() {
    let (server, fake) = Fake::start("").await;
    fake.seed(&[body("report")]);
    let forge = target(server.uri());
    let posted = post(&forge, &cid("default"), &body("report"), true, &options())
        .await
        .unwrap();
    assert!(
        matches!(posted, Posted::Unchanged { url: Some(_) }),
        "{posted:?}"
    );
    assert!(requests(&server, "PATCH").await.is_empty());
    // Quiet (nothing changed): ours is still brought up to date...
    let posted = post(&forge, &cid("default"), &body("newer"), false, &options())
        .await
        .unwrap();
    assert!(matches!(posted, Posted::Updated { .. }), "{posted:?}");
    assert_eq!(fake.bodies()[0].1, body("newer"));
    // ...but without one, none is created.
    let (server, fake) = Fake::start("").await;
    let posted = post(
        &target(server.uri()),
        &cid("default"),
        &body("r"),
        false,
        &options(),
    )
    .await
    .unwrap();
    assert_eq!(posted, Posted::Skipped);
    assert!(fake.bodies().is_empty());
    assert!(requests(&server, "POST").await.is_empty());
}

#[tokio::test]
async fn enterprise_server_keeps_the_api_v3_path() {
    let (server, fake) = Fake::start("/api/v3").await;
    let mut bodies: Vec<String> = (0..150).map(|i| format!("comment {i}")).collect();
    bodies[120] = body("old");
    fake.seed(&bodies);

    let posted = upsert_with(
        &target(format!("{}/api/v3/", server.uri())),
        &cid("default"),
        &body("new"),
        &options(),
    )
    .await
    .unwrap();

    assert!(matches!(posted, Posted::Updated { .. }), "{posted:?}");
    assert_eq!(fake.bodies()[120].1, body("new"));
    let all = server.received_requests().await.unwrap();
    assert_eq!(all.len(), 4, "whose token, two pages, one edit");
    for request in &all {
        assert!(
            request.url.path().starts_with("/api/v3/"),
            "{} {}",
            request.method,
            request.url
        );
    }
}

#[tokio::test]
async fn a_next_page_link_to_another_host_is_fetched_from_the_api_host() {
    let (server, fake) = Fake::start("").await;
    *fake.link_base.lock().unwrap() = Some("http://internal-name.invalid:8080".into());
    let mut bodies: Vec<String> = (0..120).map(|i| format!("comment {i}")).collect();
    bodies[110] = body("old");
    fake.seed(&bodies);

    let posted = upsert_with(
        &target(server.uri()),
        &cid("default"),
        &body("new"),
        &options(),
    )
    .await
    .unwrap();

    assert!(matches!(posted, Posted::Updated { .. }), "{posted:?}");
    assert_eq!(requests(&server, "GET").await.len(), 2);
}

#[tokio::test]
async fn a_create_that_landed_but_answered_502_is_edited_not_repeated() {
    let (server, fake) = Fake::start("").await;
    fake.land_then_fail.store(1, Ordering::SeqCst);

    let posted = upsert_with(
        &target(server.uri()),
        &cid("default"),
        &body("report"),
        &options(),
    )
    .await
    .unwrap();

    // Listed again after the 502, the landed comment already says it all.
    assert!(matches!(posted, Posted::Unchanged { .. }), "{posted:?}");
    assert!(requests(&server, "PATCH").await.is_empty());
    let after = fake.bodies();
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0].1, body("report"));
}

#[tokio::test]
async fn a_create_that_failed_with_502_is_tried_again_after_listing() {
    let (server, fake) = Fake::start("").await;
    fake.fail_creates.store(2, Ordering::SeqCst);

    let posted = upsert_with(
        &target(server.uri()),
        &cid("default"),
        &body("report"),
        &options(),
    )
    .await
    .unwrap();

    assert!(matches!(posted, Posted::Created { .. }), "{posted:?}");
    assert_eq!(fake.bodies().len(), 1);
    assert_eq!(requests(&server, "POST").await.len(), 3);
    assert_eq!(
        requests(&server, "GET").await.len(),
        3,
        "listed before each create"
    );
}

// --- errors -------------------------------------------------------------

async fn failing(verb: &str, responder: Echo) -> (MockServer, Arc<Fake>) {
    forge::failing(Fake::start("").await, verb, responder).await
}

async fn upsert_err(server: &MockServer) -> Error {
    forge::upsert_err(&target(server.uri()), assert_no_token).await
}

#[tokio::test]
async fn unauthorized_401_says_the_token_is_wrong() {
    let (server, _) = failing("GET", echo(401, "error_401.json")).await;
    let error = upsert_err(&server).await;
    assert!(matches!(error, Error::Unauthorized { .. }), "{error:?}");
    assert!(!error.is_read_only());
    let text = error.to_string();
    assert!(text.contains("Bad credentials"), "{text}");
    assert!(text.contains("wrong or expired"), "{text}");
    assert!(text.contains("GITHUB_TOKEN"), "{text}");
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "not retried"
    );
}

#[tokio::test]
async fn forbidden_403_on_create_is_the_read_only_fork_token() {
    let (server, _) = failing("POST", echo(403, "error_403_read_only.json")).await;
    let error = upsert_err(&server).await;
    assert!(error.is_read_only(), "{error:?}");
    let text = error.to_string();
    assert!(
        text.contains("Resource not accessible by integration"),
        "{text}"
    );
    assert!(text.contains("fork"), "{text}");
    assert!(text.contains("budget publish"), "{text}");
    assert_eq!(text.lines().count(), 2, "{text}");
    assert_eq!(requests(&server, "POST").await.len(), 1, "not retried");
}

#[tokio::test]
async fn not_found_404_on_create_or_update_is_read_only() {
    let (server, _) = failing("POST", echo(404, "error_404.json")).await;
    assert!(upsert_err(&server).await.is_read_only());

    let (server, fake) = failing("PATCH", echo(404, "error_404.json")).await;
    fake.seed(&[body("old")]);
    let error = upsert_err(&server).await;
    assert!(error.is_read_only(), "{error:?}");
    assert!(error.to_string().contains("updating comment"), "{error}");
}

#[tokio::test]
async fn not_found_404_on_listing_is_not_read_only() {
    let (server, _) = failing("GET", echo(404, "error_404.json")).await;
    let error = upsert_err(&server).await;
    assert!(
        matches!(error, Error::NotVisible { status: 404, .. }),
        "{error:?}"
    );
    assert!(!error.is_read_only());
    assert!(error.to_string().contains("GITHUB_REPOSITORY"), "{error}");
    assert!(requests(&server, "POST").await.is_empty());
}

#[tokio::test]
async fn unprocessable_422_quotes_githubs_reason() {
    let (server, _) = failing("POST", echo(422, "error_422.json")).await;
    let error = upsert_err(&server).await;
    assert!(
        matches!(error, Error::Unprocessable { status: 422, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("body is too long"), "{error}");
}

#[tokio::test]
async fn rate_limited_429_waits_retry_after_then_succeeds() {
    let (server, fake) = Fake::start("").await;
    Mock::given(method("GET"))
        .respond_with(Echo {
            status: 429,
            fixture: "error_429.json",
            headers: vec![("retry-after", "1".into())],
        })
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;

    let (options, waits) = recording();
    let posted = upsert_with(
        &target(server.uri()),
        &cid("default"),
        &body("report"),
        &options,
    )
    .await
    .unwrap();

    assert!(matches!(posted, Posted::Created { .. }), "{posted:?}");
    assert_eq!(
        *waits.lock().unwrap(),
        [Duration::from_secs(1)],
        "Retry-After honoured"
    );
    assert_eq!(fake.bodies().len(), 1);
}

#[tokio::test]
async fn rate_limited_429_every_time_gives_up_after_the_attempts() {
    let (server, _) = failing(
        "GET",
        Echo {
            status: 429,
            fixture: "error_429.json",
            headers: vec![("retry-after", "0".into())],
        },
    )
    .await;
    let error = upsert_err(&server).await;
    assert!(
        matches!(error, Error::RateLimited { attempts: 4, .. }),
        "{error:?}"
    );
    // The first request (whose token) is tried 4 times, then nothing more.
    let gets = server.received_requests().await.unwrap();
    assert_eq!(gets.len(), 4);
    assert!(gets.iter().all(|r| r.url.path() == "/user"));
}

#[tokio::test]
async fn secondary_rate_limit_403_is_not_taken_for_a_read_only_token() {
    // Retry-After longer than the pipeline should stall: fail at once.
    let (server, _) = failing(
        "POST",
        Echo {
            status: 403,
            fixture: "error_403_secondary_rate_limit.json",
            headers: vec![("retry-after", "60".into())],
        },
    )
    .await;
    let error = upsert_err(&server).await;
    assert!(matches!(error, Error::RateLimited { .. }), "{error:?}");
    assert!(!error.is_read_only());
    assert!(error.to_string().contains("60s"), "{error}");
    assert_eq!(requests(&server, "POST").await.len(), 1);

    // The primary limit spent: x-ratelimit-remaining 0, reset in an hour.
    let reset = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600)
        .to_string();
    let (server, _) = failing(
        "GET",
        Echo {
            status: 403,
            fixture: "error_429.json",
            headers: vec![
                ("x-ratelimit-limit", "5000".into()),
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset", reset),
            ],
        },
    )
    .await;
    let error = upsert_err(&server).await;
    assert!(matches!(error, Error::RateLimited { .. }), "{error:?}");
    assert!(!error.is_read_only());
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
    assert!(gets.iter().all(|r| r.url.path() == "/user"));
    assert!(error.to_string().contains("run the job again"), "{error}");
}

#[tokio::test]
async fn a_slow_answer_times_out() {
    let (server, _) = Fake::start("").await;
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
    let error = upsert_with(&target(server.uri()), &cid("default"), &body("r"), &quick)
        .await
        .unwrap_err();
    assert_no_token(&error);
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert!(error.to_string().contains("300ms"), "{error}");
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let error = upsert_with(
        &target(format!("http://127.0.0.1:{port}")),
        &cid("default"),
        &body("r"),
        &options(),
    )
    .await
    .unwrap_err();
    assert_no_token(&error);
    assert!(matches!(error, Error::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().contains("GITHUB_API_URL"), "{error}");
}

#[tokio::test]
async fn a_success_that_is_not_json_is_malformed() {
    let (server, _) = Fake::start("").await;
    Mock::given(method("GET"))
        .and(path_regex("/comments$"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>captive portal</html>"))
        .with_priority(1)
        .mount(&server)
        .await;
    let error = upsert_err(&server).await;
    assert!(matches!(error, Error::Malformed { .. }), "{error:?}");
}

#[tokio::test]
async fn bad_ids_and_targets_are_refused_before_any_request() {
    let (server, _) = Fake::start("").await;
    // A bad id cannot even be made: it is refused where it is read.
    assert!("a b".parse::<image_budget::model::CommentId>().is_err());

    let forge = Forge::GitHub(GitHubTarget {
        api_url: server.uri(),
        repository: "acme".into(),
        number: 7,
        token: Token::new(TOKEN),
    });
    let error = upsert_with(&forge, &cid("default"), "x", &options())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Config { .. }), "{error:?}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[test]
fn the_token_never_shows_in_a_target() {
    let forge = target("https://api.github.com".into());
    let shown = format!("{forge:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(shown.contains("***"), "{shown}");
    assert_eq!(Token::new(TOKEN).to_string(), "***");
}

// --- detect -------------------------------------------------------------

struct Env {
    vars: HashMap<String, String>,
    _dir: tempfile::TempDir,
}

impl Env {
    /// A GitHub Actions job for `event`, its payload from `fixture`.
    fn actions(event: &str, fixture_name: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("event.json");
        std::fs::write(&path, fixture(fixture_name).to_string()).unwrap();
        let mut vars = HashMap::new();
        for (k, v) in [
            ("CI", "true"),
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", event),
            ("GITHUB_EVENT_PATH", path.to_str().unwrap()),
            ("GITHUB_REPOSITORY", "acme/api"),
            ("GITHUB_API_URL", "https://api.github.com"),
            ("GITHUB_TOKEN", TOKEN),
        ] {
            vars.insert(k.to_string(), v.to_string());
        }
        Env { vars, _dir: dir }
    }

    fn local() -> Env {
        Env {
            vars: HashMap::new(),
            _dir: tempfile::tempdir().unwrap(),
        }
    }

    fn set(mut self, name: &str, value: &str) -> Env {
        self.vars.insert(name.into(), value.into());
        self
    }

    fn unset(mut self, name: &str) -> Env {
        self.vars.remove(name);
        self
    }

    fn detect(&self, mode: CommentMode, flag: Option<&str>) -> Result<Option<Forge>, Error> {
        let lookup = |name: &str| self.vars.get(name).cloned();
        detect(mode, &lookup, flag.map(str::to_string))
    }
}

fn github(api_url: &str, number: u64, token: &str) -> Option<Forge> {
    Some(Forge::GitHub(GitHubTarget {
        api_url: api_url.into(),
        repository: "acme/api".into(),
        number,
        token: Token::new(token),
    }))
}

#[test]
fn detect_a_pull_request_job() {
    let env = Env::actions("pull_request", "event_pull_request.json");
    assert_eq!(
        env.detect(CommentMode::Auto, None).unwrap(),
        github("https://api.github.com", 7, TOKEN)
    );
    assert_eq!(
        env.detect(CommentMode::GitHub, None).unwrap(),
        github("https://api.github.com", 7, TOKEN)
    );
    let env = Env::actions("pull_request_target", "event_pull_request.json");
    assert_eq!(
        env.detect(CommentMode::Auto, None).unwrap(),
        github("https://api.github.com", 7, TOKEN)
    );
}

#[test]
fn detect_prefers_the_flag_token_and_keeps_an_enterprise_path() {
    let env = Env::actions("pull_request", "event_pull_request.json")
        .set("GITHUB_API_URL", "https://ghe.example/api/v3");
    assert_eq!(
        env.detect(CommentMode::Auto, Some("ghp_fromflag")).unwrap(),
        github("https://ghe.example/api/v3", 7, "ghp_fromflag")
    );
    // No GITHUB_API_URL: github.com.
    let env = Env::actions("pull_request", "event_pull_request.json").unset("GITHUB_API_URL");
    assert_eq!(
        env.detect(CommentMode::Auto, Some("")).unwrap(),
        github("https://api.github.com", 7, TOKEN)
    );
}

#[test]
fn detect_a_push_or_workflow_run_has_no_pull_request() {
    for (event, payload) in [
        ("push", "event_push.json"),
        ("workflow_run", "event_workflow_run.json"),
    ] {
        let env = Env::actions(event, payload);
        assert_eq!(
            env.detect(CommentMode::Auto, None).unwrap(),
            None,
            "{event}"
        );
        let error = env.detect(CommentMode::GitHub, None).unwrap_err();
        assert!(matches!(error, Error::Config { .. }), "{error:?}");
        let text = error.to_string();
        assert!(text.contains(&format!("`{event}` event")), "{text}");
        assert!(text.contains("budget publish"), "{text}");
        assert_no_token(&error);
    }
}

#[test]
fn detect_a_pull_request_job_without_a_token_names_the_variable() {
    let env = Env::actions("pull_request", "event_pull_request.json").unset("GITHUB_TOKEN");
    let error = env.detect(CommentMode::Auto, None).unwrap_err();
    assert!(matches!(error, Error::Config { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("GITHUB_TOKEN"), "{text}");
    assert!(text.contains("--github-token"), "{text}");
    assert!(text.contains("acme/api#7"), "{text}");
    let env = env.set("GITHUB_TOKEN", "  ");
    assert!(
        env.detect(CommentMode::Auto, None).is_err(),
        "a blank token is none"
    );
}

#[test]
fn detect_a_broken_event_payload_is_an_error() {
    let env = Env::actions("pull_request", "event_push.json");
    let error = env.detect(CommentMode::Auto, None).unwrap_err();
    assert!(error.to_string().contains("pull_request.number"), "{error}");
    let env = Env::actions("pull_request", "event_pull_request.json")
        .set("GITHUB_EVENT_PATH", "/nonexistent/event.json");
    let error = env.detect(CommentMode::Auto, None).unwrap_err();
    assert!(
        error.to_string().contains("/nonexistent/event.json"),
        "{error}"
    );
    let env = Env::actions("pull_request", "event_pull_request.json").unset("GITHUB_REPOSITORY");
    let error = env.detect(CommentMode::Auto, None).unwrap_err();
    assert!(error.to_string().contains("GITHUB_REPOSITORY"), "{error}");
}

#[test]
fn detect_a_local_run_posts_nowhere_unless_forced() {
    let env = Env::local();
    assert_eq!(env.detect(CommentMode::Auto, None).unwrap(), None);
    assert_eq!(env.detect(CommentMode::Off, Some(TOKEN)).unwrap(), None);
    let error = env.detect(CommentMode::GitHub, Some(TOKEN)).unwrap_err();
    assert!(matches!(error, Error::Config { .. }), "{error:?}");
    assert!(error.to_string().contains("GITHUB_EVENT_NAME"), "{error}");
    assert_no_token(&error);
    // A stray GITHUB_ACTIONS=false is not a job.
    let env =
        Env::actions("pull_request", "event_pull_request.json").set("GITHUB_ACTIONS", "false");
    assert_eq!(env.detect(CommentMode::Auto, None).unwrap(), None);
}

#[test]
fn detect_off_wins_inside_a_pull_request_job() {
    let env = Env::actions("pull_request", "event_pull_request.json").unset("GITHUB_TOKEN");
    assert_eq!(env.detect(CommentMode::Off, None).unwrap(), None);
}

#[test]
fn pr_numbers_from_event_payloads() {
    let text = |name| fixture(name).to_string();
    assert_eq!(
        pr_number_from_event(&text("event_pull_request.json")),
        Some(7)
    );
    assert_eq!(
        pr_number_from_event(&text("event_workflow_run.json")),
        Some(7)
    );
    // GitHub leaves `pull_requests` empty for a pull request from a fork.
    assert_eq!(
        pr_number_from_event(&text("event_workflow_run_fork.json")),
        None
    );
    assert_eq!(pr_number_from_event(&text("event_push.json")), None);
    assert_eq!(pr_number_from_event("not json"), None);
}

#[test]
fn comment_mode_values_on_the_command_line() {
    use clap::ValueEnum;
    let names: Vec<String> = CommentMode::value_variants()
        .iter()
        .map(|m| m.to_possible_value().unwrap().get_name().to_string())
        .collect();
    assert_eq!(names, ["auto", "github", "gitlab", "off"]);
    assert_eq!(
        CommentMode::from_str("github", false).unwrap(),
        CommentMode::GitHub
    );
    assert_eq!(CommentMode::default(), CommentMode::Auto);
}
