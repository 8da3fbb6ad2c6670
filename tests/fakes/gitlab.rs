//! A GitLab REST v4 fake for tests: a merge request's notes kept in memory,
//! paged as GitLab does, with its payload shapes.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const TOKEN: &str = "glpat-Xq7vR2mT9kLp4sWz8bNc";
pub const IID: u64 = 5;

pub fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/gitlab/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// A merge request's notes, kept in memory: listing pages them as GitLab
/// does, POST adds one, PUT replaces one's body. Every request must carry
/// the token in `PRIVATE-TOKEN`.
pub struct Fake {
    pub base: String,
    /// The project as it appears in the path: `42` or `acme%2Fapi`.
    pub project: String,
    pub notes: Mutex<Vec<Value>>,
    pub next_id: AtomicU64,
    /// Send `X-Next-Page` (else only `Link`, as GitLab does past 10,000 rows).
    pub x_next_page: bool,
    /// `(ref, job, report)`: the job artifacts `report.json` of the last
    /// pipeline of a branch, served to a job token.
    pub artifacts: Mutex<Vec<(String, String, Value)>>,
}

/// The merge request's head commit.
pub const MR_SHA: &str = "5c1e3a9b7d2f4e6a8c0b1d3f5e7a9c2b4d6f8e0a";

/// The job token of the pipeline under test.
pub const JOB_TOKEN: &str = "glcbt-64_job-token-of-this-pipeline";

/// The token's user (a project access token's bot), as `note.json`'s author.
pub const ME_ID: u64 = 1;

impl Fake {
    pub async fn start(project: &str, x_next_page: bool) -> (MockServer, Arc<Fake>) {
        let server = MockServer::start().await;
        let fake = Arc::new(Fake {
            base: format!("{}/api/v4", server.uri()),
            project: project.to_string(),
            notes: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(300),
            x_next_page,
            artifacts: Mutex::new(Vec::new()),
        });
        Mock::given(any())
            .respond_with(Router(fake.clone()))
            .with_priority(10)
            .mount(&server)
            .await;
        (server, fake)
    }

    pub fn notes_path(&self) -> String {
        format!(
            "/api/v4/projects/{}/merge_requests/{IID}/notes",
            self.project
        )
    }

    pub fn note(&self, id: u64, body: &str, system: bool) -> Value {
        let mut n = fixture(if system {
            "system_note.json"
        } else {
            "note.json"
        });
        n["id"] = json!(id);
        n["body"] = json!(body);
        n
    }

    pub fn seed(&self, bodies: &[(String, bool)]) {
        let mut notes = self.notes.lock().unwrap();
        for (body, system) in bodies {
            let id = self.next_id.fetch_add(1, Ordering::SeqCst);
            notes.push(self.note(id, body, *system));
        }
    }

    /// Adds notes by another user (`id`, `username`), oldest first.
    pub fn seed_by(&self, user_id: u64, username: &str, bodies: &[String]) {
        let mut notes = self.notes.lock().unwrap();
        for body in bodies {
            let id = self.next_id.fetch_add(1, Ordering::SeqCst);
            let mut note = self.note(id, body, false);
            note["author"]["id"] = json!(user_id);
            note["author"]["username"] = json!(username);
            note["author"]["name"] = json!(username);
            notes.push(note);
        }
    }

    /// `(id, author id, body)` of every note.
    pub fn authored(&self) -> Vec<(u64, u64, String)> {
        self.notes
            .lock()
            .unwrap()
            .iter()
            .map(|n| {
                (
                    n["id"].as_u64().unwrap(),
                    n["author"]["id"].as_u64().unwrap(),
                    n["body"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    pub fn user(&self) -> ResponseTemplate {
        let note = fixture("note.json");
        let mut user = note["author"].clone();
        user["id"] = json!(ME_ID);
        user["bot"] = json!(true);
        user["created_at"] = json!("2026-01-05T10:00:00.000Z");
        ResponseTemplate::new(200).set_body_json(user)
    }

    /// `GET /projects/:id/jobs/artifacts/:ref_name/raw/report.json?job=NAME`.
    pub fn artifact(&self, request: &Request) -> ResponseTemplate {
        let not_found =
            || ResponseTemplate::new(404).set_body_json(json!({"message": "404 Not found"}));
        let job: Option<String> = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "job")
            .map(|(_, v)| v.into_owned());
        let prefix = format!("/api/v4/projects/{}/jobs/artifacts/", self.project);
        let Some(rest) = request.url.path().strip_prefix(&prefix) else {
            return not_found();
        };
        let Some(reference) = rest.strip_suffix("/raw/report.json") else {
            return not_found();
        };
        let reference = reference.replace("%2F", "/");
        let artifacts = self.artifacts.lock().unwrap();
        match artifacts
            .iter()
            .find(|(r, j, _)| *r == reference && Some(j) == job.as_ref())
        {
            Some((_, _, report)) => ResponseTemplate::new(200).set_body_json(report),
            None => not_found(),
        }
    }

    pub fn delete(&self, id: u64) -> ResponseTemplate {
        let mut notes = self.notes.lock().unwrap();
        let before = notes.len();
        notes.retain(|n| n["id"] != json!(id));
        if notes.len() < before {
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
        let per_page: usize = query.get("per_page").map_or(20, |p| p.parse().unwrap());
        let page: usize = query.get("page").map_or(1, |p| p.parse().unwrap());
        let notes = self.notes.lock().unwrap();
        let pages = notes.len().div_ceil(per_page).max(1);
        let slice: Vec<Value> = notes
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .cloned()
            .collect();
        let at = |n: usize| {
            format!(
                "<{}/projects/{}/merge_requests/{IID}/notes?id={}&noteable_id={IID}&order_by=created_at&page={n}&per_page={per_page}&sort=asc>",
                self.base, self.project, self.project
            )
        };
        let mut links = Vec::new();
        if page > 1 {
            links.push(format!("{}; rel=\"prev\"", at(page - 1)));
        }
        if page < pages {
            links.push(format!("{}; rel=\"next\"", at(page + 1)));
        }
        links.push(format!("{}; rel=\"first\"", at(1)));
        links.push(format!("{}; rel=\"last\"", at(pages)));
        let mut answer = ResponseTemplate::new(200)
            .insert_header("x-page", page.to_string().as_str())
            .insert_header("x-per-page", per_page.to_string().as_str())
            .insert_header("x-total", notes.len().to_string().as_str())
            .insert_header("x-total-pages", pages.to_string().as_str())
            .insert_header("link", links.join(", ").as_str())
            .set_body_json(slice);
        if self.x_next_page {
            let next = if page < pages {
                (page + 1).to_string()
            } else {
                String::new()
            };
            let prev = if page > 1 {
                (page - 1).to_string()
            } else {
                String::new()
            };
            answer = answer
                .insert_header("x-next-page", next.as_str())
                .insert_header("x-prev-page", prev.as_str());
        }
        answer
    }

    pub fn create(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let note = self.note(id, body["body"].as_str().unwrap(), false);
        self.notes.lock().unwrap().push(note.clone());
        ResponseTemplate::new(201).set_body_json(note)
    }

    pub fn update(&self, id: u64, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let mut notes = self.notes.lock().unwrap();
        match notes.iter_mut().find(|n| n["id"] == json!(id)) {
            Some(n) => {
                n["body"] = body["body"].clone();
                n["updated_at"] = json!("2026-11-21T10:00:00.000Z");
                ResponseTemplate::new(200).set_body_json(n.clone())
            }
            None => ResponseTemplate::new(404).set_body_json(fixture("error_404.json")),
        }
    }
}

pub struct Router(pub Arc<Fake>);

impl Respond for Router {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let fake = &self.0;
        if request.url.path().contains("/jobs/artifacts/") {
            // Job artifacts take the job token (JOB-TOKEN), as GitLab documents.
            let job = request.headers.get("job-token");
            if job.is_none_or(|v| v != JOB_TOKEN) {
                return ResponseTemplate::new(401).set_body_json(fixture("error_401.json"));
            }
            return fake.artifact(request);
        }
        let token = request.headers.get("private-token");
        if token.is_none_or(|v| v != TOKEN) {
            return ResponseTemplate::new(401).set_body_json(fixture("error_401.json"));
        }
        let notes = fake.notes_path();
        let path = request.url.path();
        let note_id = || {
            path.strip_prefix(&format!("{notes}/"))
                .and_then(|id| id.parse::<u64>().ok())
        };
        match request.method.as_str() {
            "GET" if path == "/api/v4/user" => fake.user(),
            "GET" if path == format!("/api/v4/projects/{}/merge_requests/{IID}", fake.project) => {
                ResponseTemplate::new(200).set_body_json(json!({
                    "id": 9001, "iid": IID, "project_id": 42, "state": "opened",
                    "title": "Slimmer image", "sha": MR_SHA, "merge_commit_sha": null,
                    "source_branch": "slim", "target_branch": "main"}))
            }
            "DELETE" => match note_id() {
                Some(id) => fake.delete(id),
                None => ResponseTemplate::new(404).set_body_json(fixture("error_404.json")),
            },
            "GET" if path == notes => fake.list(request),
            "POST" if path == notes => fake.create(request),
            "PUT" => match path
                .strip_prefix(&format!("{notes}/"))
                .and_then(|id| id.parse().ok())
            {
                Some(id) => fake.update(id, request),
                None => ResponseTemplate::new(404).set_body_json(fixture("error_404.json")),
            },
            _ => ResponseTemplate::new(404).set_body_json(fixture("error_404_project.json")),
        }
    }
}
