//! Multi-Paxos configuration.
//!
//! Goal: pin what `Config::validate` refuses and that it names the field.
//! Method: break one setting of the default configuration at a time.

use crate::multi_kit::config;
use paxos_core::multi::Config;
use paxos_core::Error;

#[test]
fn multi_config_with_defaults_is_valid() {
    assert_eq!(config().validate(), Ok(()));
}

#[test]
fn multi_config_validate_rejects_election_timeout_not_above_heartbeat_interval() {
    for election_timeout in [1, 2] {
        let mut config = config();
        config.heartbeat_interval = 2;
        config.election_timeout = election_timeout;
        assert!(matches!(
            config.validate(),
            Err(Error::InvalidConfig {
                field: "election_timeout",
                ..
            })
        ));
    }
}

#[test]
fn multi_config_validate_rejects_missing_learners_or_proposers() {
    let mut config = config();
    config.learners.clear();
    assert_eq!(config.validate(), Err(Error::MissingRole("learners")));
    let mut config = self::config();
    config.proposers.clear();
    assert_eq!(config.validate(), Err(Error::MissingRole("proposers")));
}

#[test]
fn multi_config_validate_rejects_zero_limits_naming_the_field() {
    type Setter = fn(&mut Config);
    let cases: [(&str, Setter); 6] = [
        ("heartbeat_interval", |c| c.heartbeat_interval = 0),
        ("retransmit_timeout", |c| c.retransmit_timeout = 0),
        ("batch_max", |c| c.batch_max = 0),
        ("pipeline_max", |c| c.pipeline_max = 0),
        ("queue_max", |c| c.queue_max = 0),
        ("catchup_max", |c| c.catchup_max = 0),
    ];
    for (field, zero) in cases {
        let mut config = config();
        zero(&mut config);
        assert!(
            matches!(config.validate(), Err(Error::InvalidConfig { field: f, .. }) if f == field),
            "{field}: {:?}",
            config.validate()
        );
    }
}
