use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::help;
use crate::ci::progress::Progress;
use crate::ci::provenance::Provenance;
use crate::ci::report::{OutputFormat, Reporter};
use crate::ci::summary::{Markdown, cell};
use crate::error::Error;
use crate::image::{self, Event, Transfer, oci::Platform};

/// Build an image without a Docker daemon and push it: a Dockerfile of base images and copied
/// files becomes a reproducible OCI image, pinned by digest.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The last stdout line is the pinned reference REGISTRY/REPOSITORY@sha256:…, ready for \
`scoreline render --image CONTAINER=…`. A Dockerfile with RUN is handed to docker buildx, buildah \
or podman when one is on PATH. Layers of unchanged files come from the layer cache, in \
$SCORELINE_CACHE_DIR, else $XDG_CACHE_HOME/scoreline, else ~/.cache/scoreline (none without a \
writable one; --no-cache skips it). Registries on loopback and those named with --insecure-registry are \
reached over plain HTTP; every other one over verified TLS. Credentials come from \
REGISTRY_USERNAME/REGISTRY_PASSWORD (for the registries of the --tag references only, or the one \
REGISTRY names), CI_REGISTRY_*, GITHUB_TOKEN (ghcr.io) and Docker's config.",
    help_template = help::template(
        "  scoreline build --context . --tag ghcr.io/acme/shop:1.4.2
  scoreline build --context . --tag registry.example.com/shop:main --platform linux/amd64,linux/arm64
  scoreline build --context . --oci-layout out/shop   # no registry needed",
        &[(0, "built (and pushed)"), (1, "registry or network failure, or the RUN builder failed"), (2, "Dockerfile errors (located) or usage")],
    )
)]
pub struct Args {
    /// The build context (COPY reads from it).
    #[arg(long, value_name = "DIR", default_value = ".")]
    context: PathBuf,

    /// The Dockerfile (default: CONTEXT/Dockerfile).
    #[arg(long = "file", short = 'f', value_name = "DOCKERFILE")]
    file: Option<PathBuf>,

    /// Push to this reference (repeatable).
    #[arg(long = "tag", short = 't', value_name = "REF")]
    tags: Vec<String>,

    /// Platforms, comma-separated (default: this machine's), e.g. linux/amd64,linux/arm64.
    #[arg(long, value_name = "PLATFORMS", value_delimiter = ',')]
    platform: Vec<String>,

    /// Also (or instead) write an OCI image layout to this folder.
    #[arg(long, value_name = "DIR")]
    oci_layout: Option<PathBuf>,

    /// A registry reached over plain HTTP (repeatable).
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    insecure: Vec<String>,

    /// A label of the image config (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    labels: Vec<String>,

    /// A value for an ARG (repeatable).
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    build_args: Vec<String>,

    /// Also write the outputs (image, digest) as a dotenv file (GitLab `artifacts:reports:dotenv`).
    #[arg(long, value_name = "FILE")]
    dotenv: Option<PathBuf>,

    /// Neither use nor update the layer cache: every layer is read and compressed again.
    #[arg(long)]
    no_cache: bool,
}

pub fn run(args: Args, reporter: &Reporter) -> Result<(), Error> {
    let pairs = |values: &[String], flag: &str| -> Result<Vec<(String, String)>, Error> {
        values
            .iter()
            .map(|v| {
                v.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .filter(|(k, _)| !k.is_empty())
                    .ok_or_else(|| Error::Usage(format!("{flag} `{v}`: write KEY=VALUE")))
            })
            .collect()
    };
    let platforms = args
        .platform
        .iter()
        .map(|p| Platform::parse(p).map_err(Error::Usage))
        .collect::<Result<Vec<_>, _>>()?;
    check_inputs(&args.context, args.file.as_deref())?;
    // What the image records of its origin: the CI run's repository and commit, else git's.
    let provenance = Provenance::detect(&args.context);
    let request = image::Request {
        context: args.context,
        dockerfile: args.file,
        tags: args.tags,
        platforms,
        oci_layout: args.oci_layout,
        insecure: args.insecure,
        labels: pairs(&args.labels, "--label")?,
        build_args: pairs(&args.build_args, "--build-arg")?
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        source: provenance.repository,
        revision: provenance.commit,
        cache: if args.no_cache { None } else { cache_dir() },
    };
    let progress = Progress::new(&reporter.system);
    let built = image::run(&request, &|event| show(&progress, event))?;
    let pinned = built
        .reference
        .clone()
        .unwrap_or_else(|| built.digest.clone());
    super::outputs(
        &[("image", pinned.clone()), ("digest", built.digest.clone())],
        args.dotenv.as_deref(),
    )?;
    reporter.summary(&summary(&built, &pinned));
    if reporter.format == OutputFormat::Json {
        reporter.json(&built);
    } else {
        let uploaded = built
            .transfers
            .iter()
            .filter(|t| t.transfer == Transfer::Uploaded)
            .count();
        let cached = built.layers.iter().filter(|l| l.cached).count();
        let cached = if cached == 0 {
            String::new()
        } else {
            format!(", {cached} of {} layers from the cache", built.layers.len())
        };
        reporter.say(format!(
            "built {} for {} ({}, {uploaded} blob{} uploaded{cached})",
            built.digest,
            built
                .platforms
                .iter()
                .map(|p| p.platform.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            human(built.size),
            if uploaded == 1 { "" } else { "s" },
        ));
        if let Some(layout) = &built.layout {
            reporter.say(format!("wrote the OCI layout {}", layout.display()));
        }
        reporter.print(format!("{pinned}\n"));
    }
    Ok(())
}

/// A build as a job summary: the image, its digest and platforms, the blobs sent or skipped and
/// the layers the cache gave.
fn summary(built: &image::Built, pinned: &str) -> Markdown {
    let mut doc = Markdown::new();
    doc.heading(3, &format!("📦 built `{}`", cell(pinned)));
    let count = |t: Transfer| built.transfers.iter().filter(|b| b.transfer == t).count();
    let platforms: Vec<&str> = built
        .platforms
        .iter()
        .map(|p| p.platform.as_str())
        .collect();
    let mut rows = vec![
        vec!["digest".to_owned(), built.digest.clone()],
        vec!["platforms".to_owned(), platforms.join(", ")],
        vec!["size".to_owned(), human(built.size)],
        vec![
            "blobs uploaded".to_owned(),
            count(Transfer::Uploaded).to_string(),
        ],
        vec![
            "blobs skipped (already there or mounted)".to_owned(),
            (count(Transfer::Existed) + count(Transfer::Mounted)).to_string(),
        ],
        vec![
            "layers from the cache".to_owned(),
            format!(
                "{} of {}",
                built.layers.iter().filter(|l| l.cached).count(),
                built.layers.len()
            ),
        ],
    ];
    rows.extend(built.tags.iter().map(|t| vec!["tag".to_owned(), t.clone()]));
    doc.table(&["what", "value"], &rows);
    doc
}

/// The context is a folder and the Dockerfile a file, or an error that says which flag names
/// them (a newcomer's first build often runs where no Dockerfile is).
fn check_inputs(context: &Path, file: Option<&Path>) -> Result<(), Error> {
    if !context.is_dir() {
        return Err(Error::Usage(format!(
            "the build context {} is not a folder: name the folder COPY reads from with --context",
            context.display()
        )));
    }
    match file {
        Some(file) if !file.is_file() => Err(Error::Usage(format!(
            "the Dockerfile {} (-f/--file) does not exist",
            file.display()
        ))),
        None if !context.join("Dockerfile").is_file() => Err(Error::Usage(format!(
            "there is no Dockerfile in the build context {}: name one with -f/--file DOCKERFILE, or the folder holding it with --context DIR",
            context.display()
        ))),
        _ => Ok(()),
    }
}

/// A build event as people read it: a line per stage, layer, blob and manifest; a bar per blob
/// being sent.
fn show(progress: &Progress, event: Event) {
    match event {
        Event::Stage { platform, stage } => {
            progress.line(format!("building stage {stage} for {platform}"))
        }
        Event::Layer {
            platform,
            digest,
            size,
            cached,
        } => progress.line(format!(
            "layer {} ({}) for {platform}{}",
            short(&digest),
            human(size),
            if cached { ", from the cache" } else { "" }
        )),
        Event::Blob {
            repository,
            digest,
            size,
            transfer,
        } => {
            let verb = match transfer {
                Transfer::Existed => "exists ",
                Transfer::Mounted => "mounted",
                Transfer::Uploaded => "pushed ",
            };
            progress.finish(&digest);
            progress.line(format!(
                "{verb} {} ({}) in {repository}",
                short(&digest),
                human(size)
            ))
        }
        Event::Manifest { reference } => progress.line(format!("manifest {reference}")),
        Event::CacheStale => progress.line(
            "a layer from the cache no longer matches its files: building again without the cache"
                .into(),
        ),
        Event::Delegating { builder } => {
            progress.line(format!("the Dockerfile has RUN: building with {builder}"))
        }
        Event::Sending { digest, sent, size } => {
            progress.advance(&digest, short(&digest), sent, size)
        }
    }
}

/// Where the layer cache lives, as CI caches expect it: $SCORELINE_CACHE_DIR, else
/// $XDG_CACHE_HOME/scoreline, else $HOME/.cache/scoreline; none when none is set (Jenkins may
/// leave HOME unset). A folder that cannot be made also means no cache, silently.
fn cache_dir() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("SCORELINE_CACHE_DIR")
        .or_else(|| {
            // The XDG spec: a relative path is invalid and ignored.
            var("XDG_CACHE_HOME")
                .filter(|p| p.is_absolute())
                .map(|p| p.join("scoreline"))
        })
        .or_else(|| {
            var("HOME")
                .filter(|p| p.is_absolute())
                .map(|p| p.join(".cache/scoreline"))
        })
}

fn short(digest: &str) -> &str {
    &digest[..digest.len().min(19)]
}

/// 1234567 → "1.2 MiB".
fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
