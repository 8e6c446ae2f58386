//! Money lives in `marketday-money`, shared with the cloud (its back office parses and
//! shows prices as the kiosk does).

pub use marketday_money::*;
