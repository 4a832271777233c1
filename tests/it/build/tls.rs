//! TLS to registries: certificates verified against the trusted ones, and plain HTTP only for
//! loopback or registries named insecure.

use std::path::Path;
use std::process::Command;

use super::{app_context, build, pinned};
use crate::support::registry::TestRegistry;
use crate::support::text;

/// A CA and a certificate it signed for `0.0.0.0` (which Linux connects to locally, and which
/// is not a loopback name, so TLS applies), made with the openssl CLI.
fn certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .expect("openssl is installed");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            text(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=scoreline test CA",
            ],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "key.pem",
                "-out",
                "leaf.csr",
                "-subj",
                "/CN=registry",
            ],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:0.0.0.0\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
    ]);
}

#[test]
fn tls_is_verified_against_the_trusted_certificates() {
    let work = tempfile::tempdir().unwrap();
    certificates(work.path());
    let tls =
        TestRegistry::start_with_tls(&work.path().join("cert.pem"), &work.path().join("key.pem"));
    let context = work.path().join("ctx");
    app_context(&context, "scratch");
    let tls_tag = format!("0.0.0.0:{}/a/b:1", tls.port);

    let untrusted = build(&context, &["--tag", &tls_tag]).run().fails(1);
    untrusted.stderr_has("not trusted");
    let trusted = build(&context, &["--tag", &tls_tag])
        .env("SSL_CERT_FILE", work.path().join("ca.pem"))
        .run();
    assert!(pinned(trusted).starts_with(&format!("0.0.0.0:{}/a/b@sha256:", tls.port)));
}

/// A plain-HTTP registry under a non-loopback name needs --insecure-registry.
#[test]
fn a_plain_http_registry_under_a_non_loopback_name_needs_insecure_registry() {
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("ctx");
    app_context(&context, "scratch");
    let plain = TestRegistry::start();
    let plain_host = format!("0.0.0.0:{}", plain.port);
    let refused = build(&context, &["--tag", &format!("{plain_host}/a/b:1")])
        .run()
        .fails(1);
    refused.stderr_has("--insecure-registry");
    build(
        &context,
        &[
            "--tag",
            &format!("{plain_host}/a/b:1"),
            "--insecure-registry",
            &plain_host,
        ],
    )
    .run()
    .success();
}
