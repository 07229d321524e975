pub mod plan;
pub mod user;

pub const SCRIPT: &str = include_str!("../../templates/bootstrap.sh");
