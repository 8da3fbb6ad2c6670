//! Images in archives and layouts, measured against what the real engine
//! (dockerd, overlay2) and skopeo say, to the byte.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use flate2::write::GzEncoder;
use image_budget::config::PlatformChoice;
use image_budget::measure::archive::{
    Error, layer_size, measure_docker_archive, measure_docker_archive_reader, measure_oci_archive,
    measure_oci_layout,
};
use image_budget::measure::layer::ESTIMATE_CHUNK;
use image_budget::measure::platform::SelectError;
use image_budget::measure::{Engine, Measurement};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tar::{EntryType, Header};

// ---------------------------------------------------------------------------
// Helpers

fn sha256(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn hex(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap()
}

/// What the estimate is: gzip at the default level, fed in fixed writes.
fn gzip_estimate(bytes: &[u8]) -> u64 {
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
    for chunk in bytes.chunks(ESTIMATE_CHUNK) {
        encoder.write_all(chunk).unwrap();
    }
    encoder.finish().unwrap().len() as u64
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// The engine's own measurement of an image (bollard, as `budget` does it).
fn engine(tag: &str) -> Measurement {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async { Engine::connect().await.measure(tag).await.unwrap() })
}

/// (diff ID, size, instruction) per layer, the parts every source agrees on.
fn layer_view(m: &Measurement) -> Vec<(String, Option<u64>, Option<String>)> {
    m.layer_details
        .iter()
        .map(|l| (l.digest.clone(), l.size, l.instruction.clone()))
        .collect()
}

/// Asserts an archive's measurement says what the engine says of the image.
fn assert_same_as_engine(measured: &Measurement, image: &Image) {
    let engine = engine(&image.tag);
    assert_eq!(
        measured.metrics.size,
        Some(image.inspect_size()),
        "Size, to the byte"
    );
    assert_eq!(measured.metrics.size, engine.metrics.size);
    assert_eq!(measured.metrics.layers, engine.metrics.layers);
    assert_eq!(measured.platform.as_deref(), Some("linux/amd64"));
    assert_eq!(layer_view(measured), layer_view(&engine));
}

fn save(tags: &[&str], path: &Path) {
    let mut args = vec!["save", "-o", path.to_str().unwrap()];
    args.extend_from_slice(tags);
    docker_ok(&args);
}

/// Every file of a (small) tar, by cleaned path; symlinks as `-> target`.
fn tar_files(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut archive = tar::Archive::new(bytes);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry
            .path()
            .unwrap()
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        match entry.header().entry_type() {
            EntryType::Regular => {
                let mut data = Vec::new();
                entry.read_to_end(&mut data).unwrap();
                files.insert(path, data);
            }
            EntryType::Symlink => {
                let target = entry.link_name().unwrap().unwrap();
                files.insert(path, format!("-> {}", target.display()).into_bytes());
            }
            _ => {}
        }
    }
    files
}

/// Writes a tar of `files` in the order given (directories implied).
fn write_tar(path: &Path, files: &[(String, Vec<u8>)]) {
    let mut builder = tar::Builder::new(std::fs::File::create(path).unwrap());
    for (name, data) in files {
        let mut header = Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_700_000_000);
        builder
            .append_data(&mut header, name, data.as_slice())
            .unwrap();
    }
    builder.finish().unwrap();
}

/// Every file under a directory, by path from it.
fn dir_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, files);
            } else {
                let name = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                files.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(root, root, &mut files);
    files
}

fn json_of(files: &BTreeMap<String, Vec<u8>>, path: &str) -> Value {
    serde_json::from_slice(files.get(path).unwrap_or_else(|| panic!("no {path}"))).unwrap()
}

fn blob_json(files: &BTreeMap<String, Vec<u8>>, digest: &str) -> Value {
    json_of(files, &format!("blobs/sha256/{}", hex(digest)))
}

/// The only manifest of an OCI layout (its digest, JSON) and the sum of its
/// layer blob sizes, read straight from the files.
fn only_manifest(files: &BTreeMap<String, Vec<u8>>) -> (String, Value, u64) {
    let index = json_of(files, "index.json");
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 1);
    let digest = manifests[0]["digest"].as_str().unwrap().to_string();
    let manifest = blob_json(files, &digest);
    let sum = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["size"].as_u64().unwrap())
        .sum();
    (digest, manifest, sum)
}

fn skopeo_copy(extra: &[&str], from: &str, to: &str) {
    let mut args = vec!["copy", "-q"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[from, to]);
    run("skopeo", &args);
}

fn the_one(mut measured: Vec<Measurement>) -> Measurement {
    assert_eq!(measured.len(), 1, "{measured:#?}");
    measured.remove(0)
}

fn one(platform: &str) -> PlatformChoice {
    PlatformChoice::One(platform.to_string())
}

fn require_tools() {
    require_engine();
    require_tool("skopeo");
}

// ---------------------------------------------------------------------------
// Hand-made layers, loaded into the engine: every counting rule checked.

fn entry(builder: &mut tar::Builder<Vec<u8>>, path: &str, kind: EntryType, data: &[u8]) {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_size(data.len() as u64);
    header.set_mode(if kind == EntryType::Directory {
        0o755
    } else {
        0o644
    });
    header.set_mtime(1_700_000_000);
    builder.append_data(&mut header, path, data).unwrap();
}

fn link(builder: &mut tar::Builder<Vec<u8>>, path: &str, kind: EntryType, target: &str) {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_size(0);
    header.set_mode(0o777);
    header.set_mtime(1_700_000_000);
    builder.append_link(&mut header, path, target).unwrap();
}

fn layer_tar(fill: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    fill(&mut builder);
    builder.into_inner().unwrap()
}

/// A layer holding one sparse file, written by GNU tar in PAX format.
fn sparse_layer(apparent: u64) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("holes");
    let mut file = std::fs::File::create(&path).unwrap();
    file.set_len(apparent - 4).unwrap();
    use std::io::Seek;
    file.seek(std::io::SeekFrom::Start(apparent / 2)).unwrap();
    file.write_all(b"abc").unwrap();
    file.seek(std::io::SeekFrom::Start(apparent - 4)).unwrap();
    file.write_all(b"tail").unwrap();
    drop(file);
    let out = dir.path().join("sparse.tar");
    run(
        "tar",
        &[
            "--sparse",
            "--format=posix",
            "-C",
            dir.path().to_str().unwrap(),
            "-cf",
            out.to_str().unwrap(),
            "holes",
        ],
    );
    let bytes = std::fs::read(out).unwrap();
    assert!(
        bytes.windows(10).any(|w| w == b"GNU.sparse"),
        "GNU tar stored the file as sparse"
    );
    bytes
}

struct HandLayer {
    tar: Vec<u8>,
    gzip: bool,
    created_by: &'static str,
}

/// A legacy docker-archive made by hand; returns the image ID.
fn hand_archive(path: &Path, tag: &str, layers: &[HandLayer]) -> String {
    let diff_ids: Vec<String> = layers.iter().map(|l| sha256(&l.tar)).collect();
    let history: Vec<Value> = layers
        .iter()
        .map(|l| json!({"created": "2024-01-01T00:00:00Z", "created_by": l.created_by}))
        .collect();
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": {}, "history": history,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap();
    let id = sha256(&config);
    let mut files = Vec::new();
    let mut paths = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        let blob = if layer.gzip {
            gzip(&layer.tar)
        } else {
            layer.tar.clone()
        };
        let name = format!("layer{i}/layer.tar");
        files.push((name.clone(), blob));
        paths.push(name);
    }
    files.push((format!("{}.json", hex(&id)), config));
    files.push((
        "manifest.json".to_string(),
        serde_json::to_vec(
            &json!([{"Config": format!("{}.json", hex(&id)), "RepoTags": [tag], "Layers": paths}]),
        )
        .unwrap(),
    ));
    write_tar(path, &files);
    id
}

#[test]
fn hand_made_layers_count_exactly_as_the_engine_counts_them() {
    require_engine();
    let long_target = format!("{}xx", "t/".repeat(74));
    assert_eq!(long_target.len(), 150);
    let long_name = format!("{}/file", "n".repeat(120));
    let files_and_links = layer_tar(|b| {
        entry(b, "a", EntryType::Regular, &content(1000, 1)); // 1000
        entry(b, "empty", EntryType::Regular, b""); // 0
        entry(b, "d/", EntryType::Directory, b""); // 0
        entry(b, "d/c", EntryType::Regular, &content(123, 2)); // 123
        entry(b, &long_name, EntryType::Regular, &content(77, 3)); // 77 (GNU long name)
        link(b, "s", EntryType::Symlink, "a"); // 1: the target's length
        link(b, "long", EntryType::Symlink, &long_target); // 150 (GNU long link)
        link(b, "h", EntryType::Link, "a"); // 0: a is counted once
        link(b, "d/h2", EntryType::Link, "d/c"); // 0
        link(b, "hs", EntryType::Link, "s"); // 0: a hard link to a symlink
        entry(b, "fifo", EntryType::Fifo, b""); // 0
        let mut header = Header::new_gnu();
        header.set_entry_type(EntryType::Char);
        header.set_device_major(1).unwrap();
        header.set_device_minor(3).unwrap();
        header.set_size(0);
        header.set_mode(0o666);
        b.append_data(&mut header, "null", std::io::empty())
            .unwrap(); // 0
        // An old-style regular file: type flag NUL rather than '0'.
        let mut header = Header::new_gnu();
        header.set_size(55);
        header.set_mode(0o644);
        header.set_path("old").unwrap();
        header.as_mut_bytes()[156] = 0;
        header.set_cksum();
        b.append(&header, content(55, 4).as_slice()).unwrap(); // 55
    });
    let whiteouts = layer_tar(|b| {
        entry(b, ".wh.a", EntryType::Regular, b""); // deletes a: 0
        entry(b, ".wh.s", EntryType::Regular, b""); // deletes s: 0
        entry(b, "d/", EntryType::Directory, b"");
        entry(b, "d/.wh..wh..opq", EntryType::Regular, b""); // opaque marker: 0
        entry(b, "d/e", EntryType::Regular, &content(50, 6)); // 50
        entry(b, "x/", EntryType::Directory, b""); // empty dir: 0
    });
    let only_a_dir = layer_tar(|b| entry(b, "emptydir/", EntryType::Directory, b""));
    let big = layer_tar(|b| {
        entry(b, "big.bin", EntryType::Regular, &content(300_000, 7));
        link(b, "big-link", EntryType::Symlink, "big.bin");
    });

    // The rules, by hand.
    let counted: Vec<u64> = [&files_and_links, &whiteouts, &only_a_dir, &big]
        .iter()
        .map(|t| layer_size(t.as_slice()).unwrap())
        .collect();
    assert_eq!(counted, [1000 + 123 + 77 + 1 + 150 + 55, 50, 0, 300_007]);

    let layers = [
        HandLayer {
            tar: files_and_links,
            gzip: false,
            created_by: "files and links",
        },
        HandLayer {
            tar: whiteouts,
            gzip: false,
            created_by: "/bin/sh -c #(nop) COPY whiteouts",
        },
        HandLayer {
            tar: only_a_dir,
            gzip: false,
            created_by: "a directory",
        },
        HandLayer {
            tar: big,
            gzip: true,
            created_by: "big",
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    let hand = dir.path().join("hand.tar");
    let tag = tag("hand");
    let id = hand_archive(&hand, &tag, &layers);
    let image = Image { tag: tag.clone() };
    docker_ok(&["load", "-i", hand.to_str().unwrap()]);

    // The engine agrees, layer by layer and in total.
    let engine_sizes: Vec<Option<u64>> =
        engine(&tag).layer_details.iter().map(|l| l.size).collect();
    assert_eq!(
        engine_sizes,
        counted.iter().copied().map(Some).collect::<Vec<_>>(),
        "per layer, as `docker history` says"
    );
    assert_eq!(image.inspect_size(), counted.iter().sum::<u64>());
    assert_eq!(image.inspect("{{.Id}}"), id);

    // The archive measured, without and with the compressed estimate.
    let measured = the_one(measure_docker_archive(&hand, None, None, false).unwrap());
    assert_eq!(measured.source, "docker-archive");
    assert_eq!(measured.digest, id);
    assert_eq!(
        measured.reference,
        format!("docker-archive:{}", hand.display())
    );
    assert_same_as_engine(&measured, &image);
    let instructions: Vec<Option<&str>> = measured
        .layer_details
        .iter()
        .map(|l| l.instruction.as_deref())
        .collect();
    assert_eq!(
        instructions,
        [
            Some("files and links"),
            Some("COPY whiteouts"),
            Some("a directory"),
            Some("big")
        ]
    );
    let big_blob = gzip(&layers[3].tar).len() as u64;
    assert_eq!(measured.layer_details[3].compressed, Some(big_blob));
    assert_eq!(measured.layer_details[0].compressed, None);
    assert_eq!(measured.metrics.compressed, None, "unknown, never 0");
    assert!(!measured.metrics.compressed_estimated);

    let estimated = the_one(measure_docker_archive(&hand, None, None, true).unwrap());
    // The gzip layer counts its blob; the plain ones their estimate.
    let expected: u64 = layers
        .iter()
        .map(|l| {
            if l.gzip {
                gzip(&l.tar).len() as u64
            } else {
                gzip_estimate(&l.tar)
            }
        })
        .sum();
    assert_eq!(estimated.metrics.compressed, Some(expected));
    assert!(estimated.metrics.compressed_estimated);
    assert_eq!(estimated.metrics.size, measured.metrics.size);

    // The engine's own `docker save` of it measures the same.
    let saved = dir.path().join("saved.tar");
    save(&[&tag], &saved);
    let resaved = the_one(measure_docker_archive(&saved, None, None, false).unwrap());
    assert_eq!(resaved.digest, id);
    assert_same_as_engine(&resaved, &image);
}

/// Layers the engine loads and counts, but then cannot save again: a
/// whiteout that carries bytes (it looks for them in the merged tree) and a
/// PAX sparse file ("could not verify layer data"). So they are not saved.
#[test]
fn whiteouts_with_bytes_and_sparse_files_count_as_the_engine_counts_them() {
    require_engine();
    let layers = [
        HandLayer {
            tar: layer_tar(|b| entry(b, "s", EntryType::Regular, &content(10, 8))),
            gzip: false,
            created_by: "s",
        },
        HandLayer {
            tar: layer_tar(|b| entry(b, ".wh.s", EntryType::Regular, &content(64, 5))),
            gzip: false,
            created_by: "a whiteout with bytes",
        },
        HandLayer {
            tar: sparse_layer(1_000_004),
            gzip: true,
            created_by: "a sparse file",
        },
    ];
    let counted: Vec<u64> = layers
        .iter()
        .map(|l| layer_size(l.tar.as_slice()).unwrap())
        .collect();
    assert_eq!(
        counted,
        [10, 0, 1_000_004],
        "the sparse file at its real size"
    );

    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("odd.tar");
    let tag = tag("odd");
    hand_archive(&archive, &tag, &layers);
    let image = Image { tag: tag.clone() };
    docker_ok(&["load", "-i", archive.to_str().unwrap()]);
    let engine_sizes: Vec<Option<u64>> =
        engine(&tag).layer_details.iter().map(|l| l.size).collect();
    assert_eq!(engine_sizes, [Some(10), Some(0), Some(1_000_004)]);
    let measured = the_one(measure_docker_archive(&archive, None, None, false).unwrap());
    assert_same_as_engine(&measured, &image);
    let streamed = the_one(
        measure_docker_archive_reader(
            std::fs::File::open(&archive).unwrap(),
            "odd",
            None,
            None,
            false,
        )
        .unwrap(),
    );
    assert_eq!(streamed.layer_details, measured.layer_details);
}

/// Why a layer can be counted entry by entry, with no memory of paths: the
/// engine refuses every layer in which one entry could change what another
/// counts.
#[test]
fn the_engine_refuses_layers_where_entries_would_interact() {
    require_engine();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "a path twice",
            vec![layer_tar(|b| {
                entry(b, "f", EntryType::Regular, &content(100, 1));
                entry(b, "f", EntryType::Regular, &content(30, 2));
            })],
            "duplicates of file paths not supported",
        ),
        (
            "a hard link before its target",
            vec![layer_tar(|b| {
                link(b, "h", EntryType::Link, "t");
                entry(b, "t", EntryType::Regular, &content(40, 3));
            })],
            "no such file or directory",
        ),
        (
            "a hard link to a lower layer's file",
            vec![
                layer_tar(|b| entry(b, "low", EntryType::Regular, &content(500, 4))),
                layer_tar(|b| link(b, "h", EntryType::Link, "low")),
            ],
            "no such file or directory",
        ),
        (
            "a whiteout after the file it deletes",
            vec![layer_tar(|b| {
                entry(b, "q", EntryType::Regular, &content(12, 5));
                entry(b, ".wh.q", EntryType::Regular, b"");
            })],
            "file exists",
        ),
    ];
    for (i, (what, tars, refusal)) in cases.into_iter().enumerate() {
        let layers: Vec<HandLayer> = tars
            .into_iter()
            .map(|tar| HandLayer {
                tar,
                gzip: false,
                created_by: "refused",
            })
            .collect();
        let archive = dir.path().join(format!("refused-{i}.tar"));
        let tag = tag(&format!("refused-{i}"));
        hand_archive(&archive, &tag, &layers);
        let _cleanup = Image { tag };
        let out = Command::new("docker")
            .args(["load", "-i", archive.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "the engine loaded {what}");
        assert!(stderr.contains(refusal), "{what}: {stderr}");
    }
}

// ---------------------------------------------------------------------------
// `docker save` of built images

const DUPLICATE_LAYERS: &str = "FROM scratch
COPY app /app
ENV MADE_BY=image-budget-tests
COPY conf/ /etc/conf/
COPY app /app
COPY tree/ /tree/
CMD [\"/app\"]
";

fn built_with_a_repeated_layer(name: &str) -> Image {
    build_dockerfile(
        name,
        &[
            ("app", 700_000),
            ("conf/a.conf", 500),
            ("conf/b.conf", 1_500),
            ("tree/x/y/z.bin", 40_000),
        ],
        DUPLICATE_LAYERS,
    )
}

#[test]
fn docker_save_archives_measure_as_the_engine_by_path_and_by_stream() {
    require_engine();
    let image = built_with_a_repeated_layer("saved");
    let by_engine = engine(&image.tag);
    assert_eq!(
        by_engine.layer_details[0].digest, by_engine.layer_details[2].digest,
        "the same layer twice (docker save writes a symlink for the second)"
    );
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("saved.tar");
    save(&[&image.tag], &archive);
    let files = tar_files(&std::fs::read(&archive).unwrap());
    assert!(
        files.values().any(|v| v.starts_with(b"-> ../")),
        "this engine writes a repeated layer as a symlink"
    );

    let measured = the_one(measure_docker_archive(&archive, None, None, false).unwrap());
    assert_same_as_engine(&measured, &image);
    assert_eq!(measured.digest, image.inspect("{{.Id}}"));
    // Named `oci-archive:` by mistake, a `docker save` tar is still read as
    // what it is.
    let as_oci = the_one(measure_oci_archive(&archive, None, None, false).unwrap());
    assert_eq!(as_oci.metrics, measured.metrics);
    assert_eq!(as_oci.source, "docker-archive");
    assert_eq!(measured.metrics.layers, Some(4));
    assert_eq!(measured.metrics.compressed, None);
    let instructions: Vec<&str> = measured
        .layer_details
        .iter()
        .map(|l| l.instruction.as_deref().unwrap())
        .collect();
    assert!(
        instructions[0].starts_with("COPY file:"),
        "{instructions:?}"
    );
    assert!(instructions[1].starts_with("COPY dir:"), "{instructions:?}");

    // The estimate is gzip (default level) of each layer tar as saved.
    let estimated = the_one(measure_docker_archive(&archive, None, None, true).unwrap());
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let expected: u64 = manifest[0]["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let mut path = p.as_str().unwrap().to_string();
            if let Some(target) = files[&path].strip_prefix(b"-> ../") {
                path = String::from_utf8(target.to_vec()).unwrap();
            }
            gzip_estimate(&files[&path])
        })
        .sum();
    assert_eq!(estimated.metrics.compressed, Some(expected));
    assert!(estimated.metrics.compressed_estimated);

    // The same, read once from a stream: the file, then `docker save`'s pipe.
    let file = std::fs::File::open(&archive).unwrap();
    let streamed = the_one(measure_docker_archive_reader(file, "saved", None, None, true).unwrap());
    assert_eq!(streamed.reference, "docker-archive:saved");
    assert_eq!(
        Measurement {
            reference: estimated.reference.clone(),
            ..streamed
        },
        estimated
    );

    let mut child = Command::new("docker")
        .args(["save", &image.tag])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let piped = measure_docker_archive_reader(
        child.stdout.take().unwrap(),
        "docker save",
        Some(&image.tag),
        None,
        false,
    );
    assert!(child.wait().unwrap().success());
    let piped = the_one(piped.unwrap());
    assert_eq!(
        Measurement {
            reference: measured.reference.clone(),
            ..piped
        },
        measured
    );

    // `docker save | gzip` is read too (docker load reads it).
    let gz = dir.path().join("saved.tar.gz");
    std::fs::write(&gz, gzip(&std::fs::read(&archive).unwrap())).unwrap();
    let from_gz = the_one(measure_docker_archive(&gz, None, None, false).unwrap());
    assert_eq!(from_gz.metrics.size, measured.metrics.size);
    assert_eq!(from_gz.layer_details, measured.layer_details);

    // A platform that is there is fine; one that is not names the one there.
    let all = measure_docker_archive(&archive, None, Some(&PlatformChoice::All), false).unwrap();
    assert_eq!(all.len(), 1);
    the_one(measure_docker_archive(&archive, None, Some(&one("linux/amd64")), false).unwrap());
    let err = measure_docker_archive(&archive, None, Some(&one("linux/arm64")), false).unwrap_err();
    assert_eq!(
        err,
        Error::Platform {
            archive: archive.display().to_string(),
            source: SelectError::Missing {
                wanted: "linux/arm64".into(),
                available: vec!["linux/amd64".into()]
            }
        }
    );
}

#[test]
fn an_archive_of_several_images_is_read_by_tag_or_index_and_never_guessed() {
    require_engine();
    let first = build("multi-a", &[("a.bin", 10_000)]);
    let second = build("multi-b", &[("b.bin", 20_000), ("c.bin", 30)]);
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("two.tar");
    save(&[&first.tag, &second.tag], &archive);

    let err = measure_docker_archive(&archive, None, None, false).unwrap_err();
    let Error::Ambiguous { available, .. } = &err else {
        panic!("{err}")
    };
    let mut tags = available.clone();
    tags.sort();
    let mut expected = vec![first.tag.clone(), second.tag.clone()];
    expected.sort();
    assert_eq!(tags, expected);
    assert!(
        err.to_string()
            .contains("hint: name one, as in `docker-archive:")
    );

    let picked = the_one(measure_docker_archive(&archive, Some(&second.tag), None, false).unwrap());
    assert_eq!(picked.digest, second.inspect("{{.Id}}"));
    assert_eq!(
        picked.reference,
        format!("docker-archive:{}:{}", archive.display(), second.tag)
    );
    assert_same_as_engine(&picked, &second);

    let full = format!("docker.io/{}", first.tag);
    let picked = the_one(measure_docker_archive(&archive, Some(&full), None, false).unwrap());
    assert_same_as_engine(&picked, &first);

    let mut by_index: Vec<String> = ["@0", "@1"]
        .iter()
        .map(|i| the_one(measure_docker_archive(&archive, Some(i), None, false).unwrap()).digest)
        .collect();
    by_index.sort();
    let mut ids = vec![first.inspect("{{.Id}}"), second.inspect("{{.Id}}")];
    ids.sort();
    assert_eq!(by_index, ids);

    for wanted in ["nope:1", "@2"] {
        let err = measure_docker_archive(&archive, Some(wanted), None, false).unwrap_err();
        assert!(
            matches!(&err, Error::NoSuchImage { wanted: w, available, .. } if w == wanted && available.len() == 2),
            "{err}"
        );
    }
}

/// Docker 25+ `docker save`: an OCI layout with uncompressed layer blobs,
/// plus manifest.json and repositories. Made from skopeo's OCI output.
fn docker25_archive(image: &Image, dir: &Path, out: &Path, repo_tag: Option<&str>) {
    let layout = dir.join("docker25-layout");
    skopeo_copy(
        &["--dest-oci-accept-uncompressed-layers"],
        &format!("docker-daemon:{}", image.tag),
        &format!("oci:{}:t", layout.display()),
    );
    let files = dir_files(&layout);
    let (skopeo_manifest, mut manifest, _) = only_manifest(&files);
    // skopeo keeps `tar+gzip` on the blobs it stored plain; Docker 25 says `tar`.
    let mut layers = Vec::new();
    for layer in manifest["layers"].as_array_mut().unwrap() {
        assert_eq!(
            layer["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+gzip"
        );
        let path = format!("blobs/sha256/{}", hex(layer["digest"].as_str().unwrap()));
        assert_eq!(&files[&path][257..262], b"ustar", "stored as a plain tar");
        layer["mediaType"] = json!("application/vnd.oci.image.layer.v1.tar");
        layers.push(path);
    }
    let config = manifest["config"]["digest"].as_str().unwrap().to_string();
    let manifest_bytes = serde_json::to_vec(&manifest).unwrap();
    let manifest_digest = sha256(&manifest_bytes);
    let (repo, tag) = image.tag.rsplit_once(':').unwrap();
    let mut index = json_of(&files, "index.json");
    index["manifests"][0]["digest"] = json!(manifest_digest);
    index["manifests"][0]["size"] = json!(manifest_bytes.len());
    index["manifests"][0]["annotations"] = json!({
        "io.containerd.image.name": format!("docker.io/{}", image.tag),
        "org.opencontainers.image.ref.name": tag,
    });
    let skopeo_manifest = format!("blobs/sha256/{}", hex(&skopeo_manifest));
    let mut entries: Vec<(String, Vec<u8>)> = files
        .iter()
        .filter(|(name, _)| name.starts_with("blobs/") && **name != skopeo_manifest)
        .map(|(name, data)| (name.clone(), data.clone()))
        .collect();
    entries.push((
        format!("blobs/sha256/{}", hex(&manifest_digest)),
        manifest_bytes,
    ));
    entries.push(("index.json".into(), serde_json::to_vec(&index).unwrap()));
    if let Some(repo_tag) = repo_tag {
        entries.push((
            "manifest.json".into(),
            serde_json::to_vec(&json!([{
                "Config": format!("blobs/sha256/{}", hex(&config)),
                "RepoTags": [repo_tag],
                "Layers": layers,
            }]))
            .unwrap(),
        ));
    }
    entries.push((
        "oci-layout".into(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    ));
    entries.push((
        "repositories".into(),
        serde_json::to_vec(&json!({repo: {tag: hex(&manifest_digest)}})).unwrap(),
    ));
    write_tar(out, &entries);
}

#[test]
fn docker_25_archives_with_an_oci_layout_measure_as_the_engine() {
    require_tools();
    let image = build("d25", &[("one", 250_000), ("two", 3_000), ("three", 77)]);
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("d25.tar");
    // Its own tag, so loading it below leaves the built image alone.
    let loaded_tag = format!("{}-loaded:t", image.tag.rsplit_once(':').unwrap().0);
    docker25_archive(&image, dir.path(), &archive, Some(&loaded_tag));
    let files = tar_files(&std::fs::read(&archive).unwrap());
    let (_, manifest, _) = only_manifest(&files);
    let config_digest = manifest["config"]["digest"].as_str().unwrap().to_string();
    assert_eq!(
        sha256(&files[&format!("blobs/sha256/{}", hex(&config_digest))]),
        config_digest
    );

    let measured = the_one(measure_docker_archive(&archive, None, None, false).unwrap());
    assert_same_as_engine(&measured, &image);
    assert_eq!(
        measured.digest, config_digest,
        "the image ID: the config's digest"
    );
    assert_eq!(
        measured.metrics.compressed, None,
        "the blobs are plain tars"
    );
    let estimated = the_one(
        measure_docker_archive_reader(
            std::fs::File::open(&archive).unwrap(),
            "d25",
            None,
            None,
            true,
        )
        .unwrap(),
    );
    assert!(estimated.metrics.compressed_estimated);
    assert_eq!(estimated.metrics.size, measured.metrics.size);

    // The engine loads it (through manifest.json) to the same Size.
    docker_ok(&["load", "-i", archive.to_str().unwrap()]);
    let loaded = Image { tag: loaded_tag };
    assert_eq!(loaded.inspect("{{.Id}}"), config_digest);
    assert_eq!(measured.metrics.size, Some(loaded.inspect_size()));

    // skopeo's own layout, its plain blobs labelled gzip: the content
    // decides the size. A layout is pushed blob by blob as it is, so its
    // plain blobs' own sizes are what a pull transfers: exact, estimated or
    // not, and the same in `check` and `explain`.
    let mislabelled = dir.path().join("docker25-layout");
    let measured_layout = the_one(measure_oci_layout(&mislabelled, None, None, false).unwrap());
    assert_eq!(measured_layout.metrics.size, measured.metrics.size);
    let blob_bytes: u64 = measured_layout
        .layer_details
        .iter()
        .map(|l| l.compressed.unwrap())
        .sum();
    assert_eq!(measured_layout.metrics.compressed, Some(blob_bytes));
    assert!(!measured_layout.metrics.compressed_estimated);
    assert!(blob_bytes > measured.metrics.size.unwrap(), "plain tars");
    let estimated_layout = the_one(measure_oci_layout(&mislabelled, None, None, true).unwrap());
    assert_eq!(
        estimated_layout.metrics.compressed,
        measured_layout.metrics.compressed
    );
    assert!(!estimated_layout.metrics.compressed_estimated);

    // Without manifest.json it is read as the OCI layout it is.
    let bare = dir.path().join("bare.tar");
    docker25_archive(&image, dir.path(), &bare, None);
    let measured_bare = the_one(measure_docker_archive(&bare, Some("t"), None, false).unwrap());
    assert_eq!(measured_bare.digest, config_digest);
    assert_eq!(measured_bare.source, "docker-archive");
    assert_eq!(layer_view(&measured_bare), layer_view(&measured));
}

// ---------------------------------------------------------------------------
// OCI archives and layouts (skopeo)

#[test]
fn skopeo_oci_archives_and_layouts_measure_as_the_engine_with_blob_sizes() {
    require_tools();
    let image = built_with_a_repeated_layer("oci");
    let other = build("oci-other", &[("o.bin", 12_345)]);
    let dir = tempfile::tempdir().unwrap();

    // oci-archive: a tar of a layout, layers gzip-compressed by skopeo.
    let archive = dir.path().join("image.oci.tar");
    skopeo_copy(
        &[],
        &format!("docker-daemon:{}", image.tag),
        &format!("oci-archive:{}:v1", archive.display()),
    );
    let files = tar_files(&std::fs::read(&archive).unwrap());
    let (manifest_digest, manifest, blob_sum) = only_manifest(&files);
    for selector in [None, Some("v1")] {
        let measured = the_one(measure_oci_archive(&archive, selector, None, false).unwrap());
        assert_eq!(measured.source, "oci-archive");
        assert_eq!(measured.digest, manifest_digest);
        assert_same_as_engine(&measured, &image);
        assert_eq!(
            measured.metrics.compressed,
            Some(blob_sum),
            "the manifest's layer sizes"
        );
        assert!(!measured.metrics.compressed_estimated);
        let blob_sizes: Vec<Option<u64>> = manifest["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["size"].as_u64())
            .collect();
        let compressed: Vec<Option<u64>> = measured
            .layer_details
            .iter()
            .map(|l| l.compressed)
            .collect();
        assert_eq!(compressed, blob_sizes);
    }
    let with_estimate = the_one(measure_oci_archive(&archive, None, None, true).unwrap());
    assert_eq!(
        with_estimate.metrics.compressed,
        Some(blob_sum),
        "no estimate when blobs say it"
    );
    assert!(!with_estimate.metrics.compressed_estimated);

    // oci: a layout directory holding two images under two names.
    let layout = dir.path().join("layout");
    skopeo_copy(
        &[],
        &format!("docker-daemon:{}", image.tag),
        &format!("oci:{}:first", layout.display()),
    );
    skopeo_copy(
        &[],
        &format!("docker-daemon:{}", other.tag),
        &format!("oci:{}:second", layout.display()),
    );
    let measured = the_one(measure_oci_layout(&layout, Some("second"), None, false).unwrap());
    assert_eq!(measured.source, "oci");
    assert_eq!(
        measured.reference,
        format!("oci:{}:second", layout.display())
    );
    assert_same_as_engine(&measured, &other);
    let first = the_one(measure_oci_layout(&layout, Some("first"), None, false).unwrap());
    assert_eq!(first.metrics.compressed, Some(blob_sum));
    assert_eq!(
        first.digest, manifest_digest,
        "skopeo writes the same manifest"
    );

    let err = measure_oci_layout(&layout, None, None, false).unwrap_err();
    assert_eq!(
        err,
        Error::Ambiguous {
            archive: layout.display().to_string(),
            transport: "oci",
            available: vec!["first".into(), "second".into()],
        }
    );
    let err = measure_oci_layout(&layout, Some("third"), None, false).unwrap_err();
    assert!(
        err.to_string()
            .contains("has no image `third`; it has: first, second"),
        "{err}"
    );

    // zstd layers.
    let zstd_layout = dir.path().join("zstd");
    skopeo_copy(
        &["--dest-compress-format", "zstd"],
        &format!("docker-daemon:{}", image.tag),
        &format!("oci:{}:z", zstd_layout.display()),
    );
    let zfiles = dir_files(&zstd_layout);
    let (zdigest, zmanifest, zsum) = only_manifest(&zfiles);
    assert!(
        zmanifest["layers"][0]["mediaType"]
            .as_str()
            .unwrap()
            .ends_with("+zstd")
    );
    let measured = the_one(measure_oci_layout(&zstd_layout, None, None, false).unwrap());
    assert_eq!(measured.digest, zdigest);
    assert_eq!(measured.metrics.compressed, Some(zsum));
    assert_same_as_engine(&measured, &image);

    // Docker v2 media types in a layout (the engine's own config, kept as is).
    let v2_layout = dir.path().join("v2s2");
    skopeo_copy(
        &["--format", "v2s2"],
        &format!("docker-daemon:{}", image.tag),
        &format!("oci:{}:d", v2_layout.display()),
    );
    let (v2_digest, v2_manifest, v2_sum) = only_manifest(&dir_files(&v2_layout));
    assert_eq!(
        v2_manifest["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(
        v2_manifest["config"]["digest"],
        image.inspect("{{.Id}}").as_str()
    );
    let measured = the_one(measure_oci_layout(&v2_layout, Some("d"), None, false).unwrap());
    assert_eq!(measured.digest, v2_digest);
    assert_eq!(measured.metrics.compressed, Some(v2_sum));
    assert_same_as_engine(&measured, &image);
}

/// A layout with one image for two platforms and an attestation, as
/// BuildKit writes it: index.json → image index → manifests (`nested`), or
/// the manifests right in index.json. `docker`: Docker v2 media types (a
/// manifest list of v2 manifests). Returns the two platform manifests' digests.
fn multi_platform_layout(
    image: &Image,
    layout: &Path,
    nested: bool,
    docker: bool,
) -> (String, String) {
    let format: &[&str] = if docker { &["--format", "v2s2"] } else { &[] };
    skopeo_copy(
        format,
        &format!("docker-daemon:{}", image.tag),
        &format!("oci:{}:amd", layout.display()),
    );
    let files = dir_files(layout);
    let (amd_digest, manifest, _) = only_manifest(&files);
    let amd_size = files[&format!("blobs/sha256/{}", hex(&amd_digest))].len();
    let put = |bytes: &[u8]| -> (String, usize) {
        let digest = sha256(bytes);
        std::fs::write(layout.join("blobs/sha256").join(hex(&digest)), bytes).unwrap();
        (digest, bytes.len())
    };

    // The arm64 image: the same layers, a config that says arm64/v8.
    let mut config = blob_json(&files, manifest["config"]["digest"].as_str().unwrap());
    config["architecture"] = json!("arm64");
    config["variant"] = json!("v8");
    let (config_digest, config_size) = put(&serde_json::to_vec(&config).unwrap());
    let mut arm = manifest.clone();
    arm["config"]["digest"] = json!(config_digest);
    arm["config"]["size"] = json!(config_size);
    let (arm_digest, arm_size) = put(&serde_json::to_vec(&arm).unwrap());

    // An attestation manifest, as BuildKit attaches one.
    let (statement, statement_size) = put(br#"{"_type":"https://in-toto.io/Statement/v0.1"}"#);
    let (empty_config, _) = put(b"{}");
    let attestation = json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": empty_config, "size": 2},
        "layers": [{"mediaType": "application/vnd.in-toto+json", "digest": statement, "size": statement_size}],
    });
    let (att_digest, att_size) = put(&serde_json::to_vec(&attestation).unwrap());

    let (manifest_type, list_type) = if docker {
        (
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
        )
    } else {
        (
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.oci.image.index.v1+json",
        )
    };
    assert_eq!(manifest["mediaType"], manifest_type);
    let platform_entries = json!([
        {"mediaType": manifest_type, "digest": amd_digest, "size": amd_size,
         "platform": {"architecture": "amd64", "os": "linux"}},
        {"mediaType": manifest_type, "digest": arm_digest, "size": arm_size,
         "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": att_digest, "size": att_size,
         "platform": {"architecture": "unknown", "os": "unknown"},
         "annotations": {"vnd.docker.reference.digest": amd_digest,
                         "vnd.docker.reference.type": "attestation-manifest"}},
    ]);
    let index_type = "application/vnd.oci.image.index.v1+json";
    let top = if nested {
        let image_index =
            json!({"schemaVersion": 2, "mediaType": list_type, "manifests": platform_entries});
        let (index_digest, index_size) = put(&serde_json::to_vec(&image_index).unwrap());
        json!([{"mediaType": list_type, "digest": index_digest, "size": index_size,
                "annotations": {"org.opencontainers.image.ref.name": "multi"}}])
    } else {
        platform_entries
    };
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": index_type, "manifests": top}))
            .unwrap(),
    )
    .unwrap();
    (amd_digest, arm_digest)
}

fn platforms(measured: &[Measurement]) -> Vec<&str> {
    measured
        .iter()
        .map(|m| m.platform.as_deref().unwrap())
        .collect()
}

#[test]
fn multi_platform_layouts_measure_each_platform_and_skip_attestations() {
    require_tools();
    let image = build("multi-platform", &[("m.bin", 90_000), ("n.bin", 1_000)]);
    let size = Some(image.inspect_size());
    let dir = tempfile::tempdir().unwrap();

    for (nested, docker) in [(true, false), (false, false), (true, true)] {
        let layout = dir.path().join(format!("nested-{nested}-docker-{docker}"));
        let (amd, arm) = multi_platform_layout(&image, &layout, nested, docker);

        let all = measure_oci_layout(&layout, None, Some(&PlatformChoice::All), false).unwrap();
        assert_eq!(
            platforms(&all),
            ["linux/amd64", "linux/arm64/v8"],
            "nested: {nested}, docker: {docker}"
        );
        let digests: Vec<&str> = all.iter().map(|m| m.digest.as_str()).collect();
        assert_eq!(digests, [amd.as_str(), arm.as_str()]);
        for m in &all {
            assert_eq!(m.metrics.size, size);
            assert!(m.metrics.compressed.is_some_and(|c| c > 0));
        }
        assert_eq!(all[0].metrics.compressed, all[1].metrics.compressed);

        let arm64 =
            the_one(measure_oci_layout(&layout, None, Some(&one("linux/arm64")), false).unwrap());
        assert_eq!(arm64.platform.as_deref(), Some("linux/arm64/v8"));
        assert_eq!(arm64.digest, arm);
        let default = the_one(measure_oci_layout(&layout, None, None, false).unwrap());
        assert_eq!(default.platform.as_deref(), Some("linux/amd64"));
        assert_same_as_engine(&default, &image);

        let err = measure_oci_layout(&layout, None, Some(&one("linux/s390x")), false).unwrap_err();
        assert_eq!(
            err,
            Error::Platform {
                archive: layout.display().to_string(),
                source: SelectError::Missing {
                    wanted: "linux/s390x".into(),
                    available: vec!["linux/amd64".into(), "linux/arm64/v8".into()],
                },
            }
        );
        assert!(
            err.to_string()
                .contains("hint: name one of those (`platform` in budgets.toml")
        );
    }

    // The nested layout as an OCI archive, and named by its tag.
    let archive = dir.path().join("multi.tar");
    let files = dir_files(&dir.path().join("nested-true-docker-false"));
    write_tar(&archive, &files.into_iter().collect::<Vec<_>>());
    let all =
        measure_oci_archive(&archive, Some("multi"), Some(&PlatformChoice::All), false).unwrap();
    assert_eq!(platforms(&all), ["linux/amd64", "linux/arm64/v8"]);
    assert!(
        all.iter()
            .all(|m| m.source == "oci-archive" && m.metrics.size == size)
    );
}

// ---------------------------------------------------------------------------
// Bad input: each a clear error, never a panic.

/// Rewrites a tar, changing or dropping files (`None` drops).
fn rewrite(from: &Path, to: &Path, change: impl Fn(&str, &[u8]) -> Option<Vec<u8>>) {
    let files = tar_files(&std::fs::read(from).unwrap());
    let kept: Vec<(String, Vec<u8>)> = files
        .iter()
        .filter_map(|(name, data)| {
            if data.starts_with(b"-> ") {
                return Some((name.clone(), data.clone()));
            }
            change(name, data).map(|d| (name.clone(), d))
        })
        .collect();
    write_tar(to, &kept);
}

fn hint_line(err: &Error) -> String {
    let text = err.to_string();
    assert_eq!(text.lines().count(), 2, "what/why, then a hint: {text}");
    assert!(
        text.lines().nth(1).unwrap().starts_with("  hint: "),
        "{text}"
    );
    text
}

#[test]
fn missing_paths_and_files_that_are_no_tar_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.tar");
    for err in [
        measure_docker_archive(&missing, None, None, false).unwrap_err(),
        measure_oci_archive(&missing, None, None, false).unwrap_err(),
        measure_oci_layout(&missing, None, None, false).unwrap_err(),
    ] {
        assert!(matches!(&err, Error::Open { .. }), "{err}");
        assert!(hint_line(&err).contains("No such file or directory"));
    }
    let err = measure_docker_archive(dir.path(), None, None, false).unwrap_err();
    assert!(err.to_string().contains("it is a directory"), "{err}");

    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        "these are not the images you are looking for\n".repeat(40),
    )
    .unwrap();
    let random = dir.path().join("random.bin");
    std::fs::write(&random, content(10_000, 9)).unwrap();
    let empty = dir.path().join("empty.tar");
    std::fs::write(&empty, b"").unwrap();
    for (path, reason) in [
        (&text, "it does not start with a tar header"),
        (&random, "it does not start with a tar header"),
        (&empty, "it holds no files"),
    ] {
        let err = measure_docker_archive(path, None, None, false).unwrap_err();
        assert_eq!(
            err,
            Error::NotTar {
                archive: path.display().to_string(),
                reason: reason.to_string()
            }
        );
        hint_line(&err);
        let err = measure_oci_archive(path, None, None, false).unwrap_err();
        assert!(matches!(&err, Error::NotTar { .. }), "{err}");
        let bytes = std::fs::read(path).unwrap();
        let err = measure_docker_archive_reader(bytes.as_slice(), "stdin", None, None, false)
            .unwrap_err();
        assert!(matches!(&err, Error::NotTar { .. }), "{err}");
    }

    // A tar, but not of an image.
    let other = dir.path().join("other.tar");
    write_tar(&other, &[("hello.txt".into(), b"hi".to_vec())]);
    let err = measure_docker_archive(&other, None, None, false).unwrap_err();
    assert_eq!(
        hint_line(&err),
        format!(
            "`{}` has no `manifest.json`: it is not an archive that `docker save` writes, or it was cut short\n  hint: write it again with `docker save` or `skopeo copy`",
            other.display()
        )
    );
    let err = measure_oci_archive(&other, None, None, false).unwrap_err();
    assert!(
        matches!(
            err,
            Error::MissingFile {
                file: "index.json",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn truncated_malformed_and_incomplete_archives_are_clear_errors() {
    require_tools();
    // One layer over the in-memory limit for small files (8 MiB), so the
    // stream reader counts it while it passes.
    let image = build("broken", &[("big.bin", 9_000_000), ("small.bin", 1_000)]);
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("good.tar");
    save(&[&image.tag], &archive);
    let bytes = std::fs::read(&archive).unwrap();

    // Cut short in the middle of the big layer.
    let cut = dir.path().join("cut.tar");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = measure_docker_archive(&cut, None, None, false).unwrap_err();
    assert!(matches!(&err, Error::Truncated { .. }), "{err}");
    hint_line(&err);
    let err = measure_docker_archive_reader(&bytes[..bytes.len() / 2], "cut", None, None, false)
        .unwrap_err();
    assert!(matches!(&err, Error::Truncated { .. }), "{err}");
    // Cut inside a header.
    let err =
        measure_docker_archive_reader(&bytes[..1024 + 100], "cut", None, None, false).unwrap_err();
    assert!(matches!(&err, Error::Truncated { .. }), "{err}");

    // manifest.json malformed.
    let malformed = dir.path().join("malformed.tar");
    rewrite(&archive, &malformed, |name, data| {
        Some(if name == "manifest.json" {
            b"[{\"Config\": 7".to_vec()
        } else {
            data.to_vec()
        })
    });
    for err in [
        measure_docker_archive(&malformed, None, None, false).unwrap_err(),
        measure_docker_archive_reader(
            std::fs::File::open(&malformed).unwrap(),
            "m",
            None,
            None,
            false,
        )
        .unwrap_err(),
    ] {
        assert!(
            matches!(&err, Error::Malformed { file, .. } if file == "manifest.json"),
            "{err}"
        );
        hint_line(&err);
    }

    // A layer missing from the archive.
    let manifest: Value = serde_json::from_slice(&tar_files(&bytes)["manifest.json"]).unwrap();
    let big_layer = manifest[0]["Layers"][0].as_str().unwrap().to_string();
    let incomplete = dir.path().join("incomplete.tar");
    rewrite(&archive, &incomplete, |name, data| {
        (name != big_layer).then(|| data.to_vec())
    });
    let err = measure_docker_archive(&incomplete, None, None, false).unwrap_err();
    assert_eq!(
        err,
        Error::MissingBlob {
            archive: incomplete.display().to_string(),
            blob: big_layer.clone(),
            listed_in: "manifest.json".into(),
        }
    );
    hint_line(&err);

    // A layer whose bytes changed: its diff ID no longer matches.
    let damaged = dir.path().join("damaged.tar");
    rewrite(&archive, &damaged, |name, data| {
        let mut data = data.to_vec();
        if name == big_layer {
            let middle = data.len() / 2;
            data[middle] ^= 0xff;
        }
        Some(data)
    });
    let err = measure_docker_archive(&damaged, None, None, false).unwrap_err();
    assert!(
        matches!(&err, Error::Damaged { blob, .. } if *blob == big_layer),
        "{err}"
    );
    hint_line(&err);

    // An OCI layout with index.json malformed, then with a blob missing.
    let layout = dir.path().join("layout");
    skopeo_copy(
        &[],
        &format!("docker-daemon:{}", image.tag),
        &format!("oci:{}:t", layout.display()),
    );
    let index = std::fs::read(layout.join("index.json")).unwrap();
    std::fs::write(layout.join("index.json"), &index[..index.len() - 3]).unwrap();
    let err = measure_oci_layout(&layout, None, None, false).unwrap_err();
    assert!(
        matches!(&err, Error::Malformed { file, .. } if file == "index.json"),
        "{err}"
    );
    hint_line(&err);
    std::fs::write(layout.join("index.json"), &index).unwrap();

    let files = dir_files(&layout);
    let (digest, manifest, _) = only_manifest(&files);
    let layer = manifest["layers"][1]["digest"].as_str().unwrap();
    let blob = format!("blobs/sha256/{}", hex(layer));
    std::fs::remove_file(layout.join(&blob)).unwrap();
    let err = measure_oci_layout(&layout, None, None, false).unwrap_err();
    assert_eq!(
        err,
        Error::MissingBlob {
            archive: layout.display().to_string(),
            blob,
            listed_in: digest,
        }
    );
    let err = measure_oci_layout(&PathBuf::from(&archive), None, None, false).unwrap_err();
    assert!(
        err.to_string().contains("it is a file, not a directory"),
        "{err}"
    );
}

/// An OCI layout written by umoci, with no engine involved, measures as the
/// engine counts it once skopeo loads it there.
#[test]
fn a_layout_built_by_umoci_measures_as_the_engine_counts_it() {
    require_engine();
    require_tool("umoci");
    require_tool("skopeo");
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let bundle = work.path().join("bundle");
    let image = format!("{}:t", layout.display());
    run("umoci", &["init", "--layout", layout.to_str().unwrap()]);
    run("umoci", &["new", "--image", &image]);
    run(
        "umoci",
        &["unpack", "--image", &image, bundle.to_str().unwrap()],
    );
    let rootfs = bundle.join("rootfs");
    std::fs::create_dir_all(rootfs.join("app/lib")).unwrap();
    std::fs::write(rootfs.join("app/server"), content(654_321, 3)).unwrap();
    std::fs::write(rootfs.join("app/lib/libx.so.1"), content(12_345, 4)).unwrap();
    std::os::unix::fs::symlink("libx.so.1", rootfs.join("app/lib/libx.so")).unwrap();
    std::fs::hard_link(rootfs.join("app/server"), rootfs.join("app/server-again")).unwrap();
    run(
        "umoci",
        &["repack", "--image", &image, bundle.to_str().unwrap()],
    );

    let measured = measure_oci_layout(&layout, Some("t"), None, false).unwrap();
    assert_eq!(measured.len(), 1);
    // File bytes, the symlink's target, and the hard-linked file once.
    assert_eq!(
        measured[0].metrics.size,
        Some(654_321 + 12_345 + "libx.so.1".len() as u64)
    );
    assert_eq!(measured[0].source, "oci");

    let tag = tag("umoci");
    run(
        "skopeo",
        &[
            "copy",
            "--quiet",
            &format!("oci:{image}"),
            &format!("docker-daemon:{tag}"),
        ],
    );
    let loaded = Image { tag };
    assert_eq!(measured[0].metrics.size, Some(loaded.inspect_size()));
}

/// The bytes a container of `tag` sees: its flattened file system (`docker
/// export`), counted as the engine counts a layer.
fn visible_bytes(tag: &str) -> u64 {
    let created = docker_ok(&["create", tag, "/nothing-runs"]);
    let id = String::from_utf8_lossy(&created.stdout).trim().to_string();
    let out = Command::new("docker")
        .args(["export", &id])
        .output()
        .expect("docker export");
    let _ = Command::new("docker").args(["rm", "-f", &id]).output();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Without what the engine adds to every container (`.dockerenv`, the
    // files it mounts in /etc, `/etc/mtab -> /proc/mounts`, /dev, /proc, /sys).
    let added = [
        ".dockerenv",
        "etc/hostname",
        "etc/hosts",
        "etc/resolv.conf",
        "etc/mtab",
    ];
    let mut exported = tar::Archive::new(out.stdout.as_slice());
    let mut kept = tar::Builder::new(Vec::new());
    for entry in exported.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry
            .path()
            .unwrap()
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        let top = path.split('/').next().unwrap_or_default().to_string();
        if added.contains(&path.as_str()) || ["dev", "proc", "sys"].contains(&top.as_str()) {
            continue;
        }
        let mut header = entry.header().clone();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        kept.append_data(&mut header, &path, data.as_slice())
            .unwrap();
    }
    layer_size(kept.into_inner().unwrap().as_slice()).unwrap()
}

#[test]
fn wasted_bytes_are_exact_and_visible_plus_wasted_is_the_engines_size() {
    require_engine();
    let bytes = |n: usize, seed: u64| content(n, seed);
    let layers = [
        HandLayer {
            tar: layer_tar(|b| {
                entry(b, "app/", EntryType::Directory, &[]);
                entry(b, "app/bin", EntryType::Regular, &bytes(100_000, 1));
                entry(b, "app/keep", EntryType::Regular, &bytes(7_000, 2));
                entry(b, "tmp/", EntryType::Directory, &[]);
                entry(b, "tmp/a", EntryType::Regular, &bytes(10_000, 3));
                entry(b, "tmp/sub/", EntryType::Directory, &[]);
                entry(b, "tmp/sub/b", EntryType::Regular, &bytes(20_000, 4));
                entry(b, "etc/", EntryType::Directory, &[]);
                entry(b, "etc/x", EntryType::Regular, &bytes(11_000, 5));
                entry(b, "bin/", EntryType::Directory, &[]);
                entry(b, "bin/tool", EntryType::Regular, &bytes(40_000, 6));
                link(b, "bin/alias", EntryType::Link, "bin/tool");
                entry(b, "lib/", EntryType::Directory, &[]);
                entry(b, "lib/so", EntryType::Regular, &bytes(8_000, 7));
                entry(b, "x/", EntryType::Directory, &[]);
                entry(b, "x/inner", EntryType::Regular, &bytes(50_000, 8));
            }),
            gzip: true,
            created_by: "COPY . /",
        },
        HandLayer {
            tar: layer_tar(|b| {
                entry(b, "app/", EntryType::Directory, &[]);
                entry(b, "app/bin", EntryType::Regular, &bytes(60_000, 9));
                entry(b, "tmp/", EntryType::Directory, &[]);
                entry(b, "tmp/.wh.sub", EntryType::Regular, &[]);
                entry(b, "tmp/.wh.a", EntryType::Regular, &[]);
                entry(b, "etc/", EntryType::Directory, &[]);
                entry(b, "etc/.wh..wh..opq", EntryType::Regular, &[]);
                entry(b, "etc/z", EntryType::Regular, &bytes(4_000, 10));
                entry(b, "bin/", EntryType::Directory, &[]);
                entry(b, "bin/.wh.tool", EntryType::Regular, &[]);
                entry(b, "lib/", EntryType::Directory, &[]);
                entry(b, "lib/.wh.so", EntryType::Regular, &[]);
                entry(b, "x", EntryType::Regular, &bytes(9_000, 11));
            }),
            gzip: false,
            created_by: "RUN rm -rf /tmp/* /lib/so /bin/tool && build",
        },
        HandLayer {
            tar: layer_tar(|b| {
                entry(b, "tmp/", EntryType::Directory, &[]);
                entry(b, "tmp/a", EntryType::Regular, &bytes(5_000, 12));
                entry(b, "x/", EntryType::Directory, &[]);
                entry(b, "x/new", EntryType::Regular, &bytes(1, 13));
            }),
            gzip: true,
            created_by: "COPY a /tmp/a",
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("waste.tar");
    let tag = tag("waste");
    hand_archive(&archive, &tag, &layers);
    let image = Image { tag: tag.clone() };
    docker_ok(&["load", "-i", archive.to_str().unwrap()]);

    // Hidden: app/bin's first copy, tmp/a's first copy, tmp/sub/b, etc/x
    // (opaque etc), lib/so, x/inner (x became a file) and the file x (a
    // directory again). bin/tool is deleted, but bin/alias still shows its bytes.
    let wasted = 100_000 + 10_000 + 20_000 + 11_000 + 8_000 + 50_000 + 9_000;
    let measured = the_one(measure_docker_archive(&archive, None, None, false).unwrap());
    assert_eq!(measured.metrics.size, Some(image.inspect_size()));
    assert_eq!(measured.metrics.wasted, Some(wasted));
    let visible = visible_bytes(&tag);
    assert_eq!(visible, 7_000 + 40_000 + 60_000 + 4_000 + 5_000 + 1);
    assert_eq!(
        image.inspect_size() - wasted,
        visible,
        "visible + wasted = Size"
    );

    // The same from the engine (its export), the registry (its layer blobs,
    // which the engine compressed anew when pushing) and the archive.
    let registry = common::registry::LocalRegistry::start();
    let pushed = registry.docker_push(&image, "waste/img:1");
    let work = workdir(&format!(
        "[images.engine]\nref = \"docker-daemon:{tag}\"\nmax-wasted = \"200kB\"\n\n\
         [images.archive]\nref = \"docker-archive:{}\"\nmax-wasted = \"300kB\"\n\n\
         [images.registry]\nref = \"docker://{pushed}\"\nmax-wasted = \"300kB\"\n",
        archive.display()
    ));
    let out = budget(work.path(), &["check", "--format", "json"]);
    assert_exit(&out, 1);
    let report = json(&out);
    let engine_row = row(&report, "engine");
    assert_eq!(engine_row["wasted"], wasted);
    assert_eq!(engine_row["status"], "fail");
    assert_eq!(engine_row["findings"][0]["code"], "max-wasted");
    assert_eq!(engine_row["findings"][0]["actual"], wasted);
    for name in ["archive", "registry"] {
        assert_eq!(row(&report, name)["wasted"], wasted, "{name}");
        assert_eq!(row(&report, name)["size"], image.inspect_size(), "{name}");
        assert_eq!(row(&report, name)["status"], "pass", "{name}");
    }

    // `explain` names each wasted file, the layer that added it and the one
    // that hid it, the same from all three; bin/tool's bytes are shown
    // through its hard link bin/alias, not wasted.
    let explained: Vec<Value> = [
        format!("docker-daemon:{tag}"),
        format!("docker://{pushed}"),
        format!("docker-archive:{}", archive.display()),
    ]
    .iter()
    .map(|reference| {
        let out = budget(
            work.path(),
            &["explain", reference, "--format", "json", "--top", "50"],
        );
        assert_exit(&out, 0);
        json(&out)
    })
    .collect();
    let hidden: Vec<(String, u64, u64, u64, String)> = explained[0]["wasted_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["path"].as_str().unwrap().to_string(),
                w["size"].as_u64().unwrap(),
                w["layer"].as_u64().unwrap(),
                w["hidden_by"].as_u64().unwrap(),
                w["how"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = |path: &str, size: u64, layer: u64, by: u64, how: &str| {
        (path.to_string(), size, layer, by, how.to_string())
    };
    assert_eq!(
        hidden,
        [
            want("/app/bin", 100_000, 1, 2, "rewritten"),
            want("/x/inner", 50_000, 1, 2, "rewritten"),
            want("/tmp/sub/b", 20_000, 1, 2, "deleted"),
            want("/etc/x", 11_000, 1, 2, "deleted"),
            want("/tmp/a", 10_000, 1, 2, "deleted"),
            want("/x", 9_000, 2, 3, "rewritten"),
            want("/lib/so", 8_000, 1, 2, "deleted"),
        ]
    );
    assert_eq!(explained[0]["wasted"], wasted);
    assert_eq!(explained[0]["visible"], visible);
    let alias = explained[0]["largest"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "/bin/alias")
        .expect("bin/alias is visible");
    assert_eq!(
        (&alias["size"], &alias["layer"]),
        (&json!(40_000), &json!(1))
    );
    let same = |v: &Value| {
        json!([
            v["size"],
            v["visible"],
            v["wasted"],
            v["files"],
            v["largest"],
            v["wasted_files"],
            v["advice"]
        ])
    };
    assert_eq!(same(&explained[1]), same(&explained[0]), "registry");
    assert_eq!(same(&explained[2]), same(&explained[0]), "archive");
}
