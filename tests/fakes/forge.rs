//! What the publish tests share whichever forge they run against: options
//! whose waits are recorded, the marked body, the requests a fake received,
//! an error answer that repeats the token it was sent, and an upsert that
//! must fail without showing the token.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use image_budget::model::CommentId;
use image_budget::publish::{Error, Forge, Options, marker, upsert_with};
use image_budget::retry::{Policy, Sleeper};
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Options whose waits are recorded, not waited for: the waits the policy
/// asks for are asserted, never the time a test took.
pub fn recording() -> (Options, Arc<Mutex<Vec<Duration>>>) {
    let (sleeper, waits) = Sleeper::recording();
    let options = Options {
        timeout: Duration::from_secs(5),
        retry: Policy {
            attempts: 4,
            first_backoff: Duration::from_millis(10),
            max_wait: Duration::from_secs(2),
            jitter: false,
            sleeper,
            ..Policy::default()
        },
    };
    (options, waits)
}

pub fn options() -> Options {
    recording().0
}

/// A comment id the tests name.
pub fn cid(id: &str) -> CommentId {
    id.parse().unwrap()
}

/// `text` under the marker of the comment id `default`.
pub fn body(text: &str) -> String {
    format!("{}\n{text}", marker(&cid("default")))
}

/// The thread's requests with this verb (the one `GET /user` that asks
/// whose token it is aside).
pub async fn requests(server: &MockServer, verb: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == verb && !r.url.path().ends_with("/user"))
        .collect()
}

/// An error answer shaped like the forge's, whose message repeats the token
/// header it received, so that a leak would show. Each test file answers
/// with it (`impl Respond for Echo`) through [`Echo::answer`], naming its
/// forge's fixtures and token header.
pub struct Echo {
    pub status: u16,
    pub fixture: &'static str,
    pub headers: Vec<(&'static str, String)>,
}

pub fn echo(status: u16, fixture: &'static str) -> Echo {
    Echo {
        status,
        fixture,
        headers: Vec::new(),
    }
}

impl Echo {
    /// The answer: the body `fixture` loads (an object's `message` followed
    /// by `(label sent)`, `sent` the value of the request's `header`), the
    /// status and the headers.
    pub fn answer(
        &self,
        request: &Request,
        fixture: fn(&str) -> Value,
        header: &str,
        label: &str,
    ) -> ResponseTemplate {
        let sent = request
            .headers
            .get(header)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = match fixture(self.fixture) {
            Value::Object(mut map) => {
                let message = match map.get("message") {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                map.insert(
                    "message".into(),
                    json!(format!("{message} ({label} {sent})")),
                );
                Value::Object(map)
            }
            other => other,
        };
        let mut answer = ResponseTemplate::new(self.status).set_body_json(body);
        for (name, value) in &self.headers {
            answer = answer.insert_header(*name, value.as_str());
        }
        answer
    }
}

/// Neither the token nor `part` of it shows in the error, as displayed or
/// debugged.
pub fn assert_no_token(error: &Error, token: &str, part: &str) {
    let shown = format!("{error}\n{error:?}");
    assert!(!shown.contains(token), "the token leaked: {shown}");
    assert!(!shown.contains(part), "part of the token leaked: {shown}");
}

/// A fake just started whose requests with this verb `responder` answers
/// instead.
pub async fn failing<F>(
    (server, fake): (MockServer, Arc<F>),
    verb: &str,
    responder: impl Respond + 'static,
) -> (MockServer, Arc<F>) {
    Mock::given(method(verb))
        .respond_with(responder)
        .with_priority(1)
        .mount(&server)
        .await;
    (server, fake)
}

/// The error of posting a report to `forge`, which `assert_no_token` has
/// checked.
pub async fn upsert_err(forge: &Forge, assert_no_token: fn(&Error)) -> Error {
    let error = upsert_with(forge, &cid("default"), &body("report"), &options())
        .await
        .unwrap_err();
    assert_no_token(&error);
    error
}
