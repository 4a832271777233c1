//! Where a deployment answers: the first public route among its objects (an Ingress rule's
//! host, or an HTTPRoute's hostname, with the route's first path), for CI's environment links.

use serde_json::Value;

use super::Files;
use crate::baseline::Environment;
use crate::source::SourceFile;

/// Where `app` answers in `environment`, for people and later CI steps: the environment's own
/// `url:`, else its first public route among `files`.
pub fn environment_url(environment: &Environment, app: &str, files: &Files) -> Option<String> {
    environment.url(app).or_else(|| of(files))
}

/// `https://HOST/PATH` of the first Ingress or HTTPRoute (by file name) that names a host.
fn of(files: &Files) -> Option<String> {
    files
        .iter()
        .filter(|(name, _)| !name.starts_with(".scoreline/") && name.ends_with(".yaml"))
        .filter_map(|(name, bytes)| {
            let text = String::from_utf8_lossy(bytes).into_owned();
            let documents =
                crate::yaml::parse(&SourceFile::new(name, text), Default::default()).ok()?;
            documents.first().map(|d| d.to_json())
        })
        .find_map(|object| route(&object))
}

fn route(object: &Value) -> Option<String> {
    let spec = &object["spec"];
    let (host, path) = match object["kind"].as_str()? {
        "Ingress" => {
            let rule = spec["rules"]
                .as_array()?
                .iter()
                .find(|r| r["host"].is_string())?;
            (&rule["host"], &rule["http"]["paths"][0]["path"])
        }
        "HTTPRoute" => (
            &spec["hostnames"][0],
            &spec["rules"][0]["matches"][0]["path"]["value"],
        ),
        _ => return None,
    };
    let path = path.as_str().unwrap_or("/");
    Some(format!("https://{}{path}", host.as_str()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(entries: &[(&str, &str)]) -> Files {
        entries
            .iter()
            .map(|(n, t)| (n.to_string(), t.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn the_first_routes_host_and_path() {
        let ingress = "kind: Ingress\nspec:\n  rules:\n    - host: shop.acme.dev\n      http:\n        paths:\n          - path: /shop\n";
        let route = "kind: HTTPRoute\nspec:\n  hostnames: [shop.acme.test]\n";
        assert_eq!(
            of(&files(&[
                ("deployment-web.yaml", "kind: Deployment\n"),
                ("ingress-web.yaml", ingress),
            ])),
            Some("https://shop.acme.dev/shop".into())
        );
        assert_eq!(
            of(&files(&[("httproute-web.yaml", route)])),
            Some("https://shop.acme.test/".into())
        );
        assert_eq!(
            of(&files(&[("deployment-web.yaml", "kind: Deployment\n")])),
            None
        );
    }
}
