//! A GitHub REST API fake for tests: a pull request's issue comments kept in
//! memory, paged with `Link` headers as GitHub does, with its payload shapes.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const TOKEN: &str = "ghs_16C7e42F292c6912E7710c838347Ae178B4a";
pub const REPO_ID: u64 = 778899;

pub fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/github/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// A pull request's comments, kept in memory: listing pages them as GitHub
/// does (`per_page`, `page`, `Link` naming `/repositories/{id}/…`), POST
/// adds one, PATCH replaces one's body. Every request must carry the token.
pub struct Fake {
    /// Where the API lives: the server's address plus a path prefix ("" or "/api/v3").
    pub base: String,
    pub prefix: String,
    /// The origin put in `Link` headers (normally `base`'s).
    pub link_base: Mutex<Option<String>>,
    pub comments: Mutex<Vec<Value>>,
    pub next_id: AtomicU64,
    /// Creates that land, then answer 502 anyway (a proxy timing out).
    pub land_then_fail: AtomicU32,
    /// Creates that answer 502 without landing.
    pub fail_creates: AtomicU32,
    /// The token's user for `GET /user`; `None`: a workflow's GITHUB_TOKEN,
    /// which GitHub answers 403 there, and whose comments are by the Actions bot.
    pub user: Mutex<Option<String>>,
    /// Each pull request's head commit, for `GET /repos/acme/api/pulls/{n}`.
    pub heads: Mutex<HashMap<u64, String>>,
}

/// The head commit of pull request 7: the one the workflow_run fixtures name.
pub const HEAD_SHA: &str = "0d2f4b6e8a1c3e5f7b9d1f3a5c7e9b1d3f5a7c9e";

/// Who a workflow's GITHUB_TOKEN comments as.
pub const ACTIONS_BOT: &str = "github-actions[bot]";

impl Fake {
    pub async fn start(prefix: &str) -> (MockServer, Arc<Fake>) {
        let server = MockServer::start().await;
        let fake = Arc::new(Fake {
            base: format!("{}{prefix}", server.uri()),
            prefix: prefix.to_string(),
            link_base: Mutex::new(None),
            comments: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1000),
            land_then_fail: AtomicU32::new(0),
            fail_creates: AtomicU32::new(0),
            user: Mutex::new(None),
            heads: Mutex::new(HashMap::from([(7, HEAD_SHA.to_string())])),
        });
        Mock::given(any())
            .respond_with(Router(fake.clone()))
            .with_priority(10)
            .mount(&server)
            .await;
        (server, fake)
    }

    pub fn comment(&self, id: u64, body: &str) -> Value {
        let mut c = fixture("issue_comment.json");
        c["id"] = json!(id);
        c["node_id"] = json!(format!("IC_{id}"));
        c["url"] = json!(format!("{}/repos/acme/api/issues/comments/{id}", self.base));
        c["html_url"] = json!(format!(
            "https://github.com/acme/api/pull/7#issuecomment-{id}"
        ));
        c["body"] = json!(body);
        c
    }

    /// The login comments made with the token are by.
    pub fn me(&self) -> String {
        self.user
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_else(|| ACTIONS_BOT.to_string())
    }

    /// Adds comments of the token's own identity, oldest first.
    pub fn seed(&self, bodies: &[String]) {
        self.seed_by(&self.me(), bodies);
    }

    /// Adds comments written by `login` (a User, or a Bot for `[bot]` names).
    pub fn seed_by(&self, login: &str, bodies: &[String]) {
        let mut comments = self.comments.lock().unwrap();
        for body in bodies {
            let id = self.next_id.fetch_add(1, Ordering::SeqCst);
            let mut comment = self.comment(id, body);
            set_author(&mut comment, login);
            comments.push(comment);
        }
    }

    /// `(id, author, body)` of every comment.
    pub fn authored(&self) -> Vec<(u64, String, String)> {
        self.comments
            .lock()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["id"].as_u64().unwrap(),
                    c["user"]["login"].as_str().unwrap().to_string(),
                    c["body"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    pub fn user(&self) -> ResponseTemplate {
        match self.user.lock().unwrap().clone() {
            Some(login) => ResponseTemplate::new(200).set_body_json(json!({
                "login": login, "id": 583231, "type": "User", "site_admin": false})),
            None => ResponseTemplate::new(403).set_body_json(json!({
                "message": "Resource not accessible by integration",
                "documentation_url": "https://docs.github.com/rest/users/users#get-the-authenticated-user",
                "status": "403"})),
        }
    }

    /// A pull request, as `GET /repos/{owner}/{repo}/pulls/{n}` gives it.
    pub fn pull(&self, number: u64) -> ResponseTemplate {
        match self.heads.lock().unwrap().get(&number) {
            Some(sha) => ResponseTemplate::new(200).set_body_json(json!({
                "url": format!("{}/repos/acme/api/pulls/{number}", self.base),
                "number": number, "state": "open", "title": "Slimmer image",
                "head": {"label": "dev:slim", "ref": "slim", "sha": sha,
                         "repo": {"full_name": "dev/api"}},
                "base": {"label": "acme:main", "ref": "main",
                         "sha": "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"},
                "merge_commit_sha": format!("{:0>40}", number),
                "user": {"login": "dev", "type": "User"}})),
            None => ResponseTemplate::new(404).set_body_json(fixture("error_404.json")),
        }
    }

    pub fn delete(&self, id: u64) -> ResponseTemplate {
        let mut comments = self.comments.lock().unwrap();
        let before = comments.len();
        comments.retain(|c| c["id"] != json!(id));
        if comments.len() < before {
            ResponseTemplate::new(204)
        } else {
            ResponseTemplate::new(404).set_body_json(fixture("error_404.json"))
        }
    }

    /// `(id, body)` of every one, oldest first.
    pub fn bodies(&self) -> Vec<(u64, String)> {
        self.authored()
            .into_iter()
            .map(|(id, _, body)| (id, body))
            .collect()
    }

    pub fn list(&self, request: &Request) -> ResponseTemplate {
        let query: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
        let per_page: usize = query.get("per_page").map_or(30, |p| p.parse().unwrap());
        let page: usize = query.get("page").map_or(1, |p| p.parse().unwrap());
        let comments = self.comments.lock().unwrap();
        let pages = comments.len().div_ceil(per_page).max(1);
        let slice: Vec<Value> = comments
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .cloned()
            .collect();
        let link_base = self
            .link_base
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_else(|| self.base.clone());
        let at = |n: usize| {
            format!(
                "<{link_base}/repositories/{REPO_ID}/issues/7/comments?per_page={per_page}&page={n}>"
            )
        };
        let mut links = Vec::new();
        if page > 1 {
            links.push(format!("{}; rel=\"prev\"", at(page - 1)));
        }
        if page < pages {
            links.push(format!("{}; rel=\"next\"", at(page + 1)));
            links.push(format!("{}; rel=\"last\"", at(pages)));
        }
        if page > 1 {
            links.push(format!("{}; rel=\"first\"", at(1)));
        }
        let mut answer = ResponseTemplate::new(200).set_body_json(slice);
        if !links.is_empty() {
            answer = answer.insert_header("link", links.join(", ").as_str());
        }
        answer
    }

    pub fn create(&self, request: &Request) -> ResponseTemplate {
        if take(&self.fail_creates) {
            return ResponseTemplate::new(502)
                .set_body_string("<html><body><h1>502 Bad Gateway</h1></body></html>");
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let mut comment = self.comment(id, body["body"].as_str().unwrap());
        set_author(&mut comment, &self.me());
        self.comments.lock().unwrap().push(comment.clone());
        if take(&self.land_then_fail) {
            return ResponseTemplate::new(502)
                .set_body_string("<html><body><h1>502 Bad Gateway</h1></body></html>");
        }
        ResponseTemplate::new(201)
            .insert_header("location", comment["url"].as_str().unwrap())
            .set_body_json(comment)
    }

    pub fn update(&self, id: u64, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let mut comments = self.comments.lock().unwrap();
        match comments.iter_mut().find(|c| c["id"] == json!(id)) {
            Some(c) => {
                c["body"] = body["body"].clone();
                c["updated_at"] = json!("2026-11-21T10:00:00Z");
                ResponseTemplate::new(200).set_body_json(c.clone())
            }
            None => ResponseTemplate::new(404).set_body_json(fixture("error_404.json")),
        }
    }
}

/// A comment's `user`: a Bot for `name[bot]`, else a User.
fn set_author(comment: &mut Value, login: &str) {
    comment["user"]["login"] = json!(login);
    comment["user"]["type"] = json!(if login.ends_with("[bot]") {
        "Bot"
    } else {
        "User"
    });
    if !login.ends_with("[bot]") {
        comment["performed_via_github_app"] = Value::Null;
    }
}

pub fn take(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

pub struct Router(pub Arc<Fake>);

impl Respond for Router {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let fake = &self.0;
        let authorized = request
            .headers
            .get("authorization")
            .is_some_and(|v| v == format!("Bearer {TOKEN}").as_str());
        if !authorized {
            return ResponseTemplate::new(401).set_body_json(fixture("error_401.json"));
        }
        let Some(path) = request.url.path().strip_prefix(fake.prefix.as_str()) else {
            return ResponseTemplate::new(404).set_body_json(fixture("error_404.json"));
        };
        let list_paths = [
            "/repos/acme/api/issues/7/comments".to_string(),
            format!("/repositories/{REPO_ID}/issues/7/comments"),
        ];
        match (request.method.as_str(), path) {
            ("GET", p) if list_paths.iter().any(|l| l == p) => fake.list(request),
            ("POST", "/repos/acme/api/issues/7/comments") => fake.create(request),
            ("GET", "/user") => fake.user(),
            ("GET", p) if p.starts_with("/repos/acme/api/pulls/") => {
                match p["/repos/acme/api/pulls/".len()..].parse() {
                    Ok(n) => fake.pull(n),
                    Err(_) => ResponseTemplate::new(404).set_body_json(fixture("error_404.json")),
                }
            }
            ("DELETE", p) => match p
                .strip_prefix("/repos/acme/api/issues/comments/")
                .and_then(|id| id.parse().ok())
            {
                Some(id) => fake.delete(id),
                None => ResponseTemplate::new(404).set_body_json(fixture("error_404.json")),
            },
            ("PATCH", p) => match p
                .strip_prefix("/repos/acme/api/issues/comments/")
                .and_then(|id| id.parse().ok())
            {
                Some(id) => fake.update(id, request),
                None => ResponseTemplate::new(404).set_body_json(fixture("error_404.json")),
            },
            _ => ResponseTemplate::new(404).set_body_json(fixture("error_404.json")),
        }
    }
}
