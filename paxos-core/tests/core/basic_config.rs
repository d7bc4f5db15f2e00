//! Single-decree configuration.
//!
//! Goal: pin what `Config::validate` refuses and that it names the field.
//! Method: break one setting of the default configuration at a time.

use crate::basic_kit::config;
use paxos_core::basic::Config;
use paxos_core::Error;

#[test]
fn basic_config_with_defaults_is_valid() {
    assert_eq!(config().validate(), Ok(()));
}

#[test]
fn basic_config_validate_rejects_no_learners() {
    let mut config = config();
    config.learners.clear();
    assert_eq!(config.validate(), Err(Error::MissingRole("learners")));
}

#[test]
fn basic_config_validate_rejects_zero_tick_timeouts_naming_the_field() {
    type Setter = fn(&mut Config);
    let cases: [(&str, Setter); 3] = [
        ("retry_timeout", |c| c.retry_timeout = 0),
        ("backoff_max", |c| c.backoff_max = 0),
        ("learner_timeout", |c| c.learner_timeout = 0),
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
