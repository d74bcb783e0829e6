use super::*;

#[test]
fn subjects_are_city_entity_action_in_safe_tokens() {
    assert_eq!(
        subject("city", "case", "receive"),
        "urbis.city.case.receive"
    );
    assert_eq!(
        subject("shanghai-pd", "data access", "read.rows*"),
        "urbis.shanghai-pd.data_access.read_rows_"
    );
    assert_eq!(subject("c", "", "X"), "urbis.c._.x");
    assert_eq!(stream_name("shanghai-pd"), "URBIS_SHANGHAI_PD");
}

#[test]
fn city_names_are_short_lower_case_tokens() {
    assert!(check_city("city").is_ok());
    assert!(check_city("t1-2_x").is_ok());
    for bad in ["", "City", "a.b", "a b", "城市", &"x".repeat(33)] {
        assert!(check_city(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn leases_have_distinct_positive_keys() {
    let keys: Vec<i64> = LEASES.iter().map(|name| lease_key(name)).collect();
    assert!(keys.iter().all(|key| *key > 0));
    assert_ne!(keys[0], keys[1]);
    assert_eq!(lease_key("sla"), lease_key("sla"));
}
