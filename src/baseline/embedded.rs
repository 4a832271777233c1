//! The baseline compiled into the binary: the no-setup default, one `development` environment
//! and definitions for the resource types the Score reference implementations provide.

use std::path::PathBuf;

use super::load::{Role, load_sources};
use super::{Baseline, schemas};
use crate::source::SourceFile;

macro_rules! embedded {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("embedded/", $path)))),*]
    };
}

/// How the embedded files are named in messages.
const ROOT: &str = "<embedded>";

/// Every embedded file, by its path in the baseline layout.
pub const FILES: &[(&str, &str)] = embedded![
    "environments.yaml",
    "workload-policy.yaml",
    "resources/postgres.yaml",
    "resources/postgres-instance.yaml",
    "resources/mysql.yaml",
    "resources/mssql.yaml",
    "resources/mongodb.yaml",
    "resources/amqp.yaml",
    "resources/kafka-topic.yaml",
    "resources/elasticsearch.yaml",
    "resources/s3.yaml",
    "resources/volume.yaml",
    "resources/dns.yaml",
    "resources/route.yaml",
    "resources/redis.yaml",
    "resources/environment.yaml",
    "resources/workloads.yaml",
];

/// The embedded baseline; its files are tested, so a failure here is a build defect.
pub fn baseline() -> Baseline {
    let files = FILES
        .iter()
        .map(|(path, text)| {
            let role = match *path {
                "environments.yaml" => Role::Environments,
                "workload-policy.yaml" => Role::Policy,
                _ => Role::Resources,
            };
            (role, SourceFile::new(PathBuf::from(ROOT).join(path), *text))
        })
        .collect();
    match load_sources(
        files,
        std::path::Path::new(ROOT),
        None,
        "the embedded baseline".into(),
    ) {
        Ok((baseline, _)) => baseline,
        Err(errors) => panic!("the embedded baseline is invalid: {errors:#?}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_embedded_baseline_loads() {
        let baseline = super::baseline();
        assert_eq!(baseline.environment_names(), vec!["development"]);
        assert!(baseline.revision.starts_with("sha256:"));
        let types = baseline.resource_types();
        for wanted in [
            "amqp",
            "dns",
            "elasticsearch",
            "environment",
            "kafka-topic",
            "mongodb",
            "mssql",
            "mysql",
            "postgres",
            "postgres-instance",
            "redis",
            "route",
            "s3",
            "service",
            "service-port",
            "volume",
        ] {
            assert!(types.contains(&wanted), "no `{wanted}` in {types:?}");
        }
    }

    #[test]
    fn every_embedded_file_names_its_schema_on_its_first_line() {
        use crate::baseline::schemas::{self, modeline};
        for (path, text) in super::FILES {
            let wanted = match *path {
                "environments.yaml" => modeline(&schemas::ENVIRONMENTS, 0),
                "workload-policy.yaml" => modeline(&schemas::WORKLOAD_POLICY, 0),
                _ => modeline(&schemas::RESOURCE_DEFINITION, path.matches('/').count()),
            };
            assert_eq!(text.lines().next(), Some(wanted.as_str()), "{path}");
        }
    }
}

/// Writes the embedded baseline's files into a new or empty folder, to start a baseline from.
pub fn export(dir: &std::path::Path) -> Result<Vec<PathBuf>, ExportError> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .map_err(|e| ExportError::Io(dir.to_path_buf(), e))?
            .next()
            .is_some()
    {
        return Err(ExportError::NotEmpty(dir.to_path_buf()));
    }
    let mut written = Vec::new();
    for (path, text) in FILES {
        let target = dir.join(path);
        let parent = target.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent).map_err(|e| ExportError::Io(parent.to_path_buf(), e))?;
        std::fs::write(&target, text).map_err(|e| ExportError::Io(target.clone(), e))?;
        written.push(target);
    }
    // Each file's first line points editors at its schema, in `schemas/` beside the files.
    let folder = dir.join(schemas::FOLDER);
    std::fs::create_dir_all(&folder).map_err(|e| ExportError::Io(folder.clone(), e))?;
    for schema in schemas::SCHEMAS {
        let target = folder.join(schema.file);
        std::fs::write(&target, schema.text).map_err(|e| ExportError::Io(target.clone(), e))?;
        written.push(target);
    }
    Ok(written)
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0} is not empty: export into a new or empty folder")]
    NotEmpty(PathBuf),
    #[error("cannot write {0}: {1}")]
    Io(PathBuf, std::io::Error),
}
