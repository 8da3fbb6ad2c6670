//! podman for real (Debian's podman 4.3, `podman system service` on a
//! socket of its own): its `Size` counts the layers' tar streams (headers
//! and padding), so image-budget counts the layers itself. An image loaded
//! there measures exactly as in dockerd and in the registry, to the byte.

mod common;

use common::podman::Podman;
use common::registry::LocalRegistry;
use common::*;
use serde_json::Value;

#[test]
fn an_image_in_podman_measures_as_in_dockerd_and_in_the_registry() {
    require_engine();
    let podman = Podman::start();
    let registry = LocalRegistry::start();
    // One file of exactly 1,000,000 bytes, and a file written twice: the
    // first copy is wasted.
    let image = build_dockerfile(
        "podman-exact",
        &[
            ("one.bin", 1_000_000),
            ("a/data", 30_000),
            ("b/data", 12_345),
        ],
        "FROM scratch\nCOPY one.bin /one.bin\nCOPY a/data /data\nCOPY b/data /data\n",
    );
    assert_eq!(image.inspect_size(), 1_042_345);
    let work = tempfile::tempdir().unwrap();
    let saved = work.path().join("saved.tar");
    docker_ok(&["save", "-o", &saved.display().to_string(), &image.tag]);
    podman.load(&saved);
    let pushed = registry.docker_push(&image, "podman/exact:1");

    let config = format!(
        "[images.local]\nref = \"docker-daemon:{tag}\"\nbaseline = \"docker://{pushed}\"\n\
         max-size = \"1042345\"\nmax-growth = \"0.1%\"\nmax-wasted = \"30kB\"\n\n\
         [images.pushed]\nref = \"docker://{pushed}\"\nmax-size = \"1042345\"\nmax-wasted = \"30kB\"\n",
        tag = image.tag
    );
    let dir = workdir(&config);
    let cache = work.path().join("cache");
    let cache = cache.display().to_string();
    let check = |host: &str| {
        let out = budget_env(
            dir.path(),
            &["check", "--format", "json"],
            &[
                ("DOCKER_HOST", host),
                ("IMAGE_BUDGET_CACHE", cache.as_str()),
            ],
        );
        assert_exit(&out, 0);
        json(&out)
    };
    let in_podman = check(&podman.host());
    let in_dockerd = check("unix:///var/run/docker.sock");

    // podman's own figure counts tar streams: not the image's size.
    let podman_size: u64 = {
        let out = run(
            "curl",
            &[
                "-s",
                "--unix-socket",
                &podman.host()["unix://".len()..],
                &format!("http://podman/v1.41/images/{}/json", image.tag),
            ],
        );
        let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
        answer["Size"].as_u64().unwrap()
    };
    assert!(podman_size > 1_042_345, "podman says {podman_size}");

    let local = row(&in_podman, "local");
    assert_eq!(local["status"], "pass", "{local:#}");
    assert_eq!(local["size"], 1_042_345);
    assert_eq!(local["wasted"], 30_000);
    assert_eq!(local["layers"], 3);
    // The same image in the registry, as the baseline: no growth at all.
    assert_eq!(local["baseline"]["size"], 1_042_345);
    assert_eq!(local["delta"]["size"], 0);
    for (report, name) in [(&in_dockerd, "local"), (&in_podman, "pushed")] {
        let other = row(report, name);
        assert_eq!(other["size"], local["size"], "{name}");
        assert_eq!(other["wasted"], local["wasted"], "{name}");
        assert_eq!(layers(other), layers(local), "{name}");
    }
    assert_eq!(
        layers(local),
        [
            (layers(local)[0].0.clone(), 1_000_000),
            (layers(local)[1].0.clone(), 30_000),
            (layers(local)[2].0.clone(), 12_345),
        ]
    );
}

#[test]
fn podman_is_remembered_and_a_second_run_reads_no_export() {
    require_engine();
    let podman = Podman::start();
    let image = build("podman-cached", &[("f.bin", 1_000_000)]);
    let work = tempfile::tempdir().unwrap();
    let saved = work.path().join("saved.tar");
    docker_ok(&["save", "-o", &saved.display().to_string(), &image.tag]);
    podman.load(&saved);
    let dir = workdir(&format!(
        "[images.one]\nref = \"docker-daemon:{}\"\nmax-size = \"1MB\"\n",
        image.tag
    ));
    let cache = work.path().join("cache").display().to_string();
    let (host, seen) = recording_proxy(work.path(), &podman.host());
    let run = || {
        let out = budget_env(
            dir.path(),
            &["check", "--format", "json"],
            &[
                ("DOCKER_HOST", host.as_str()),
                ("IMAGE_BUDGET_CACHE", cache.as_str()),
            ],
        );
        // Exactly 1 MB: within a budget of 1 MB, as in dockerd.
        assert_exit(&out, 0);
        assert_eq!(row(&json(&out), "one")["size"], 1_000_000);
    };
    run();
    let first: Vec<String> = std::mem::take(&mut *seen.lock().unwrap());
    assert!(
        first.iter().any(|l| l.contains("/images/get?names=")),
        "{first:#?}"
    );
    let engines = work.path().join("cache/engines/sha256");
    let entry = std::fs::read_dir(&engines)
        .unwrap()
        .flatten()
        .next()
        .unwrap();
    let remembered = std::fs::read_to_string(entry.path()).unwrap();
    assert!(remembered.contains(" podman linux/"), "{remembered}");
    // The layer is known by its diff ID now: the second run measures it
    // with inspect and history, no handshake and no export.
    let diffs = work.path().join("cache/diffs/sha256");
    assert_eq!(std::fs::read_dir(&diffs).unwrap().count(), 1);
    run();
    let second: Vec<String> = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(second.len(), 2, "{second:#?}");
    assert!(second[0].contains("/json"), "{second:#?}");
    assert!(second[1].contains("/history"), "{second:#?}");
}
