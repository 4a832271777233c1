//! Every item of the scoreline library the tests use, named here once, so that a module renamed
//! in the library is followed in this file only.

pub use scoreline::deploy::timestamp;
pub use scoreline::image::registry::{Access, Registry};
pub use scoreline::score::schema::SCORE_SCHEMA;
pub use scoreline::yaml::to_string as yaml_to_string;

/// The first document of a YAML file (`name` for messages), read by scoreline's own reader.
pub fn first_yaml_document(name: &str, text: String) -> serde_json::Value {
    let docs = scoreline::yaml::parse(
        &scoreline::source::SourceFile::new(name, text),
        Default::default(),
    )
    .unwrap();
    docs[0].to_json()
}
