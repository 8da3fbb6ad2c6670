//! The JSON report (schema image-budget/report/v1).

use super::*;

#[test]
fn json_round_trips_with_the_documented_fields() {
    let report = sample();
    let text = render(&report, Format::Json, false);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["schema"], "image-budget/report/v1");
    assert_eq!(value["passed"], false);
    let api = &value["images"][1];
    for field in [
        "name",
        "ref",
        "source",
        "digest",
        "platform",
        "size",
        "compressed",
        "compressed_estimated",
        "layers",
        "wasted",
        "baseline",
        "delta",
        "status",
        "findings",
        "error",
    ] {
        assert!(api.get(field).is_some(), "missing {field}");
    }
    assert_eq!(api["size"], 14_000_000);
    assert_eq!(api["compressed"], serde_json::Value::Null);
    assert_eq!(api["baseline"]["ref"], "acme/api:main");
    assert_eq!(api["delta"]["size"], 500_000);
    assert_eq!(api["status"], "warn");
    assert_eq!(api["budget"]["max_growth"], "5%");
    assert_eq!(api["findings"][0]["code"], "warn-growth");
    assert_eq!(api["findings"][0]["severity"], "warn");
    let back: Report = serde_json::from_str(&text).unwrap();
    assert_eq!(back, report);
}
