use super::*;

#[test]
fn index_is_html_and_not_immutable() {
    let index = index();
    assert!(index.content_type.starts_with("text/html"));
    assert!(!index.immutable);
    assert!(std::str::from_utf8(index.bytes).is_ok_and(|html| html.contains("id=\"app\"")));
    assert_eq!(get("/").map(|a| a.bytes.len()), Some(index.bytes.len()));
}

#[test]
fn table_is_sorted_and_assets_are_immutable() {
    let names: Vec<&str> = paths().collect();
    assert!(names.windows(2).all(|pair| pair[0] < pair[1]), "{names:?}");
    for name in names {
        let asset = get(name).expect("listed file is found");
        assert_eq!(asset.immutable, name.starts_with("assets/"), "{name}");
    }
}

#[test]
fn unknown_paths_are_none() {
    assert!(get("/no/such/file.js").is_none());
    assert!(get("../Cargo.toml").is_none());
}
