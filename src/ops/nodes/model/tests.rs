use super::*;

fn state(status: ProbeStatus, fails: i64, oks: i64) -> ProbeState {
    ProbeState {
        status,
        fails_in_row: fails,
        oks_in_row: oks,
    }
}

#[test]
fn down_after_n_failures_up_after_m_successes() {
    let s = ProbeSettings {
        down_after: 3,
        up_after: 2,
        ..ProbeSettings::default()
    };
    let mut st = state(ProbeStatus::Unknown, 0, 0);
    let (n, changed) = after_probe(st, true, &s);
    assert_eq!((n.status, changed), (ProbeStatus::Unknown, false));
    st = n;
    let (n, changed) = after_probe(st, true, &s);
    assert_eq!((n.status, changed), (ProbeStatus::Up, true));
    st = n;
    for i in 1..=3 {
        let (n, changed) = after_probe(st, false, &s);
        assert_eq!(n.fails_in_row, i);
        assert_eq!(changed, i == 3);
        st = n;
    }
    assert_eq!(st.status, ProbeStatus::Down);
    // one success is not enough, and a failure starts the count again
    let (n, _) = after_probe(st, true, &s);
    assert_eq!(n.status, ProbeStatus::Down);
    let (n, _) = after_probe(n, false, &s);
    let (n, _) = after_probe(n, true, &s);
    let (n, changed) = after_probe(n, true, &s);
    assert_eq!((n.status, changed), (ProbeStatus::Up, true));
    assert!(is_flapping(4, &s) && !is_flapping(3, &s));
}

#[test]
fn shown_status_puts_maintenance_and_flapping_first() {
    assert_eq!(
        ShownStatus::of(ProbeStatus::Down, true, true),
        ShownStatus::Maintenance
    );
    assert_eq!(
        ShownStatus::of(ProbeStatus::Up, true, false),
        ShownStatus::Degraded
    );
    assert_eq!(
        ShownStatus::of(ProbeStatus::Down, false, false),
        ShownStatus::Down
    );
    assert!(ShownStatus::Down.rank() < ShownStatus::Up.rank());
}

#[test]
fn addresses_are_host_names_or_ips() {
    for ok in ["10.0.0.5", "::1", "web1.example.net", "localhost", "a-b.c"] {
        assert!(valid_address(ok), "{ok}");
    }
    for bad in [
        "",
        "http://x",
        "web1:22",
        "a..b",
        "-a.b",
        "x y",
        "1.2.3.999",
        "a_b.c",
    ] {
        assert!(!valid_address(bad), "{bad}");
    }
}

#[test]
fn the_form_says_what_is_wrong_beside_each_field() {
    let f = NodeForm {
        hostname: "web1.example.net".into(),
        node_type: "WEB".into(),
        region: "eu".into(),
        address: "10.0.0.5".into(),
        check_kind: "HTTP".into(),
        check_url: "ftp://10.0.0.5/".into(),
        expected_status: "200".into(),
        interval_secs: "4".into(),
        timeout_ms: "1000".into(),
        ..NodeForm::default()
    };
    let e = check_form(&f).unwrap_err();
    assert!(e.has("check_url") && e.has("interval_secs"));
    assert!(!e.has("address") && !e.has("hostname"));
    let ok = check_form(&NodeForm {
        check_url: "http://10.0.0.5:8080/health".into(),
        interval_secs: "5".into(),
        ..f.clone()
    })
    .unwrap();
    assert_eq!(ok.interval_secs, 5);
    assert!(check_url("http://10.9.9.9/", "10.0.0.5").is_err());
    assert!(check_url("https://web1.example.net/", "10.0.0.5").is_ok());
    let e = check_form(&NodeForm {
        address: "not an address".into(),
        check_kind: "TCP".into(),
        check_port: "0".into(),
        ..f
    })
    .unwrap_err();
    assert!(e.has("address") && e.has("check_port"));
}

#[test]
fn figures_read_as_people_write_them() {
    assert_eq!(bytes_words(512), "512 B");
    assert_eq!(bytes_words(1536 * 1024 * 1024), "1.5 GiB");
    assert_eq!(hundredths(1234), "12.34");
    assert_eq!(hundredths(5), "0.05");
}
