//! Content digests as manifests and configs write them: `sha256:<hex>`.

use sha2::{Digest, Sha256};

/// `sha256:<hex>` of what a hasher saw.
pub fn hex_digest(hasher: Sha256) -> String {
    let mut text = String::with_capacity(71);
    text.push_str("sha256:");
    for byte in &hasher.finalize() {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

/// `sha256:<hex>` of some bytes.
pub fn sha256_of(bytes: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(bytes);
    hex_digest(hasher)
}
