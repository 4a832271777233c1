//! The JSON schemas of the baseline's files, embedded: what `load` checks every file against,
//! what `scoreline schema NAME` prints and what `baseline export` writes beside the files, so
//! that editors (yaml-language-server) check and complete them too.

/// A baseline file's schema: its name (`scoreline schema NAME`), the file name it is exported
/// as (under `schemas/`), and the JSON text.
pub struct Schema {
    pub name: &'static str,
    pub file: &'static str,
    pub text: &'static str,
}

pub const ENVIRONMENTS: Schema = Schema {
    name: "environments",
    file: "environments.json",
    text: include_str!("../../schemas/scoreline/environments.json"),
};

pub const RESOURCE_DEFINITION: Schema = Schema {
    name: "resource-definition",
    file: "resource-definition.json",
    text: include_str!("../../schemas/scoreline/resource-definition.json"),
};

pub const WORKLOAD_POLICY: Schema = Schema {
    name: "workload-policy",
    file: "workload-policy.json",
    text: include_str!("../../schemas/scoreline/workload-policy.json"),
};

/// Every baseline schema, in the order `scoreline schema --help` lists them.
pub const SCHEMAS: [&Schema; 3] = [&ENVIRONMENTS, &RESOURCE_DEFINITION, &WORKLOAD_POLICY];

/// The folder of an exported baseline the schemas are written to.
pub const FOLDER: &str = "schemas";

/// The first line of a baseline file that points yaml-language-server (VS Code's YAML
/// extension, Neovim, Helix…) at its schema, relative to the file: `depth` is how many folders
/// below the baseline folder the file is (0 for environments.yaml, 1 for resources/x.yaml).
pub fn modeline(schema: &Schema, depth: usize) -> String {
    format!(
        "# yaml-language-server: $schema={}{FOLDER}/{}",
        "../".repeat(depth),
        schema.file
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_is_json_with_its_own_id() {
        for schema in SCHEMAS {
            let value: serde_json::Value = serde_json::from_str(schema.text).unwrap();
            assert!(
                value["$id"].as_str().unwrap().ends_with(schema.file),
                "{}",
                schema.name
            );
        }
    }

    #[test]
    fn modelines_lead_from_the_file_to_the_schemas_folder() {
        assert_eq!(
            modeline(&RESOURCE_DEFINITION, 1),
            "# yaml-language-server: $schema=../schemas/resource-definition.json"
        );
        assert_eq!(
            modeline(&ENVIRONMENTS, 0),
            "# yaml-language-server: $schema=schemas/environments.json"
        );
    }
}
