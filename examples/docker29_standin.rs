//! The tests' stand-in for Docker 29's containerd image store
//! (tests/fakes/moby29.rs) as a program, for scripts/bench-containerd: takes
//! `docker save` tars, imports each into a private containerd (`ctr images
//! import --compress-blobs`, as the containerd store keeps gzip blobs),
//! exports it with `ctr images export` and serves the exports on
//! `DIR/standin.sock` until it is killed. Prints the socket's address, then
//! `ready`, on stdout.
//!
//! Usage: docker29_standin DIR TAG=SAVED.tar...
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::disallowed_macros)]

#[path = "../tests/common/containerd.rs"]
mod containerd;
#[path = "../tests/fakes/moby29.rs"]
mod moby29;

use std::io::Write;
use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: docker29_standin DIR TAG=SAVED.tar...");
        std::process::exit(2);
    };
    let ctd = containerd::Containerd::start();
    let mut images = Vec::new();
    for arg in args {
        let Some((tag, saved)) = arg.split_once('=') else {
            eprintln!("`{arg}` is not TAG=SAVED.tar");
            std::process::exit(2);
        };
        ctd.import(std::path::Path::new(saved), &[]);
        let export = dir.join(format!("export-{}.tar", images.len()));
        ctd.export(&export, tag, Some("linux/amd64"));
        images.push((tag.to_string(), export));
    }
    let standin = moby29::StandIn::start(&dir, images);
    println!("{}\nready", standin.host());
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}
