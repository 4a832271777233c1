use std::path::{Path, PathBuf};

use serde_json::json;

use super::{help, plural};
use crate::ci::report::{OutputFormat, Reporter};
use crate::ci::summary::{Markdown, cell};
use crate::deploy::{PlannedResource, RESOURCE_COLUMNS, resource_rows};
use crate::error::Error;
use crate::flow::{self, Inputs};
use crate::render::{Images, Rendered};
use crate::resolve::Graph;

/// Render Kubernetes manifests for one environment: resolve every resource against the
/// baseline, substitute placeholders, and write one YAML file per object plus kustomization.yaml.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The output folder is replaced as a whole, atomically: a failed render leaves the previous one \
intact. It works with `kubectl apply -k DIR`, Argo CD and Flux as it is.",
    help_template = help::template(
        "  scoreline render -f examples/shop/score.yaml
  scoreline render -f score.yaml --platform platform/ --env staging --image \"web=$IMAGE\"   # IMAGE: the build's name@sha256:… output
  scoreline render -f api.yaml -f worker.yaml --app shop --out rendered/ --output json",
        &[help::SUCCESS, help::RUNTIME, help::INVALID, help::REFUSED],
    )
)]
pub struct Args {
    #[command(flatten)]
    pub inputs: InputArgs,

    /// The image for a container: `[WORKLOAD.]CONTAINER=REF`, or a bare `REF` for every
    /// container whose Score image is `.` (repeatable).
    #[arg(long = "image", value_name = "[WORKLOAD.]CONTAINER=REF")]
    pub images: Vec<String>,

    /// The folder to write (replaced as a whole).
    #[arg(long, value_name = "DIR", default_value = "manifests")]
    pub out: PathBuf,
}

/// Which workloads, for which environment of which baseline (shared by render, explain, deploy).
#[derive(Debug, Clone, clap::Args)]
pub struct InputArgs {
    /// A Score file (repeatable; default ./score.yaml).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// The platform baseline folder (default: the embedded baseline).
    #[arg(long, value_name = "DIR")]
    pub platform: Option<PathBuf>,

    /// The environment (default: `development`, or the baseline's only environment).
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,

    /// The app the workloads belong to (default: the first workload's name).
    #[arg(long, value_name = "NAME")]
    pub app: Option<String>,
}

impl InputArgs {
    pub fn inputs(&self) -> Inputs {
        Inputs {
            files: self.files.clone(),
            platform: self.platform.clone(),
            env: self.env.clone(),
            app: self.app.clone(),
        }
    }
}

pub fn run(args: Args, reporter: &Reporter) -> Result<(), Error> {
    let images = Images::parse(&args.images).map_err(|e| Error::Usage(e.to_string()))?;
    let mut warnings = Vec::new();
    let session = flow::load(&args.inputs.inputs(), &mut warnings)?;
    let rendered = session.render(&images, &mut warnings);
    reporter.warnings(&warnings);
    let (graph, rendered) = rendered?;
    let set = &rendered.manifests;
    let workloads: Vec<&str> = session
        .workloads
        .iter()
        .map(|w| w.workload.metadata.name.as_str())
        .collect();
    let marker = json!({
        "app": session.app,
        "environment": session.environment.name,
        "workloads": workloads,
        "baseline": session.baseline.revision,
        "digest": session.id(set),
    });
    set.write(&args.out, &marker)?;
    let outputs = [
        (
            "digest",
            marker["digest"].as_str().unwrap_or_default().to_owned(),
        ),
        ("manifests", args.out.display().to_string()),
    ];
    super::outputs(&outputs, None)?;
    let namespace = &session.environment.namespace;
    reporter.summary(&summary(&session, &graph, &rendered, &args.out));
    if reporter.format == OutputFormat::Json {
        let objects: Vec<_> = set
            .objects()
            .iter()
            .map(|o| json!({"kind": o.kind(), "name": o.name(), "namespace": o.namespace(), "file": o.file_name(namespace)}))
            .collect();
        let mut result = marker;
        result["out"] = args.out.display().to_string().into();
        result["objects"] = objects.into();
        reporter.json(&result);
    } else {
        reporter.section("render", "rendered files", || {
            for o in set.objects() {
                reporter.say(format!(
                    "  {}",
                    args.out.join(o.file_name(namespace)).display()
                ));
            }
        });
        reporter.say(format!(
            "rendered {} objects for {} in environment `{}` (namespace {namespace}) into {}",
            set.objects().len(),
            plural(workloads.len(), "workload"),
            session.environment.name,
            args.out.display()
        ));
    }
    Ok(())
}

/// A render as a job summary: its objects, resources (with the definition each matched) and
/// images.
fn summary(session: &flow::Session, graph: &Graph, rendered: &Rendered, out: &Path) -> Markdown {
    let mut doc = Markdown::new();
    let set = &rendered.manifests;
    doc.heading(
        3,
        &format!(
            "Rendered `{}` for `{}`: {} objects in {}",
            cell(&session.app),
            cell(&session.environment.name),
            set.objects().len(),
            cell(&out.display().to_string())
        ),
    );
    doc.table(
        &RESOURCE_COLUMNS,
        &resource_rows(&PlannedResource::of(graph)),
    );
    let images: Vec<Vec<String>> = rendered
        .images
        .iter()
        .map(|i| {
            vec![
                format!("{}.{}", i.workload, i.container),
                i.reference.clone(),
            ]
        })
        .collect();
    doc.table(&["container", "image"], &images);
    let objects: Vec<Vec<String>> = set
        .objects()
        .iter()
        .map(|o| vec![o.kind().to_owned(), o.name().to_owned()])
        .collect();
    doc.table(&["kind", "name"], &objects);
    doc
}
