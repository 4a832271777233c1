use super::help;
use crate::baseline::schemas;
use crate::error::Error;

/// Print the JSON schema of a baseline file (or of the Score file), for editors and other tools.
///
/// `baseline export` also writes the baseline's schemas to `schemas/` beside its files, and
/// each file's first line points editors (yaml-language-server) at its own.
#[derive(Debug, clap::Args)]
#[command(help_template = help::template(
    "  scoreline schema environments > schemas/environments.json
  scoreline schema resource-definition
  scoreline schema score > score.schema.json",
    &[help::SUCCESS, (2, "an unknown schema name")],
))]
pub struct Args {
    /// Which schema.
    #[arg(value_enum, value_name = "NAME")]
    name: Name,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Name {
    /// environments.yaml
    Environments,
    /// a resource definition (resources/*.yaml)
    ResourceDefinition,
    /// workload-policy.yaml
    WorkloadPolicy,
    /// a Score workload (score.dev/v1b1, the official schema)
    Score,
}

pub fn run(args: Args) -> Result<(), Error> {
    let text = match args.name {
        Name::Environments => schemas::ENVIRONMENTS.text,
        Name::ResourceDefinition => schemas::RESOURCE_DEFINITION.text,
        Name::WorkloadPolicy => schemas::WORKLOAD_POLICY.text,
        Name::Score => crate::score::schema::SCORE_SCHEMA,
    };
    use std::io::Write;
    let mut out = std::io::stdout();
    out.write_all(text.as_bytes())
        .and_then(|()| {
            if text.ends_with('\n') {
                Ok(())
            } else {
                out.write_all(b"\n")
            }
        })
        .map_err(|e| Error::Runtime(format!("writing the schema: {e}")))
}
