use super::*;

#[test]
fn urls() {
    let o = Options::from_url("mqtt://example.org:1884").unwrap();
    assert_eq!(o.servers, vec![Server::tcp("example.org", 1884)]);
    let o = Options::from_url("mqtt://10.0.0.1").unwrap();
    assert_eq!(o.servers, vec![Server::tcp("10.0.0.1", 1883)]);
    let o = Options::from_url("mqtt://[::1]:1885/").unwrap();
    assert_eq!(o.servers, vec![Server::tcp("::1", 1885)]);
    for bad in ["http://x", "mqtt://", "mqtt://host:port", "mqtt://h/path"] {
        assert!(Options::from_url(bad).is_err(), "{bad}");
    }
    assert!(Options::from_urls(Vec::<String>::new()).is_err());
}

#[test]
fn url_credentials_become_the_login() {
    let o = Options::from_urls(["mqtt://a", "mqtt://bob:pw%21@b"]).unwrap();
    let login = o.session.login.expect("login from the URL");
    assert_eq!(login.username.as_str(), "bob");
    assert_eq!(login.password.as_deref(), Some(&b"pw!"[..]));
    assert_eq!(o.servers.len(), 2);
}

#[test]
fn one_connect_timeout_for_stream_and_connack() {
    let o = Options::new("h", 1);
    assert_eq!(o.connect_timeout, Duration::from_secs(10));
    assert_eq!(o.session.connect_timeout, o.connect_timeout);
}

#[test]
fn generated_client_ids_differ() {
    let options = Options::new("h", 1);
    let a = options.session(options.client_seed()).unwrap().client_id;
    let b = options.session(options.client_seed()).unwrap().client_id;
    assert_ne!(a, b);
    assert!(a.starts_with("mqtt-rs-"));
}

#[test]
fn a_persistent_session_needs_a_client_id() {
    // [MQTT-3.1.3-7]: an empty id is only for a clean session.
    let o = Options::new("h", 1).clean_session(false);
    assert!(matches!(
        o.session(0),
        Err(Error::Options(
            mqtt_proto::OptionsError::EmptyClientIdNeedsCleanSession
        ))
    ));
    assert!(o.client_id("kept").session(0).is_ok());
}

#[test]
fn bad_will_topic_is_reported_at_connect() {
    let o = Options::new("h", 1).last_will("a/+", "x", QoS::AtMostOnce, false);
    assert!(matches!(
        o.session(0),
        Err(Error::InvalidOption {
            option: "last_will",
            ..
        })
    ));
}

#[test]
fn bad_names_name_their_option() {
    let nul = "a\0b";
    for (options, name) in [
        (Options::new("h", 1).client_id(nul), "client_id"),
        (Options::new("h", 1).credentials(nul, "pw"), "credentials"),
        (Options::new("h", 1).username(nul), "username"),
    ] {
        match options.check() {
            Err(Error::InvalidOption { option, .. }) => assert_eq!(option, name),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn keep_alive_is_whole_seconds_or_rejected() {
    // The keep-alive is a 16-bit number of seconds (section 3.1.2.10),
    // and the client keeps to it [MQTT-3.1.2-23]: anything else is
    // refused rather than rounded (500 ms used to turn keep-alive off
    // without a word).
    for bad in [
        Duration::from_millis(500),
        Duration::from_millis(1500),
        Duration::from_secs(65_536),
    ] {
        let o = Options::new("h", 1).keep_alive(bad);
        assert!(
            matches!(
                o.check(),
                Err(Error::InvalidOption {
                    option: "keep_alive",
                    ..
                })
            ),
            "{bad:?}"
        );
    }
    for good in [
        Duration::ZERO,
        Duration::from_secs(1),
        Duration::from_secs(65_535),
    ] {
        assert!(
            Options::new("h", 1).keep_alive(good).check().is_ok(),
            "{good:?}"
        );
    }
}
